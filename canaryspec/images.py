"""Images: build them (cached by the engine's layer cache) and read facts off them.

Pure docker SDK. Facts come from the image's config and from short-lived containers that run
one command in the image and are removed at once.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
from docker import DockerClient

from canaryspec import needs
from canaryspec.clock import PhaseClock
from canaryspec.errors import CanaryUnavailable, EngineUnavailable, ImageUnavailable
from canaryspec.needs import Need
from canaryspec.outcomes import IMAGE_MISSING, MISSING_IMAGE_TEXT
from canaryspec.reports.record import ImageRecord, RunRecord
from canaryspec.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from canaryspec.image_checks import ImageProbe
    from canaryspec.probe_cache import ProbeCache

WHEELHOUSE = PROJECT_ROOT / "build" / "wheelhouse"
# What commands run in an image answered, by image id (canaryspec.probe_cache).
PROBE_CACHE_DIR = PROJECT_ROOT / "build" / "probe-cache"


def connect_engine(timeout_s: float = 120) -> DockerClient:
    """A client for the engine at DOCKER_HOST (or the default socket), proven by a ping."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=int(timeout_s))
        client.ping()
    except docker.errors.DockerException as exc:
        reason = str(exc).split("(", 1)[0].strip() or type(exc).__name__
        raise EngineUnavailable(f"no Docker engine answers at {where} ({reason}); start it, or "
                                "point DOCKER_HOST at one") from None
    return client


@dataclass(frozen=True)
class ImageFacts:
    """What an image declares about itself."""

    role: str
    tag: str
    image_id: str
    size_bytes: int
    user: str
    entrypoint: list[str]
    working_dir: str
    healthcheck: list[str] | None

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1_000_000

    @property
    def short_id(self) -> str:
        return self.image_id.removeprefix("sha256:")[:12]

    def summary(self) -> dict[str, Any]:
        """What a report shows of the image."""
        return {"tag": self.tag, "id": self.short_id, "size_mb": round(self.size_mb, 1),
                "user": self.user, "entrypoint": self.entrypoint,
                "healthcheck": self.healthcheck}


class ImageMissing(CanaryUnavailable):
    """An image the run was told to find is not on the engine: the scenarios that need it are
    broken, naming it and how to build it; the rest of the run goes on."""


assert ImageMissing.__name__ == IMAGE_MISSING  # how outcomes and run.json know it


def missing_images(client: DockerClient, images: dict[str, str], how_to_build: str) -> None:
    """ImageMissing naming every image (tag -> what needs it) the engine does not have."""
    missing = {}
    for tag, needed_by in images.items():
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            missing[tag] = needed_by
    if missing:
        raise image_missing(missing, how_to_build)


def image_missing(missing: dict[str, str], how_to_build: str) -> ImageMissing:
    return ImageMissing(MISSING_IMAGE_TEXT + ", ".join(
        f"image {tag} ({needed_by})" for tag, needed_by in missing.items()) + f"; {how_to_build}")


def image_facts(client: DockerClient, role: str, tag: str, *, how_to_build: str,
                building: bool = False) -> ImageFacts:
    """Facts about the image `tag`: ImageUnavailable when a build did not produce it (the
    run's set-up failed), ImageMissing when the run only looks for it."""
    try:
        attrs: dict[str, Any] = client.images.get(tag).attrs
    except docker.errors.ImageNotFound:
        if building:
            raise ImageUnavailable(f"image {tag} ({role}) is not on this engine; its build did "
                                   "not produce it") from None
        raise image_missing({tag: f"the {role} image"}, how_to_build) from None
    config = attrs.get("Config") or {}
    health = config.get("Healthcheck") or {}
    test = health.get("Test") or None
    return ImageFacts(
        role=role, tag=tag, image_id=attrs["Id"], size_bytes=int(attrs["Size"]),
        user=config.get("User") or "", entrypoint=list(config.get("Entrypoint") or []),
        working_dir=config.get("WorkingDir") or "/",
        healthcheck=None if not test or test == ["NONE"] else list(test))


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    output: str


