"""Choosing a worker for a job and handing the job to it."""

from __future__ import annotations

from typing import Any

import httpx

from tradelab.backend.registry import Worker, WorkerRegistry, WorkerStatus, WorkerType


class NoWorkerAvailable(LookupError):
    """No registered worker of the type is available: the contract's 503 body says which."""

    def __init__(self, worker_type: WorkerType, registry: WorkerRegistry):
        of_type = registry.list(worker_type)
        busy = [w for w in of_type if w.status == WorkerStatus.BUSY]
        self.detail: dict[str, Any] = {
            "error": f"No {worker_type.value} workers available",
            "worker_type": worker_type.value,
            "registered_workers": len(of_type),
            "busy_workers": len(busy),
            "hint": (f"all {len(of_type)} {worker_type.value} worker(s) are busy; retry when "
                     "one finishes" if of_type else
                     f"start a {worker_type.value} worker; none has registered"),
        }
        super().__init__(self.detail["error"])


class DispatchFailed(RuntimeError):
    """The chosen worker did not accept the job (`worker_busy`: it said it has one already)."""

    def __init__(self, message: str, *, worker_busy: bool = False):
        super().__init__(message)
        self.worker_busy = worker_busy


def choose_worker(registry: WorkerRegistry, worker_type: WorkerType) -> Worker:
    """Training prefers a GPU worker, else the first CPU one; backtests take the least recently
    used (the real platform's rules)."""
    available = registry.list(worker_type, WorkerStatus.AVAILABLE)
    if not available:
        raise NoWorkerAvailable(worker_type, registry)
    if worker_type == WorkerType.TRAINING:
        gpu = [w for w in available if w.capabilities.get("gpu")]
        return (gpu or available)[0]
    return min(available, key=lambda w: w.last_dispatched_at)


async def send_job(client: httpx.AsyncClient, worker: Worker, path: str,
                   payload: dict[str, Any]) -> dict[str, Any]:
    """POST the job to the worker; anything but its 200 acceptance is a DispatchFailed."""
    try:
        response = await client.post(f"{worker.endpoint_url}{path}", json=payload)
    except httpx.HTTPError as exc:
        raise DispatchFailed(f"worker {worker.worker_id} at {worker.endpoint_url} "
                             f"unreachable: {exc}") from exc
    if response.status_code != 200:
        raise DispatchFailed(f"worker {worker.worker_id} refused the job: "
                             f"{response.status_code} {response.text[:300]}",
                             worker_busy=response.status_code == 503)
    return response.json()


async def cancel_on_worker(client: httpx.AsyncClient, endpoint_url: str,
                           operation_id: str) -> str | None:
    """Ask the worker to stop; returns a problem to log, or None when it agreed."""
    try:
        response = await client.delete(f"{endpoint_url}/api/v1/operations/{operation_id}/cancel")
    except httpx.HTTPError as exc:
        return f"worker unreachable: {exc}"
    return None if response.status_code == 200 else f"{response.status_code} {response.text}"
