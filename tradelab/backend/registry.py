"""The backend's worker registry: who registered, and whether their /health still answers.

Kept in memory, as on the real platform: workers re-register when the backend forgets them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import httpx

log = logging.getLogger("tradelab.registry")


class WorkerType(StrEnum):
    BACKTESTING = "backtesting"
    TRAINING = "training"


class WorkerStatus(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Worker:
    worker_id: str
    worker_type: WorkerType
    endpoint_url: str
    capabilities: dict[str, Any] = field(default_factory=dict)
    status: WorkerStatus = WorkerStatus.AVAILABLE
    current_operation_id: str | None = None
    last_health_check: datetime | None = None
    last_healthy_at: datetime | None = field(default_factory=_now)
    health_check_failures: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    last_dispatched_at: float = 0.0
    # Whether its /health has ever answered: a registration is only a claim until then (an
    # address nobody serves, or one the backend cannot reach, is never offered a job).
    answered: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "worker_type": self.worker_type.value,
            "endpoint_url": self.endpoint_url,
            "status": self.status.value,
            "current_operation_id": self.current_operation_id,
            "capabilities": {"gpu": False, **self.capabilities},
            "last_health_check": self.last_health_check.isoformat()
            if self.last_health_check else None,
            "last_healthy_at": self.last_healthy_at.isoformat() if self.last_healthy_at else None,
            "health_check_failures": self.health_check_failures,
            "metadata": self.metadata,
        }


class WorkerRegistry:
    """Registered workers by id; one entry per endpoint URL.

    Used from the event loop (the poller, async routes) and from FastAPI's threadpool (plain
    `def` routes): every method holds one lock.
    """

    def __init__(self, *, failures_before_unavailable: int = 3, removal_after_s: float = 300.0,
                 dispatch_grace_s: float = 15.0):
        self._lock = threading.RLock()
        self._workers: dict[str, Worker] = {}
        self._dispatch_grace_s = dispatch_grace_s
        self._failures_before_unavailable = failures_before_unavailable
        self._removal_after_s = removal_after_s

    def register(self, worker: Worker) -> Worker:
        """Take a worker's registration. A worker the registry has not heard answer its health
        check yet is listed, but not available: busy if it names the operation it runs (it
        claims that operation), else temporarily unavailable until its first check answers."""
        with self._lock:
            # A restarted worker comes back under a new id at the same URL: it replaces the old one.
            for stale_id in [w.worker_id for w in self._workers.values()
                             if w.endpoint_url == worker.endpoint_url
                             and w.worker_id != worker.worker_id]:
                log.info("worker %s replaces %s at %s", worker.worker_id, stale_id,
                         worker.endpoint_url)
                del self._workers[stale_id]
            existing = self._workers.get(worker.worker_id)
            if existing is not None:
                worker.last_health_check = existing.last_health_check
                worker.answered = existing.answered and \
                    existing.endpoint_url == worker.endpoint_url
            if worker.current_operation_id:
                worker.status = WorkerStatus.BUSY
            elif worker.answered:
                worker.status = WorkerStatus.AVAILABLE
            else:
                worker.status = WorkerStatus.TEMPORARILY_UNAVAILABLE
            self._workers[worker.worker_id] = worker
            return worker

    def get(self, worker_id: str) -> Worker | None:
        with self._lock:
            return self._workers.get(worker_id)

    def list(self, worker_type: WorkerType | None = None,
             status: WorkerStatus | None = None) -> list[Worker]:
        with self._lock:
            return [w for w in self._workers.values()
                    if (worker_type is None or w.worker_type == worker_type)
                    and (status is None or w.status == status)]

    def assign(self, worker_id: str, operation_id: str) -> None:
        """Mark a worker busy with an operation the backend just dispatched to it."""
        with self._lock:
            worker = self._workers.get(worker_id)
            if worker is not None:
                worker.status = WorkerStatus.BUSY
                worker.current_operation_id = operation_id
                worker.last_dispatched_at = time.monotonic()

    def release(self, worker_id: str | None, operation_id: str) -> None:
        """The worker finished `operation_id` (it said so): it may take the next job."""
        with self._lock:
            worker = self._workers.get(worker_id or "")
            if worker is not None and worker.current_operation_id == operation_id:
                worker.current_operation_id = None
                if worker.status == WorkerStatus.BUSY:
                    # Free, but offered jobs only once the registry has heard it answer.
                    worker.status = WorkerStatus.AVAILABLE if worker.answered else \
                        WorkerStatus.TEMPORARILY_UNAVAILABLE

    def record_health(self, worker_id: str, body: dict[str, Any] | None,
                      polled_at: float | None = None) -> None:
        """Apply one poll result: a body means the worker answered healthy.

        A poll sent before the last dispatch may say "idle" about a worker that has just been
        given a job: its busy/idle part is stale and ignored.
        """
        with self._lock:
            worker = self._workers.get(worker_id)
            if worker is None:
                return
            now = _now()
            worker.last_health_check = now
            if body is not None and body.get("healthy", False):
                worker.health_check_failures = 0
                worker.last_healthy_at = now
                worker.answered = True
                if polled_at is not None and polled_at < worker.last_dispatched_at:
                    return
                idle = body.get("worker_status") != "busy"
                if idle and worker.current_operation_id is not None and \
                        time.monotonic() - worker.last_dispatched_at < self._dispatch_grace_s:
                    # Just dispatched: the job may not have reached the worker yet. Its own report
                    # frees it (release); the grace only covers a report that never comes.
                    return
                busy = body.get("worker_status") == "busy"
                worker.current_operation_id = body.get("current_operation") if busy else None
                worker.status = WorkerStatus.BUSY if busy else WorkerStatus.AVAILABLE
                return
            worker.health_check_failures += 1
            if worker.health_check_failures >= self._failures_before_unavailable:
                worker.status = WorkerStatus.TEMPORARILY_UNAVAILABLE
                if not worker.answered:
                    # It never answered once: no worker lives at that address (a typo, an
                    # address the backend cannot reach, a registration nobody serves).
                    log.warning("forgetting %s at %s: it never answered a health check",
                                worker_id, worker.endpoint_url)
                    del self._workers[worker_id]
                    return
            unhealthy_for = (now - (worker.last_healthy_at or now)).total_seconds()
            if unhealthy_for >= self._removal_after_s:
                log.warning("removing worker %s: unhealthy for %.0f s", worker_id, unhealthy_for)
                del self._workers[worker_id]


async def check_health(registry: WorkerRegistry, worker: Worker, *, timeout_s: float,
                       client: httpx.AsyncClient | None = None) -> None:
    """Ask one worker's /health once and record the answer (or its absence)."""
    polled_at = time.monotonic()
    body: dict[str, Any] | None
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=timeout_s) as own:
                response = await own.get(f"{worker.endpoint_url}/health")
        else:
            response = await client.get(f"{worker.endpoint_url}/health")
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        body = None
    if body is not None and not isinstance(body, dict):
        body = None
    registry.record_health(worker.worker_id, body, polled_at)


async def poll_workers_forever(registry: WorkerRegistry, *, interval_s: float,
                               timeout_s: float) -> None:
    """Poll every registered worker's /health, forever (cancelled at shutdown)."""
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        while True:
            started = time.monotonic()
            for worker in registry.list():
                await check_health(registry, worker, timeout_s=timeout_s, client=client)
            # The poll cadence is the contract's, not a fixed delay standing in for a condition.
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))  # poll
