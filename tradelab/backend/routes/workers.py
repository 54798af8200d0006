"""The worker registry over HTTP."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import AfterValidator, BaseModel, Field, field_validator

from tradelab import names
from tradelab.backend.deps import RegistryDep, SettingsDep
from tradelab.backend.registry import Worker, WorkerStatus, WorkerType, check_health
from tradelab.errors import documented, plain_json, require_json

router = APIRouter(prefix="/workers", tags=["workers"])

Identifier = Annotated[str, Field(min_length=1, max_length=names.MAX_IDENTIFIER,
                                  pattern=names.IDENTIFIER)]
# http(s), a host and a port: the address the backend will poll and send jobs to.
ENDPOINT_URL = r"^https?://[^\s/?#@:]+:[0-9]{1,5}(/[^\s?#]*)?$"
# The first health checks of newly registered workers, kept until they finish (a task nobody
# refers to may be collected before it runs).
_first_checks: set[asyncio.Task[None]] = set()


class WorkerRegistration(BaseModel):
    worker_id: Identifier
    worker_type: WorkerType
    endpoint_url: str = Field(max_length=256, pattern=ENDPOINT_URL)
    capabilities: Annotated[dict[str, Any], AfterValidator(plain_json)] = Field(
        default_factory=dict)
    current_operation_id: Identifier | None = None
    # Sent by the real platform's workers; accepted so their registrations validate.
    completed_operations: Annotated[list[Any], AfterValidator(plain_json)] = Field(
        default_factory=list, max_length=1000)
    metadata: Annotated[dict[str, Any], AfterValidator(plain_json)] = Field(
        default_factory=dict)

    @field_validator("endpoint_url")
    @classmethod
    def _reachable_address(cls, url: str) -> str:
        """A URL the backend can use: a host and a port in range, nothing it would ignore."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None or not 0 < port < 65536:
            raise ValueError("must be an http(s) URL with a host and a port, "
                             "such as http://training-worker:5004")
        return url


WorkerId = Annotated[str, Path(min_length=1, max_length=names.MAX_IDENTIFIER,
                               pattern=names.IDENTIFIER)]


@router.post("/register", dependencies=[Depends(require_json)],
             responses=documented(400, 413, 415, 422))
async def create_worker_registration(body: WorkerRegistration, registry: RegistryDep,
                                     settings: SettingsDep) -> dict[str, Any]:
    """Register a worker, or update it when the id is known. A new worker is offered jobs
    only once its first health check answers (checked at once, then at every poll)."""
    worker = registry.register(Worker(
        worker_id=body.worker_id, worker_type=body.worker_type,
        endpoint_url=body.endpoint_url.rstrip("/"), capabilities=body.capabilities,
        current_operation_id=body.current_operation_id, metadata=body.metadata))
    if not worker.answered:
        task = asyncio.create_task(check_health(registry, worker,
                                                timeout_s=settings.worker_health_timeout_s))
        _first_checks.add(task)
        task.add_done_callback(_first_checks.discard)
    return worker.to_dict()


@router.get("", responses=documented(422))
async def read_workers(registry: RegistryDep, worker_type: WorkerType | None = None,
                       status: WorkerStatus | None = None) -> list[dict[str, Any]]:
    """All registered workers, optionally by type and status."""
    return [w.to_dict() for w in registry.list(worker_type, status)]


@router.get("/{worker_id}", responses=documented(404, 422))
async def read_worker(worker_id: WorkerId, registry: RegistryDep) -> dict[str, Any]:
    """One worker, or 404."""
    worker = registry.get(worker_id)
    if worker is None:
        raise HTTPException(status_code=404, detail=f"Worker not found: {worker_id}")
    return worker.to_dict()
