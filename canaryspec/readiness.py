"""Named waits on the canary: services healthy, backend answering, workers registered."""

from __future__ import annotations

import json
from typing import Any

import httpx

from canaryspec.api import PlatformClient, Reply
from canaryspec.canary import Canary
from canaryspec.waiting import Observation, wait_until

# The compose service of each worker type (the canary's naming, as the real platform's).
WORKER_SERVICES = {"training": "training-worker", "backtesting": "backtest-worker"}

# Errors that mean "not up yet" while a service boots.
TRANSIENT_HTTP = (httpx.TransportError,)


class ServiceExited(AssertionError):
    """A service's container stopped while we were waiting for it to become healthy."""


def wait_for_service_healthy(canary: Canary, service: str, *, timeout: float) -> None:
    """The service's container reports healthy (its own HEALTHCHECK); fail at once if it exits."""

    def check() -> Observation[dict[str, str]]:
        state = canary.state(service)
        if state["status"] == "exited" and state["exit_code"] == "0" and state["health"] == "none":
            # A one-shot service (seeding data) is ready when it has finished its work.
            return Observation(True, state, "completed")
        if state["status"] in {"exited", "dead"}:
            raise ServiceExited(f"{service} exited (code {state['exit_code']}) before becoming "
                                f"healthy. Last log lines:\n{canary.logs(service, 30)}")
        summary = f"container {state['status']}, health {state['health']}"
        return Observation(state["health"] == "healthy", state, summary)

    wait_until(check, timeout=timeout, what=f"service {service} becoming healthy",
               interval=0.5, evidence=lambda: canary.evidence([service]),
               hint=f"read the {service} log below; `-D keep=true` leaves the canary running")


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
