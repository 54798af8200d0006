"""One run of the suite: its id, its images, its canaries, its clean-up.

Created in before_all and kept on behave's context as `context.run`. The shared canary is
started lazily by the first scenario that needs it and stopped in after_all; canaries that a
feature must own (a fresh database, faults) are started and stopped by that feature.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from docker import DockerClient

from canaryspec.api import PlatformClient
from canaryspec.canary import Canary, find_compose, remove_run_containers
from canaryspec.errors import ImageUnavailable
from canaryspec.images import (
    ImageFacts,
    build_image,
    check_build_inputs,
    connect_engine,
    image_facts,
)
from canaryspec.jobs import StartedJob
from canaryspec.migrations import upgrade_to_head
from canaryspec.readiness import (
    WORKER_SERVICES,
    wait_for_available_worker,
    wait_for_backend_answering,
    wait_for_service_healthy,
)
from canaryspec.reporting import PhaseClock
from canaryspec.run_record import ImageRecord, RunRecord, describe_environment
from canaryspec.settings import IMAGE_ROLES, Settings


@dataclass
class CanaryHandle:
    """A started canary and the HTTP client for its backend."""

    canary: Canary
    api: PlatformClient


@dataclass
class Run:
    settings: Settings
    docker: DockerClient
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    clock: PhaseClock = field(default_factory=PhaseClock)
    images: dict[str, ImageFacts] = field(default_factory=dict)
    compose: list[str] | None = None
    # Model paths trained in this run, by strategy: a backtest reuses one instead of training.
    trained_models: dict[str, str] = field(default_factory=dict)
    record: RunRecord = field(init=False)
    _shared: CanaryHandle | None = None
    _shared_failure: str | None = None
    _owned: list[Canary] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.record = RunRecord(run_id=self.run_id, profile=self.settings.profile.name)

    @classmethod
    def start(cls, settings: Settings) -> Run:
        return cls(settings=settings, docker=connect_engine())

    # --- images ----------------------------------------------------------------------------
    def prepare_images(self) -> dict[str, ImageFacts]:
        """Build the profile's images (layer cache makes unchanged ones instant), read facts."""
        if self.settings.build:
            check_build_inputs(self.settings, self.docker)
            for role in IMAGE_ROLES:
                dockerfile = self.settings.profile.dockerfiles[role]
                log = self.settings.reports_dir / "build" / f"{role}.log"
                seconds = build_image(self.docker, dockerfile, self.settings.image(role),
                                      base_image=self.settings.base_image, log_path=log)
                self.clock.record(f"build {role}", seconds)
                self.clock.say(f"  {self.settings.image(role)} built in {seconds:.1f} s")
        missing = []
        for role in IMAGE_ROLES:
            try:
                self.images[role] = image_facts(self.docker, role, self.settings.image(role))
            except ImageUnavailable:
                missing.append(self.settings.image(role))
        if missing:
            raise ImageUnavailable(f"image(s) {', '.join(missing)} not on this engine and "
                                   "build=false; build them first or set build=true")
        for role, facts in self.images.items():
            self.record.images[role] = ImageRecord(role, facts.tag, facts.short_id,
                                                   round(facts.size_mb, 1), facts.user)
            if role == "db":
                self.record.images[role].torch = "n/a (database)"
        return self.images

    # --- canaries --------------------------------------------------------------------------
    def new_canary(self, purpose: str, services: tuple[str, ...] = ()) -> Canary:
        if self.compose is None:
            self.compose = find_compose()
        canary = Canary(self.settings, self.docker, self.compose, self.run_id, purpose,
                        services)
        self._owned.append(canary)
        return canary

    def bring_up(self, canary: Canary) -> CanaryHandle:
        """Start `canary` and wait until its backend answers and its services are healthy."""
        timeout = self.settings.ready_timeout_s
        with self.clock.phase(f"starting canary ({canary.purpose})"):
            canary.up()
        with self.clock.phase(f"waiting for health ({canary.purpose})"):
            services = canary.services or tuple(canary.service_names())
            for service in services:
                wait_for_service_healthy(canary, service, timeout=timeout)
            api = PlatformClient(canary.url("backend", 8000))
            wait_for_backend_answering(api, canary, timeout=timeout)
        return CanaryHandle(canary, api)

    def restart_service(self, handle: CanaryHandle, service: str, *, kill: bool = False) -> None:
        """Restart one service (or kill it, no clean shutdown) and wait until it is healthy
        (and the backend answers) again."""
        if kill:
            handle.canary.kill(service)
        else:
            handle.canary.restart(service)
        if service == "backend":
            # Engine-chosen host ports are chosen again on a restart: follow the backend.
            handle.api.close()
            handle.api = PlatformClient(handle.canary.url("backend", 8000))
        wait_for_service_healthy(handle.canary, service, timeout=self.settings.ready_timeout_s)
        wait_for_backend_answering(handle.api, handle.canary,
                                   timeout=self.settings.ready_timeout_s)

    def shared_canary(self) -> CanaryHandle:
        """The run's canary: every service up, schema migrated (as the seed), workers ready."""
        if self._shared_failure is not None:
            # Once is enough: every later scenario would wait out the same deadlines again.
            raise AssertionError(f"the canary failed to start earlier in this run: "
                                 f"{self._shared_failure}")
        if self._shared is None:
            canary = self.new_canary("shared")
            try:
                with self.clock.phase("canary up"):
                    handle = self.bring_up(canary)
                with self.clock.phase("canary ready (migrations, workers registered)"):
                    upgrade_to_head(canary)
                    for worker_type in WORKER_SERVICES:
                        wait_for_available_worker(handle.api, canary, worker_type,
                                                  timeout=self.settings.ready_timeout_s)
            except AssertionError as exc:
                self._shared_failure = str(exc).splitlines()[0]
                raise
            self._shared = handle
        return self._shared

    def record_job(self, started: StartedJob) -> None:
        if started.seconds is not None and (started.final or {}).get("status") == "completed":
            self.record.jobs.append({"job": started.job, "operation_id": started.operation_id,
                                     "strategy": started.request.get("strategy_name", ""),
                                     "seconds": round(started.seconds, 2)})

    def release(self, canary: Canary) -> None:
        if self.settings.keep:
            canary.keep()
            self.clock.say(f"keep=true: canary {canary.project} left running "
                           f"(backend {canary.url('backend', 8000)})")
            return
        canary.down()

    def close(self) -> None:
        """Stop every canary this run started (unless keep) and remove probe containers."""
        with self.clock.phase("canary down", announce=bool(self._owned)):
            for canary in reversed(self._owned):
                if canary.started:
                    self.release(canary)
            remove_run_containers(self.docker, self.run_id)
        if self._shared is not None:
            self._shared.api.close()

    def write_record(self) -> None:
        """Leave reports/run.json for the summary and the Allure extras."""
        self.record.phases = [{"phase": n, "seconds": round(s, 2)} for n, s in self.clock.phases]
        try:
            engine = str(self.docker.version().get("Version", "unknown"))
        except Exception:  # the engine may be the very thing that went away
            engine = "unreachable"
        self.record.environment = describe_environment(engine, self.compose)
        self.record.environment["ports"] = (
            "canonical (backend 18000, workers 15003/15004, db 15432)"
            if self.settings.canonical_ports else "engine-chosen, on 127.0.0.1")
        self.record.write(self.settings.reports_dir)


def worker_service(worker_type: str) -> str:
    return WORKER_SERVICES[worker_type]
