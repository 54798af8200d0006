"""The profile's images: the first built alone, the others side by side (fakes, no engine)."""

import threading

import pytest

from canaryspec import images
from canaryspec.clock import PhaseClock
from canaryspec.errors import ImageUnavailable
from canaryspec.reports.record import RunRecord
from canaryspec.settings import load_settings


class FakeClient:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def image_set(tmp_path, monkeypatch):
    settings = load_settings({"reports_dir": str(tmp_path)}, environ={})
    clients: list[FakeClient] = []

    def connect() -> FakeClient:
        clients.append(FakeClient())
        return clients[-1]

    monkeypatch.setattr(images, "check_build_inputs", lambda settings, client: None)
    monkeypatch.setattr(images, "connect_engine", connect)
    image_set = images.ImageSet(settings, FakeClient, PhaseClock(),
                                RunRecord(run_id="r", profile="tradelab"))
    return image_set, clients


def test_the_first_image_builds_alone_and_the_others_side_by_side(image_set, monkeypatch):
    image_set, clients = image_set
    roles = list(image_set.settings.profile.dockerfiles)
    first_done = threading.Event()
    # Every later build waits here for all the others: it only gets through if they run at once.
    together = threading.Barrier(len(roles) - 1, timeout=10)
    started_before_first_done: list[str] = []

    def build(client, dockerfile, tag, **_):
        role = next(r for r, path in image_set.settings.profile.dockerfiles.items()
                    if path == dockerfile)
        if role == roles[0]:
            first_done.set()
        else:
            if not first_done.is_set():
                started_before_first_done.append(role)
            together.wait()
        return 1.0

    monkeypatch.setattr(images, "build_image", build)
    image_set.build()

    assert started_before_first_done == []
    assert sorted(name for name, _ in image_set.clock.phases) == sorted(
        f"build {role}" for role in roles)
    assert all(client.closed for client in clients)


def test_a_failed_build_is_raised_and_its_companions_connections_closed(image_set, monkeypatch):
    image_set, clients = image_set
    failing = list(image_set.settings.profile.dockerfiles.values())[1]

    def build(client, dockerfile, tag, **_):
        if dockerfile == failing:
            raise ImageUnavailable(f"build of {tag} failed: no space left")
        return 1.0

    monkeypatch.setattr(images, "build_image", build)
    with pytest.raises(ImageUnavailable, match="no space left"):
        image_set.build()
    assert clients and all(client.closed for client in clients)
