"""One run of the suite: its id, its images, its canaries, its clean-up.

Created in before_all and kept on behave's context as `context.run`. The shared canary is
started lazily by the first scenario that needs it and stopped in after_all; canaries that a
feature must own (a fresh database, faults) are started and stopped by that feature.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from docker import DockerClient

from canaryspec import interrupts
from canaryspec.api import PlatformClient
from canaryspec.canary import (
    Canary,
    ComposeModel,
    StopResult,
    check_ports_free,
    compose_environment,
    find_compose,
    remove_run_containers,
)
from canaryspec.errors import CanaryUnavailable, ImageUnavailable
from canaryspec.images import (
    ImageFacts,
    build_image,
    check_build_inputs,
    connect_engine,
    image_facts,
)
from canaryspec.jobs import StartedJob
from canaryspec.migrations import upgrade_to_head
from canaryspec.outcomes import BLOCKED_PREFIX, headline
from canaryspec.owners import Owner, sweep_dead_runs
from canaryspec.readiness import (
    WORKER_SERVICES,
    wait_for_available_worker,
    wait_for_backend_answering,
    wait_for_services_ready,
)
from canaryspec.reporting import PhaseClock
from canaryspec.run_record import ImageRecord, RunRecord, describe_environment
from canaryspec.settings import Settings


@dataclass
class CanaryHandle:
    """A started canary and the HTTP client for its backend."""

    canary: Canary
    api: PlatformClient


@dataclass
class Run:
    settings: Settings
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    clock: PhaseClock = field(default_factory=PhaseClock)
    images: dict[str, ImageFacts] = field(default_factory=dict)
    compose: list[str] | None = None
    # Model paths trained in this run, by strategy: a backtest reuses one instead of training.
    trained_models: dict[str, str] = field(default_factory=dict)
    record: RunRecord = field(init=False)
    owner: Owner = field(init=False)
    _docker: DockerClient | None = None
    _model: ComposeModel | None = None
    # Canaries that failed to come up, by purpose: later scenarios are blocked at once.
    _failures: dict[str, str] = field(default_factory=dict)
    _owned: list[Canary] = field(default_factory=list)
    _handles: dict[str, CanaryHandle] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.record = RunRecord(run_id=self.run_id, profile=self.settings.profile.name)
        self.owner = Owner(self.run_id, keep=self.settings.keep)

    @property
    def docker(self) -> DockerClient:
        if self._docker is None:
            self._docker = connect_engine()
        return self._docker

    def start(self) -> None:
        """Engine, Compose and the compose file checked; dead runs' leftovers removed."""
        self.compose = find_compose()
        self._model = ComposeModel.read(self.compose, self.settings.canary_compose_file,
                                        compose_environment())
        check_ports_free(self.settings, self._model)
        for leftovers in sweep_dead_runs(self.docker):
            self.clock.say(f"removed what a dead run left: {leftovers.describe()}")

    # --- images ----------------------------------------------------------------------------
    def build_images(self) -> None:
        """Build the profile's images, when this project builds them (the layer cache makes
        unchanged ones instant). The real platform's images are built by its own repository."""
        if not self.settings.build:
            return
        check_build_inputs(self.settings, self.docker)
        for role, dockerfile in self.settings.profile.dockerfiles.items():
            tag = self.settings.image(role)
            assert tag is not None
            log = self.settings.reports_dir / "build" / f"{role}.log"
            seconds = build_image(self.docker, dockerfile, tag,
                                  base_image=self.settings.base_image, log_path=log)
            self.clock.record(f"build {role}", seconds)
            self.clock.say(f"  {tag} built in {seconds:.1f} s")

    def image(self, role: str) -> ImageFacts:
        """Facts about the image playing `role`, read when a scenario first needs it: a run
        needs only the images its selected features use (ImageUnavailable otherwise)."""
        if role not in self.images:
            tag = self.settings.image(role)
            if tag is None:
                raise ImageUnavailable(f"profile {self.settings.profile.name!r} names no "
                                       f"{role} image")
            facts = image_facts(self.docker, role, tag, building=self.settings.build)
            self.images[role] = facts
            self.record.images[role] = ImageRecord(role, facts.tag, facts.short_id,
                                                   round(facts.size_mb, 1), facts.user)
        return self.images[role]

    # --- canaries --------------------------------------------------------------------------
    def new_canary(self, purpose: str, services: tuple[str, ...] = ()) -> Canary:
        if self.compose is None or self._model is None:
            self.start()
        assert self.compose is not None and self._model is not None
        canary = Canary(self.settings, self.docker, self.compose, self._model, self.owner,
                        purpose, services)
        self._owned.append(canary)
        return canary

    def bring_up(self, canary: Canary) -> CanaryHandle:
        """Start `canary` and wait until its services are ready and its backend answers;
        CanaryUnavailable (naming the service and why) when it does not come up."""
        timeout = self.settings.deadlines.ready
        self._record_images_of(canary)
        with self.clock.phase(f"starting canary ({canary.purpose})"):
            canary.up()
        try:
            with self.clock.phase(f"waiting for health ({canary.purpose})"):
                wait_for_services_ready(canary, canary.all_services, timeout=timeout)
                api = PlatformClient(canary.url("backend"))
                wait_for_backend_answering(api, canary, timeout=timeout)
        except AssertionError as exc:
            cause = canary.failure_cause() or headline(str(exc))
            raise CanaryUnavailable(f"canary {canary.project} did not come up: {cause}",
                                    canary.evidence()) from exc
        self.record.ports[canary.project] = canary.published()
        return CanaryHandle(canary, api)

    def _record_images_of(self, canary: Canary) -> None:
        """The images the canary's services run, for the report (the database's too)."""
        roles = self.settings.profile.service_roles
        for service, tag in canary.images().items():
            role = roles.get(service)
            if role is None or role in self.record.images:
                continue
            try:
                facts = image_facts(self.docker, role, tag)
            except ImageUnavailable:
                continue  # Canary.up says so, naming every missing image
            self.record.images[role] = ImageRecord(role, facts.tag, facts.short_id,
                                                   round(facts.size_mb, 1), facts.user)
            if role == "db":
                self.record.images[role].torch = "n/a (database)"

    def restart_service(self, handle: CanaryHandle, service: str, *, kill: bool = False) -> None:
        """Restart one service (or kill it, no clean shutdown) and wait until it is healthy
        (and the backend answers) again."""
        if kill:
            handle.canary.kill(service)
        else:
            handle.canary.restart(service)
        self._back_up(handle, service)

    def stop_and_start_service(self, handle: CanaryHandle, service: str) -> StopResult:
        """SIGTERM one service, note how it stopped, start it and wait until it is back."""
        stopped = handle.canary.stop_and_start(service)
        self._back_up(handle, service)
        return stopped

    def _back_up(self, handle: CanaryHandle, service: str) -> None:
        if service == "backend":
            # Engine-chosen host ports are chosen again on a restart: follow the backend.
            handle.api.close()
            handle.api = PlatformClient(handle.canary.url("backend"))
        wait_for_services_ready(handle.canary, [service], timeout=self.settings.deadlines.ready)
        wait_for_backend_answering(handle.api, handle.canary,
                                   timeout=self.settings.deadlines.ready)

    def _once(self, purpose: str, start) -> CanaryHandle:  # type: ignore[no-untyped-def]
        """The canary for `purpose`, started on first use; a failure to start is remembered,
        so every later scenario that needs it is blocked at once instead of waiting again."""
        if purpose in self._failures:
            raise CanaryUnavailable(f"{BLOCKED_PREFIX}{self._failures[purpose]}")
        if purpose not in self._handles:
            try:
                self._handles[purpose] = start()
            except CanaryUnavailable as exc:
                self._failures[purpose] = str(exc)
                raise
        return self._handles[purpose]

    def shared_canary(self) -> CanaryHandle:
        """The run's canary: every service up, schema migrated (as the seed), workers ready."""

        def start() -> CanaryHandle:
            canary = self.new_canary("shared")
            with self.clock.phase("canary up"):
                handle = self.bring_up(canary)
            try:
                with self.clock.phase("canary ready (migrations, workers registered)"):
                    upgrade_to_head(canary)
                    for worker_type in WORKER_SERVICES:
                        wait_for_available_worker(handle.api, canary, worker_type,
                                                  timeout=self.settings.deadlines.ready)
            except AssertionError as exc:
                raise CanaryUnavailable(f"canary {canary.project} did not become ready: "
                                        f"{headline(str(exc))}", canary.evidence()) from exc
            return handle

        return self._once("shared", start)

    def knows_canary(self, purpose: str) -> bool:
        """Whether a canary for `purpose` was started (or failed to start) in this run."""
        return purpose in self._handles or purpose in self._failures

    def own_canary(self, purpose: str, services: tuple[str, ...]) -> CanaryHandle:
        """A canary one feature owns (e.g. a database it may wipe), started by its first
        scenario that runs; `release_own` ends it with the feature."""

        def start() -> CanaryHandle:
            canary = self.new_canary(purpose, services)
            with self.clock.phase(f"own canary up ({purpose})"):
                return self.bring_up(canary)

        return self._once(purpose, start)

    def release_own(self, purpose: str) -> None:
        self._failures.pop(purpose, None)
        handle = self._handles.pop(purpose, None)
        for canary in [c for c in self._owned if c.purpose == purpose]:
            with interrupts.shielded(), self.clock.phase(f"own canary down ({purpose})"):
                self.release(canary)
            self._owned.remove(canary)
        if handle is not None:
            handle.api.close()

    def record_job(self, started: StartedJob) -> None:
        if started.seconds is not None and (started.final or {}).get("status") == "completed":
            self.record.jobs.append({"job": started.job, "operation_id": started.operation_id,
                                     "strategy": started.request.get("strategy_name", ""),
                                     "seconds": round(started.seconds, 2)})

    def release(self, canary: Canary) -> None:
        if self.settings.keep:
            canary.keep()
            self.clock.say(f"keep=true: canary {canary.project} left running (backend "
                           f"{canary.describe_url('backend')}); remove it with "
                           f"`python -m canaryspec clean {canary.project}`")
            return
        canary.down()

    def close(self) -> None:
        """Stop every canary this run started (unless keep) and remove probe containers.
        Not interrupted by a second signal: half a teardown would leave the canary behind."""
        with interrupts.shielded():
            with self.clock.phase("canary down", announce=any(c.started for c in self._owned)):
                for canary in reversed(self._owned):
                    if canary.started:
                        self.release(canary)
                if self._docker is not None:
                    remove_run_containers(self._docker, self.run_id)
            for handle in self._handles.values():
                handle.api.close()

    def finish_record(self) -> RunRecord:
        """The record's run-wide parts: phases and where the run happened."""
        self.record.phases = [{"phase": n, "seconds": round(s, 2)} for n, s in self.clock.phases]
        try:
            engine = str(self._docker.version().get("Version", "unknown")) if self._docker \
                else "not contacted"
        except Exception:  # the engine may be the very thing that went away
            engine = "unreachable"
        self.record.environment = describe_environment(engine, self.compose)
        self.record.environment["ports"] = describe_ports(self.record.ports)
        return self.record


def describe_ports(ports: dict[str, dict[str, str]]) -> str:
    """What the canaries' published ports really were (read from the engine, not assumed)."""
    bound = [address for project in ports.values() for address in project.values()]
    if not bound:
        return "no canary started"
    hosts = sorted({address.rsplit(":", 1)[0] for address in bound})
    return f"{len(bound)} port(s) published on {', '.join(hosts)}: " + "; ".join(
        f"{service} -> {address}" for project in ports.values()
        for service, address in project.items())


def worker_service(worker_type: str) -> str:
    return WORKER_SERVICES[worker_type]
