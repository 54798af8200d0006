"""The tradelab API backend (no torch, ever: ML code lives in tradelab.ml, workers only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tradelab import __version__, errors
from tradelab.backend.registry import WorkerRegistry, poll_workers_forever
from tradelab.backend.routes import health, jobs, operations, strategies, workers
from tradelab.backend.sweeper import fail_unclaimed_forever
from tradelab.db.session import DATABASE_UNAVAILABLE, engine_for
from tradelab.settings import BackendSettings, backend_settings


def create_app(settings: BackendSettings | None = None) -> FastAPI:
    """Build the app; the worker poller runs for the app's lifetime."""
    settings = settings or backend_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(poll_workers_forever(
                app.state.registry, interval_s=settings.worker_health_interval_s,
                timeout_s=settings.worker_health_timeout_s)),
            asyncio.create_task(fail_unclaimed_forever(
                app.state.engine, app.state.registry,
                interval_s=settings.worker_health_interval_s,
                fail_after_s=settings.unclaimed_operation_timeout_s)),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # The OpenAPI document where the real platform publishes its own (the contract's prefix).
    app = FastAPI(title="tradelab", version=__version__, lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine_for(settings.database_url)
    app.state.registry = WorkerRegistry(
        failures_before_unavailable=settings.worker_failures_before_unavailable,
        removal_after_s=settings.worker_removal_after_s)
    # Choosing a worker and marking it busy is one step: two requests never get the same one.
    app.state.dispatch_lock = asyncio.Lock()

    # Every error in one documented JSON shape, unexpected ones included (tradelab.errors); a
    # database outage met by any route is a 503 that says so, never a 500.
    errors.install(app)

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return errors.respond(503, f"Database unavailable or not migrated: {reason}")

    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, database_unavailable)

    for module in (health, workers, jobs, operations, strategies):
        app.include_router(module.router, prefix="/api/v1")
    return app


app = create_app()
