"""What every worker shares: /health, self-registration, re-registration when forgotten."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request

from tradelab import errors
from tradelab.settings import WorkerSettings

log = logging.getLogger("tradelab.worker")

SERVICE_NAMES = {"training": "training-worker", "backtesting": "backtesting-worker"}


@dataclass
class WorkerState:
    """One worker process's identity and what it is doing."""

    worker_type: str
    worker_id: str
    public_url: str
    capabilities: dict[str, Any]
    current_operation: str | None = None
    registered: bool = False
    last_polled: float = field(default_factory=time.monotonic)

    def health(self) -> dict[str, Any]:
        return {
            "healthy": True,
            "service": SERVICE_NAMES[self.worker_type],
            "timestamp": datetime.now(UTC).isoformat(),
            "status": "operational",
            "worker_status": "busy" if self.current_operation else "idle",
            "current_operation": self.current_operation,
            "worker_id": self.worker_id,
            **self.capabilities,
        }

    def registration(self) -> dict[str, Any]:
        return {"worker_id": self.worker_id, "worker_type": self.worker_type,
                "endpoint_url": self.public_url, "capabilities": self.capabilities,
                "current_operation_id": self.current_operation}


def new_worker_state(worker_type: str, settings: WorkerSettings,
                     capabilities: dict[str, Any]) -> WorkerState:
    """Identity from the environment, else a fresh `<type>-worker-<8hex>` id (as the contract)."""
    worker_id = settings.worker_id or f"{worker_type}-worker-{secrets.token_hex(4)}"
    public_url = (settings.public_base_url
                  or f"http://{socket.gethostname()}:{settings.port}").rstrip("/")
    return WorkerState(worker_type, worker_id, public_url,
                       {"gpu": bool(capabilities.get("cuda_available")), **capabilities})


async def register_until_accepted(client: httpx.AsyncClient, state: WorkerState,
                                  api_url: str, *, max_backoff_s: float = 5.0) -> None:
    """POST the registration until the backend takes it, backing off between refusals."""
    backoff = 0.25
    while True:
        try:
            response = await client.post(f"{api_url}/api/v1/workers/register",
                                         json=state.registration())
            if response.status_code == 200:
                state.registered = True
                state.last_polled = time.monotonic()
                log.info("registered %s at %s", state.worker_id, state.public_url)
                return
            log.warning("registration refused: %s %s", response.status_code, response.text[:200])
        except httpx.HTTPError as exc:
            log.warning("backend unreachable at %s: %s", api_url, exc)
        await asyncio.sleep(backoff)  # poll: retry cadence with exponential backoff
        backoff = min(backoff * 2, max_backoff_s)


async def keep_registered(state: WorkerState, settings: WorkerSettings) -> None:
    """Register, then re-register whenever the backend stops polling us and has forgotten us."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        await register_until_accepted(client, state, settings.api_url)
        while True:
            await asyncio.sleep(min(5.0, settings.reregister_after_s / 2))  # poll
            if time.monotonic() - state.last_polled < settings.reregister_after_s:
                continue
            try:
                response = await client.get(
                    f"{settings.api_url}/api/v1/workers/{state.worker_id}")
            except httpx.HTTPError as exc:
                log.warning("backend unreachable: %s", exc)
                continue
            if response.status_code == 404:
                log.info("backend forgot %s: registering again", state.worker_id)
                await register_until_accepted(client, state, settings.api_url)
            else:
                state.last_polled = time.monotonic()


def create_worker_app(state: WorkerState, settings: WorkerSettings,
                      on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """The worker's HTTP face; job routes are added by each worker type. `on_shutdown` runs
    when the process is asked to stop (SIGTERM), before it stops re-registering."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(keep_registered(state, settings))
        try:
            yield
        finally:
            if on_shutdown is not None:
                await asyncio.to_thread(on_shutdown)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(title=SERVICE_NAMES[state.worker_type], lifespan=lifespan)
    app.state.worker = state
    # The backend's error shape here too: a job handed over directly is refused in JSON.
    errors.install(app)

    @app.get("/health")
    async def read_health(request: Request) -> dict[str, Any]:
        """Always 200 while serving; the backend's poll also proves it still knows us."""
        # The container's own health probe (from inside it) says nothing about the backend:
        # counted as a poll, it would hide a backend that restarted and forgot this worker.
        if not _from_this_host(request):
            state.last_polled = time.monotonic()
        return state.health()

    return app


def _from_this_host(request: Request) -> bool:
    """Whether a request came from inside the worker's own container (its health probe)."""
    return request.client is not None and request.client.host in {"127.0.0.1", "::1",
                                                                    "localhost"}
