"""A deployment the suite did not start (target=attach): reached by URL, never changed.

Nothing is built, started or removed. The run's "canary" is the deployment as it runs: its
backend answering at `backend_url` and a worker of each type available. What the suite asks of it
is its HTTP API; a scenario that needs more (an engine, the database, the images, the suite's
own market data, or leave to break things) is skipped before it starts, saying what it needs
(canaryspec.needs, environment.py). The jobs a scenario starts are cancelled by its own clean-up,
as in a canary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from canaryspec.clock import PhaseClock
from canaryspec.errors import CanaryUnavailable
from canaryspec.handle import CanaryHandle
from canaryspec.outcomes import headline
from canaryspec.reports.record import RunRecord
from canaryspec.settings import Settings
from canaryspec.vocabulary import WORKERS

ATTACHED = "attached"
_BY_SERVICE = {worker.service: worker for worker in WORKERS.values()}


@dataclass
class AttachedDeployment:
    """The running deployment as the handle sees it: URLs, and no engine behind them."""

    settings: Settings
    # Where a worker type registered itself (set once the handle can read the registry).
    registered_url: Callable[[str], str] | None = None
    project: str = ATTACHED
    purpose: str = ATTACHED

    @property
    def all_services(self) -> tuple[str, ...]:
        return ("backend", *_BY_SERVICE)

    def url(self, service: str) -> str:
        """The backend's URL as given; a worker's as given (`worker_urls`), else the address
        its first registered worker gave the backend."""
        if service == "backend":
            return self.settings.backend_url
        worker = _BY_SERVICE.get(service)
        if worker is None:
            raise CanaryUnavailable(f"an attached deployment has no URL for {service}")
        given = self.settings.worker_urls.get(worker.worker_type)
        if given:
            return given
        if self.registered_url is None:
            raise CanaryUnavailable(f"no URL for the {worker.worker_type} worker yet")
        return self.registered_url(worker.worker_type)

    def describe_url(self, service: str) -> str:
        try:
            return self.url(service)
        except (CanaryUnavailable, AssertionError) as exc:
            return f"no URL: {exc}"

    def env_of(self, service: str) -> dict[str, str]:
        # No engine: the platform's timers are the profile's defaults (a scenario that needs the
        # deployment's own is tagged @needs.engine and skipped).
        return {}

    def memory_mb(self) -> dict[str, float]:
        return {}  # no engine to ask: the report shows no figures

    def evidence(self, services: Sequence[str] | None = None, tail: int = 40) -> str:
        return (f"attached to {self.settings.backend_url}: no engine, so no container state or "
                "logs (the deployment's own logging has them)")


@dataclass
class AttachedPool:
    """The run's canaries when attached: the deployment itself, shared by every scenario, and
    no canary of a feature's own (those scenarios need an engine and are skipped)."""

    settings: Settings
    clock: PhaseClock
    record: RunRecord
    _handle: CanaryHandle | None = None
    _failure: CanaryUnavailable | None = None

    def shared(self) -> CanaryHandle:
        """The deployment, answering, with a worker of each type available; CanaryUnavailable
        (remembered: later scenarios are blocked at once) when it is not."""
        if self._failure is not None:
            raise type(self._failure)(str(self._failure))
        if self._handle is None:
            try:
                self._handle = self._attach()
            except CanaryUnavailable as exc:
                self._failure = exc
                raise
        return self._handle

    def _attach(self) -> CanaryHandle:
        deployment = AttachedDeployment(self.settings)
        handle = CanaryHandle.connect(deployment, self.settings)  # type: ignore[arg-type]
        deployment.registered_url = lambda worker_type: handle.registered_worker(
            WORKERS[worker_type]).endpoint_url
        with self.clock.phase(f"attaching to {self.settings.backend_url}"):
            try:
                handle.wait_until_answering()
                for worker in WORKERS.values():
                    found = handle.available_worker(worker, timeout=self.settings.deadlines.ready)
                    self.record.workers.append(found.worker_id)
            except AssertionError as exc:
                raise CanaryUnavailable(f"the deployment at {self.settings.backend_url} is not "
                                        f"ready: {headline(str(exc))}") from exc
        return handle

    def own(self, purpose: str, services: tuple[str, ...]) -> CanaryHandle:
        raise CanaryUnavailable(f"an attached run starts no canary of its own ({purpose}): "
                                "the scenario should have been skipped for @needs.engine")

    def knows(self, purpose: str) -> bool:
        return purpose == ATTACHED and self._handle is not None

    def release(self, purpose: str) -> None:
        """Nothing to release: the deployment is not the suite's."""

    def close(self) -> None:
        if self._handle is not None:
            self._handle.api.close()
