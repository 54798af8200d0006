"""Backend health: liveness plus database and schema state (stricter than the real platform)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from tradelab import __version__
from tradelab.db.session import schema_state

router = APIRouter(tags=["health"])


@router.get("/health")
async def read_health(request: Request) -> dict[str, Any]:
    """Always 200 while the process serves; `status` says whether the database is usable."""
    database = await run_in_threadpool(schema_state, request.app.state.engine)
    workers = request.app.state.registry.list()
    return {
        "status": "ok" if database["migrated"] else "degraded",
        "version": __version__,
        "service": "tradelab-backend",
        "database": database,
        "workers": {"registered": len(workers)},
    }