def run_in_image(client: DockerClient, tag: str, command: list[str], *, labels: dict[str, str],
                 entrypoint: list[str] | None = None, timeout_s: float = 120) -> CommandResult:
    """Run one command in a throwaway container of `tag` (network off) and return its output.
    `labels` name the run that owns it (canaryspec.owners), should it outlive its run."""
    kwargs: dict[str, Any] = {"entrypoint": entrypoint} if entrypoint is not None else {}
    container = client.containers.create(tag, command=command, network_disabled=True,
                                         labels=labels, **kwargs)
    try:
        container.start()
        status = container.wait(timeout=timeout_s)
        output = container.logs(stdout=True, stderr=True).decode(errors="replace")
        return CommandResult(int(status.get("StatusCode", -1)), output.strip())
    finally:
        container.remove(force=True, v=True)  # v: anonymous volumes (an image VOLUME) too


def check_build_inputs(settings: Settings, client: DockerClient) -> None:
    """Fail early, in one sentence, when what the Dockerfiles need is not prepared."""
    try:
        client.images.get(settings.base_image)
    except docker.errors.ImageNotFound:
        if settings.base_image.startswith("canaryspec/"):
            raise ImageUnavailable(f"base image {settings.base_image} is missing; build it with "
                                   "`make base` (debootstrap, no registry needed)") from None
        # A registry image (e.g. debian:bookworm-slim): the build pulls it where a registry exists.
    if not any(WHEELHOUSE.glob("*.whl")):
        raise ImageUnavailable(f"no wheels in {WHEELHOUSE.relative_to(PROJECT_ROOT)}; build the "
                               "wheelhouse with `make wheelhouse`")


def build_image(client: DockerClient, dockerfile: Path, tag: str, *, base_image: str,
                log_path: Path | None = None, context: Path = PROJECT_ROOT) -> float:
    """Build `tag` from `dockerfile` with `context` (the repository root, or a scratch copy of
    it) as build context; return seconds taken.

    The legacy builder keeps the engine's layer cache, so an unchanged image builds in seconds.
    """
    started = time.monotonic()
    lines: list[str] = []
    try:
        for chunk in client.api.build(path=str(context),
                                      dockerfile=str(dockerfile.relative_to(context)),
                                      tag=tag, buildargs={"BASE_IMAGE": base_image}, rm=True,
                                      forcerm=True, decode=True, pull=False):
            if "stream" in chunk:
                lines.append(chunk["stream"].rstrip("\n"))
            if "error" in chunk:
                lines.append(chunk["error"])
                raise ImageUnavailable(_build_failure(tag, dockerfile, lines))
    except docker.errors.APIError as exc:
        raise ImageUnavailable(f"build of {tag} from {dockerfile.name} was refused by the engine:"
                               f" {exc.explanation or exc}") from None
    finally:
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text("\n".join(lines) + "\n")
    return time.monotonic() - started


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _build_failure(tag: str, dockerfile: Path, lines: list[str]) -> str:
    clean = (ANSI_ESCAPE.sub("", line).strip() for line in lines[-6:])
    tail = " | ".join(line for line in clean if line)
    return f"build of {tag} from {dockerfile.name} failed: {tail}"


