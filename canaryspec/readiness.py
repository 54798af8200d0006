"""Named waits on the canary: services healthy, backend answering, workers registered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from canaryspec.api import PlatformClient, Reply
from canaryspec.canary import Canary
from canaryspec.waiting import Observation, wait_until

# The compose service of each worker type (the canary's naming, as the real platform's).
WORKER_SERVICES = {"training": "training-worker", "backtesting": "backtest-worker"}

# Errors that mean "not up yet" while a service boots.
TRANSIENT_HTTP = (httpx.TransportError,)


class ServiceFailed(AssertionError):
    """A service of the canary exited, died or turned unhealthy while we waited for it."""


def wait_for_services_ready(canary: Canary, services: Sequence[str], *, timeout: float) -> None:
    """Every service is ready (healthy, or a one-shot finished); stop at once, naming the cause,
    when one of them fails: a dead backend does not make us wait out the workers' deadline."""

    def check() -> Observation[dict[str, dict[str, str]]]:
        states = {s: canary.service_state(s) for s in services}
        if any(canary.has_failed(state) for state in states.values()):
            raise ServiceFailed(canary.failure_cause(services))
        pending = [state for state in states.values() if not canary.is_ready(state)]
        summary = ", ".join(f"{p.service} {p.status}/{p.health}" for p in pending) or "all ready"
        return Observation(not pending, {s: st.as_dict() for s, st in states.items()}, summary)

    wait_until(check, timeout=timeout, what=f"{', '.join(services)} becoming healthy",
               interval=0.5, evidence=lambda: canary.evidence(services),
               hint="read the service logs below; `-D keep=true` leaves the canary running")


def wait_for_backend_answering(api: PlatformClient, canary: Canary, *, timeout: float) -> Reply:
    """The backend's health endpoint answers 200."""

    def check() -> Observation[Reply]:
        reply = api.health()
        return Observation(reply.status == 200, reply, reply.brief())

    return wait_until(check, timeout=timeout, what="backend health answering 200",
                      transient=TRANSIENT_HTTP, evidence=lambda: canary.evidence(["backend"]))


class NotYet(Exception):
    """A reply that may be a passing blip (a 5xx while a service restarts): wait on."""


TRANSIENT = (*TRANSIENT_HTTP, NotYet)


def registered_workers(api: PlatformClient, worker_type: str | None = None) -> list[dict[str, Any]]:
    reply = api.workers(worker_type=worker_type)
    if reply.status >= 500:
        raise NotYet(f"the worker list answered {reply.brief()}")
    if reply.status != 200 or not isinstance(reply.body, list):
        raise AssertionError(f"the worker list did not come back as a list: {reply.brief()}")
    return reply.body


def registered_worker(api: PlatformClient, worker_type: str) -> dict[str, Any]:
    """The first registered worker of the type, whatever its status."""
    workers = registered_workers(api, worker_type)
    if not workers:
        raise AssertionError(f"no {worker_type} worker is registered")
    return workers[0]


def wait_for_health_poll(api: PlatformClient, canary: Canary, worker_id: str, *,
                         timeout: float) -> dict[str, Any]:
    """The backend has polled the worker's health at least once since it registered."""

    def check() -> Observation[dict[str, Any] | None]:
        reply = api.worker(worker_id)
        if reply.status >= 500:
            raise NotYet(reply.brief())
        body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else None
        polled = bool(body and body.get("last_health_check"))
        return Observation(polled, body, f"{reply.brief(200)}")

    found = wait_until(check, timeout=timeout, transient=TRANSIENT,
                       what=f"the backend polling {worker_id}'s health",
                       evidence=lambda: canary.evidence(["backend"]))
    assert found is not None
    return found


def wait_for_available_worker(api: PlatformClient, canary: Canary, worker_type: str, *,
                              timeout: float) -> dict[str, Any]:
    """A worker of `worker_type` is registered with status `available`; return it."""

    def check() -> Observation[dict[str, Any] | None]:
        workers = registered_workers(api)
        of_type = [w for w in workers if w.get("worker_type") == worker_type]
        available = [w for w in of_type if w.get("status") == "available"]
        seen = ", ".join(f"{w.get('worker_id')}={w.get('status')}" for w in workers) or "none"
        return Observation(bool(available), available[0] if available else None,
                           f"{len(of_type)} {worker_type} worker(s); registered: {seen}")

    service = WORKER_SERVICES.get(worker_type)
    found = wait_until(check, timeout=timeout,
                       what=f"an available {worker_type} worker in the registry",
                       transient=TRANSIENT,
                       evidence=lambda: canary.evidence([s for s in ("backend", service) if s]))
    assert found is not None
    return found


@dataclass
class WorkerClient:
    """A worker's own API (the contract's worker side), reached on its published host port:
    what the worker itself says, not what the backend's registry says about it."""

    url: str
    timeout_s: float = 5.0

    @classmethod
    def of(cls, canary: Canary, worker_type: str) -> WorkerClient:
        service = WORKER_SERVICES[worker_type]
        return cls(canary.url(service))

    def health(self) -> dict[str, Any]:
        reply = httpx.get(f"{self.url}/health", timeout=self.timeout_s)
        if reply.status_code != 200:
            raise NotYet(f"{self.url}/health answered {reply.status_code}")
        return reply.json()

    def operation_status(self, operation_id: str) -> str | None:
        """The worker's own record of the operation's status (None if it keeps none)."""
        reply = httpx.get(f"{self.url}/api/v1/operations/{operation_id}", timeout=self.timeout_s)
        if reply.status_code == 404:
            return None
        if reply.status_code != 200:
            raise NotYet(f"the worker's record of {operation_id}: {reply.status_code}")
        body = reply.json()
        data = body.get("data", body) if isinstance(body, dict) else {}
        return data.get("status") if isinstance(data, dict) else None


def health_seen_from_backend(canary: Canary, endpoint_url: str) -> dict[str, Any]:
    """GET a worker's /health from inside the backend container (the backend's own network)."""
    result = canary.exec("backend", ["curl", "-fsS", "--max-time", "5", f"{endpoint_url}/health"])
    if result.exit_code != 0:
        raise AssertionError(f"the backend container cannot reach {endpoint_url}/health: "
                             f"curl exit {result.exit_code}: {result.output}")
    try:
        return json.loads(result.output)
    except ValueError:
        raise AssertionError(f"{endpoint_url}/health answered non-JSON: {result.output[:300]}") \
            from None
