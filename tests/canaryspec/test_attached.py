"""An attached deployment: reached by URL, with no engine behind it."""

import re

import pytest

from canaryspec.attached import AttachedDeployment, AttachedPool
from canaryspec.clock import PhaseClock
from canaryspec.errors import CanaryUnavailable
from canaryspec.reports.record import RunRecord
from canaryspec.settings import load_settings


def _settings(**given):
    return load_settings({"target": "attach", "backend_url": "http://core:8000", **given},
                         environ={})


def test_the_backend_is_where_the_settings_say():
    assert AttachedDeployment(_settings()).url("backend") == "http://core:8000"


class _Registered:
    def __init__(self, worker_id, worker_type="training", endpoint_url="http://tw-2:5004"):
        self.worker_id, self.worker_type, self.endpoint_url = worker_id, worker_type, endpoint_url


def test_a_worker_is_reached_where_it_registered_unless_urls_are_given():
    deployment = AttachedDeployment(_settings())
    assert deployment.worker_url(_Registered("training-worker-2")) == "http://tw-2:5004"


def test_of_the_urls_given_a_worker_is_reached_at_the_one_that_answers_as_it(monkeypatch):
    answering = {"http://127.0.0.1:1/health": "training-worker-1",
                 "http://127.0.0.1:2/health": "training-worker-2"}
    asked = []

    class _Reply:
        def __init__(self, url):
            self.url = url

        def json(self):
            return {"worker_id": answering[self.url]}

    def fake_get(url, timeout):
        asked.append(url)
        return _Reply(url)

    monkeypatch.setattr("canaryspec.attached.httpx.get", fake_get)
    deployment = AttachedDeployment(
        _settings(worker_urls="training=http://127.0.0.1:1|http://127.0.0.1:2"))
    assert deployment.worker_url(_Registered("training-worker-2")) == "http://127.0.0.1:2"
    assert deployment.worker_url(_Registered("training-worker-1")) == "http://127.0.0.1:1"
    assert len(asked) == 2  # each URL asked once
    with pytest.raises(CanaryUnavailable, match="answers as training-worker-9"):
        deployment.worker_url(_Registered("training-worker-9"))


def test_a_registered_address_on_the_backends_own_loopback_is_unusable():
    pattern = AttachedDeployment(_settings()).worker_address_pattern(None)
    assert re.match(pattern, "http://training-worker-2:5004")
    assert re.match(pattern, "http://10.0.3.7:5004")
    assert not re.match(pattern, "http://127.0.0.1:5004")
    assert not re.match(pattern, "http://localhost:5004")
    assert not re.match(pattern, "http://training-worker:5004/extra")


def test_an_attached_run_starts_no_canary_of_its_own():
    pool = AttachedPool(_settings(), PhaseClock(), RunRecord(run_id="r", profile="tradelab"))
    with pytest.raises(CanaryUnavailable, match="starts no canary of its own"):
        pool.own("migrations", ("db", "backend"))