@dataclass
class ImageSet:
    """The images of a run: built once when this project builds them, read when a feature
    first needs one (a run needs only the images its selected features use), and recorded for
    the report."""

    settings: Settings
    docker: Callable[[], DockerClient]
    clock: PhaseClock
    record: RunRecord
    facts: dict[str, ImageFacts] = field(default_factory=dict)
    _probe_cache: ProbeCache | None = None
    _sources: dict[str, list[str]] = field(default_factory=dict)  # role -> where answers came from

    def build(self) -> None:
        """Build the profile's images (the layer cache makes unchanged ones instant); the real
        platform's images are built by its own repository."""
        if not self.settings.build:
            return
        check_build_inputs(self.settings, self.docker())
        first, *others = self.settings.profile.dockerfiles.items()
        # The first image builds alone: the stages the others share with it (the interpreter,
        # the venv tooling) are then in the layer cache once instead of built side by side. The
        # rest build at once, each on its own connection: a cold build waits mostly on the
        # engine's disk and Debian's archive, not on the two cores.
        self._build_one(*first, self.docker())
        clients = [connect_engine() for _ in others]
        pool = ThreadPoolExecutor(max_workers=max(1, len(others)), thread_name_prefix="build")
        try:
            for done in [pool.submit(self._build_one, role, dockerfile, client)
                         for (role, dockerfile), client in zip(others, clients, strict=True)]:
                done.result()
        finally:
            # On a failure or an interrupt the other builds are not waited for: closing their
            # connections ends the waits here (whether the engine then stops a build its client
            # left is the engine's business; a half-built image is never tagged).
            for client in clients:
                client.close()
            pool.shutdown(wait=False, cancel_futures=True)

    def _build_one(self, role: str, dockerfile: Path, client: DockerClient) -> None:
        tag = self.settings.image(role)
        assert tag is not None
        log = self.settings.reports_dir / "build" / f"{role}.log"
        seconds = build_image(client, dockerfile, tag, base_image=self.settings.base_image,
                              log_path=log)
        self.clock.record(f"build {role}", seconds)
        self.clock.say(f"  {tag} built in {seconds:.1f} s")

    def get(self, role: str) -> ImageFacts:
        """Facts about the image playing `role` (ImageUnavailable when it is not here)."""
        needs.used(Need.IMAGES)
        if role not in self.facts:
            tag = self.settings.image(role)
            if tag is None:
                raise ImageUnavailable(f"profile {self.settings.profile.name!r} names no "
                                       f"{role} image")
            self._remember(image_facts(self.docker(), role, tag, building=self.settings.build,
                                       how_to_build=self.settings.profile.how_to_build))
        return self.facts[role]

    def probe(self, role: str, labels: dict[str, str]) -> ImageProbe:
        """Questions to the image playing `role`, answered from the probe cache when this image
        id was asked them before (the record says which: probed now, or cached from run X)."""
        # Imported here: both modules build on this one.
        from canaryspec.image_checks import ImageProbe
        from canaryspec.probe_cache import ProbeCache, provenance

        facts = self.get(role)
        if self._probe_cache is None and self.settings.probe_cache:
            self._probe_cache = ProbeCache(PROBE_CACHE_DIR, str(self.docker().info().get("ID")),
                                           self.record.run_id)

        def note(source: str) -> None:
            self._sources.setdefault(role, []).append(source)
            self.record.images[role].facts_from = provenance(self._sources[role])

        return ImageProbe(self.docker(), facts, labels, cache=self._probe_cache, on_answer=note)

    def note_torch(self, role: str, torch: str) -> None:
        """What the report says of an image's torch ("none", or its version)."""
        self.get(role)
        self.record.images[role].torch = torch

    def record_canary(self, canary: Any) -> None:
        """The images a canary's services run, for the report (the database's too)."""
        roles = self.settings.profile.service_roles
        for service, tag in canary.images().items():
            role = self.settings.role_in_canary(roles[service]) if service in roles else None
            if role is None or role in self.facts:
                continue
            try:
                self._remember(image_facts(self.docker(), role, tag,
                                           how_to_build=self.settings.profile.how_to_build))
            except (ImageUnavailable, ImageMissing):
                continue  # the canary's start names every missing image

    def _remember(self, facts: ImageFacts) -> None:
        self.facts[facts.role] = facts
        self.record.images[facts.role] = ImageRecord(
            facts.role, facts.tag, facts.short_id, round(facts.size_mb, 1), facts.user,
            "n/a (database)" if facts.role == "db" else "not checked")
