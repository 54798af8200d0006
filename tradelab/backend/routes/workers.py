"""The worker registry over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from tradelab.backend.deps import RegistryDep
from tradelab.backend.registry import Worker, WorkerStatus, WorkerType

router = APIRouter(prefix="/workers", tags=["workers"])


class WorkerRegistration(BaseModel):
    worker_id: str = Field(min_length=1)
    worker_type: WorkerType
    endpoint_url: str = Field(pattern=r"^https?://")
    capabilities: dict[str, Any] = Field(default_factory=dict)
    current_operation_id: str | None = None
    # Sent by the real platform's workers; accepted so their registrations validate.
    completed_operations: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


@router.post("/register")
async def create_worker_registration(body: WorkerRegistration,
                                     registry: RegistryDep) -> dict[str, Any]:
    """Register a worker, or update it when the id is known."""
    worker = registry.register(Worker(
        worker_id=body.worker_id, worker_type=body.worker_type,
        endpoint_url=body.endpoint_url.rstrip("/"), capabilities=body.capabilities,
        current_operation_id=body.current_operation_id, metadata=body.metadata))
    return worker.to_dict()


@router.get("")
async def read_workers(registry: RegistryDep, worker_type: WorkerType | None = None,
                       status: WorkerStatus | None = None) -> list[dict[str, Any]]:
    """All registered workers, optionally by type and status."""
    return [w.to_dict() for w in registry.list(worker_type, status)]


@router.get("/{worker_id}")
async def read_worker(worker_id: str, registry: RegistryDep) -> dict[str, Any]:
    """One worker, or 404."""
    worker = registry.get(worker_id)
    if worker is None:
        raise HTTPException(status_code=404, detail=f"Worker not found: {worker_id}")
    return worker.to_dict()
