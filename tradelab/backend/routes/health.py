"""Backend health: liveness plus database and schema state (stricter than the real platform)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tradelab import __version__
from tradelab.backend.deps import EngineDep, RegistryDep
from tradelab.db.session import schema_state
from tradelab.errors import documented

router = APIRouter(tags=["health"])


@router.get("/health", responses=documented())
def read_health(engine: EngineDep, registry: RegistryDep) -> dict[str, Any]:
    """Always 200 while the process serves; `status` says whether the database is usable."""
    database = schema_state(engine)
    workers = registry.list()
    return {
        "status": "ok" if database["migrated"] else "degraded",
        "version": __version__,
        "service": "tradelab-backend",
        "database": database,
        "workers": {"registered": len(workers)},
    }
