"""The canaries of a run: the shared one, those a feature owns, and their teardown.

A canary starts on first use (a scenario that needs it), is remembered when it fails to come up
(later scenarios are blocked at once, with the same cause, instead of waiting again), and is
removed at the end — its feature's end for an owned one, the run's end for the shared one —
unless keep=true.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from docker import DockerClient

from canaryspec import interrupts, needs
from canaryspec.canary import Canary, ComposeModel, remove_run_containers
from canaryspec.clock import PhaseClock
from canaryspec.errors import CanaryspecError, CanaryUnavailable
from canaryspec.handle import CanaryHandle
from canaryspec.images import ImageSet
from canaryspec.needs import Need
from canaryspec.outcomes import BLOCKED_PREFIX, headline
from canaryspec.owners import Owner
from canaryspec.readiness import wait_for_services_ready
from canaryspec.reports.record import RunRecord
from canaryspec.settings import Settings
from canaryspec.vocabulary import WORKERS

SHARED = "shared"


def deadlines_used(handle: CanaryHandle, settings: Settings) -> dict[str, str]:
    """The platform's own timers as this canary runs them, and the suite's waits derived from
    them, in words (the summary's "Deadlines used")."""
    canary, (orphan_s, check_s) = handle.canary, handle.orphan_timeout()
    deadline_s, how = handle.orphan_deadline()
    figures = {"orphan timeout": f"{orphan_s:g} s, checked every {check_s:g} s (the backend's "
                                 "environment, else the platform's default)",
               "an orphan must be failed within": f"{deadline_s:g} s ({how})",
               "a worker that stops answering is unavailable within":
                   "{:g} s ({})".format(*handle.unavailable_deadline()),
               "a worker answering again is available within":
                   "{:g} s ({})".format(*handle.back_deadline()),
               "readiness deadline": f"{settings.deadlines.ready:g} s (the suite's, slow-host "
                                     f"factor {settings.deadlines.slow_host_factor:g})"}
    for service in canary.all_services:
        window = canary.health_window(service)
        if window is not None and service not in canary.model.one_shots:
            figures[f"{service} health window"] = window.describe()
    for worker in WORKERS.values():
        figures[f"{worker.service} stop grace period"] = \
            f"{canary.grace_period(worker.service):g} s (SIGTERM, then SIGKILL)"
    figures["workers' compute threads"] = (
        f"{settings.worker_threads} each (OMP_NUM_THREADS, set by this run: worker_threads)"
        if settings.worker_threads is not None else
        "the platform's own (torch: one per core of the host; worker_threads sets them)")
    return figures


@dataclass
class CanaryPool:
    settings: Settings
    docker: Callable[[], DockerClient]
    compose: list[str]
    model: ComposeModel
    owner: Owner
    clock: PhaseClock
    record: RunRecord
    images: ImageSet
    _owned: list[Canary] = field(default_factory=list)
    _handles: dict[str, CanaryHandle] = field(default_factory=dict)
    # Canaries that failed to come up, by purpose: later scenarios are blocked at once, by the
    # same kind of cause (a missing image stays a missing image).
    _failures: dict[str, CanaryUnavailable] = field(default_factory=dict)

    def shared(self) -> CanaryHandle:
        """The run's canary: every service up, schema migrated (as the handoff), workers
        available."""
        def start() -> CanaryHandle:
            with needs.not_counted():  # the run's own canary: the target's, not a scenario's
                return start_shared()

        def start_shared() -> CanaryHandle:
            with self.clock.phase("canary up"):
                handle = self._bring_up(SHARED, ())
            try:
                with self.clock.phase("canary ready (migrations, workers registered)"):
                    handle.upgrade()
                    for worker in WORKERS.values():
                        found = handle.available_worker(worker,
                                                        timeout=self.settings.deadlines.ready)
                        self.record.workers.append(found.worker_id)
                        self.record.startup[f"{worker.worker_type} worker registered"] = round(
                            time.monotonic() - handle.canary.up_at, 1)
                self.record.startup.update({f"{service} ready": seconds for service, seconds
                                            in handle.canary.ready_after.items()})
                self.record.startup.update({
                    f"{service} called unhealthy by the engine (still starting)": seconds
                    for service, seconds in handle.canary.unhealthy_after.items()})
                self.record.platform_timers.update(deadlines_used(handle, self.settings))
                self.record.memory["idle"] = handle.canary.memory_mb()
            except CanaryspecError:
                raise  # a set-up stop keeps its own exit code
            except AssertionError as exc:
                raise CanaryUnavailable(f"canary {handle.canary.project} did not become ready: "
                                        f"{headline(str(exc))}", handle.canary.evidence()) \
                    from exc
            return handle

        return self._once(SHARED, start)

    def own(self, purpose: str, services: tuple[str, ...]) -> CanaryHandle:
        """A canary one feature owns (e.g. a database it may wipe), started by its first
        scenario that runs; `release` ends it with the feature."""
        needs.used(Need.ENGINE, Need.IMAGES)  # every scenario on it, not only the first

        def start() -> CanaryHandle:
            with needs.not_counted(), self.clock.phase(f"own canary up ({purpose})"):
                return self._bring_up(purpose, services)

        return self._once(purpose, start)

    def knows(self, purpose: str) -> bool:
        """Whether a canary for `purpose` was started (or failed to start) in this run."""
        return purpose in self._handles or purpose in self._failures

    def release(self, purpose: str) -> None:
        self._failures.pop(purpose, None)
        handle = self._handles.pop(purpose, None)
        for canary in [c for c in self._owned if c.purpose == purpose]:
            with interrupts.deferred(), self.clock.phase(f"own canary down ({purpose})"):
                self._release(canary)
            self._owned.remove(canary)
        if handle is not None:
            handle.api.close()

    def close(self) -> None:
        """Stop every canary (unless keep) and remove probe containers. Not interrupted by a
        second signal: half a teardown would leave the canary behind."""
        with interrupts.shielded():
            with self.clock.phase("canary down", announce=any(c.started for c in self._owned)):
                for canary in reversed(self._owned):
                    if canary.started:
                        self._release(canary)
                remove_run_containers(self.docker(), self.owner.run_id)
            for handle in self._handles.values():
                handle.api.close()

    def _once(self, purpose: str, start: Callable[[], CanaryHandle]) -> CanaryHandle:
        if purpose in self._failures:
            failure = self._failures[purpose]
            raise type(failure)(f"{BLOCKED_PREFIX}{failure}")
        if purpose not in self._handles:
            try:
                self._handles[purpose] = start()
            except CanaryUnavailable as exc:
                self._failures[purpose] = exc
                raise
        return self._handles[purpose]

    def _bring_up(self, purpose: str, services: tuple[str, ...]) -> CanaryHandle:
        """Start a canary and wait until its services are ready and its backend answers;
        CanaryUnavailable (naming the service and why) when it does not come up."""
        canary = Canary(self.settings, self.docker(), self.compose, self.model, self.owner,
                        purpose, services)
        self._owned.append(canary)
        self.images.record_canary(canary)
        with self.clock.phase(f"starting canary ({purpose})"):
            canary.up()
        try:
            with self.clock.phase(f"waiting for health ({purpose})"):
                wait_for_services_ready(canary, canary.all_services,
                                        timeout=canary.readiness_timeout())
                handle = CanaryHandle.connect(canary, self.settings)
                handle.wait_until_answering()
        except CanaryspecError:
            raise  # a set-up stop keeps its own exit code
        except AssertionError as exc:
            cause = canary.failure_cause() or headline(str(exc))
            raise CanaryUnavailable(f"canary {canary.project} did not come up: {cause}",
                                    canary.evidence()) from exc
        self.record.ports[canary.project] = canary.published()
        return handle

    def _release(self, canary: Canary) -> None:
        if self.settings.keep:
            canary.keep()
            self.clock.say(f"keep=true: canary {canary.project} left running (backend "
                           f"{canary.describe_url('backend')}); remove it with "
                           f"`python -m canaryspec clean {canary.project}`")
            return
        canary.down()
