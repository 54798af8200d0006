"""A deployment the suite did not start (target=attach): reached by URL, never changed.

Nothing is built, started or removed. The run's "canary" is the deployment as it runs: its
backend answering at `backend_url` and a worker of each type available. What the suite asks of it
is its HTTP API; a scenario that needs more (an engine, the database, the images, the suite's
own market data, or leave to break things) is skipped before it starts, saying what it needs
(canaryspec.needs, environment.py). The jobs a scenario starts are cancelled by its own clean-up,
as in a canary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

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
    project: str = ATTACHED
    purpose: str = ATTACHED

    def __post_init__(self) -> None:
        self._worker_ids: dict[str, str | None] = {}  # a given URL -> the worker answering

    @property
    def all_services(self) -> tuple[str, ...]:
        return ("backend", *_BY_SERVICE)

    def url(self, service: str) -> str:
        """The backend's URL, as given (a worker is reached by `worker_url`)."""
        if service == "backend":
            return self.settings.backend_url
        raise CanaryUnavailable(f"an attached deployment has no URL for {service}")

    def worker_url(self, registered: Any) -> str:
        """Where the suite reaches a registered worker's own API: of the URLs `worker_urls`
        gives for its type, the one whose worker says it is this one; none given, the address
        it registered with (which resolves inside the deployment's network)."""
        given = self.settings.worker_urls.get(registered.worker_type, ())
        if not given:
            return str(registered.endpoint_url)
        for url in given:
            if self._worker_ids.get(url) is None:
                with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
                    self._worker_ids[url] = httpx.get(f"{url}/health", timeout=5.0).json().get(
                        "worker_id")
            if self._worker_ids.get(url) == registered.worker_id:
                return url
        raise CanaryUnavailable(f"none of the {registered.worker_type} worker URLs given "
                                f"({', '.join(given)}) answers as {registered.worker_id}")

    def worker_address_pattern(self, worker: Any) -> str:
        """What a registered address must look like: a host the backend can reach, never its
        own loopback (the deployment's host names are its own)."""
        return r"^https?://(?!localhost[:/]|127\.|\[::1\])[^/:]+:\d+$"

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
