"""The tradelab API backend (no torch, ever: ML code lives in tradelab.ml, workers only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from tradelab import __version__
from tradelab.backend.registry import WorkerRegistry, poll_workers_forever
from tradelab.backend.routes import health, jobs, operations, strategies, workers
from tradelab.backend.sweeper import fail_unclaimed_forever
from tradelab.db.session import engine_for
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

    app = FastAPI(title="tradelab", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine_for(settings.database_url)
    app.state.registry = WorkerRegistry(
        failures_before_unavailable=settings.worker_failures_before_unavailable,
        removal_after_s=settings.worker_removal_after_s)
    # Choosing a worker and marking it busy is one step: two requests never get the same one.
    app.state.dispatch_lock = asyncio.Lock()

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in err["loc"][1:]), "message": err["msg"]}
                   for err in exc.errors()]
        return JSONResponse(status_code=422, content={
            "success": False,
            "error": {"code": "VALIDATION_ERROR", "message": "Request validation failed",
                      "details": details}})

    for module in (health, workers, jobs, operations, strategies):
        app.include_router(module.router, prefix="/api/v1")
    return app


app = create_app()
