"""Operations: read, list, cancel, results; workers report progress here."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tradelab import names
from tradelab.backend import operations
from tradelab.backend.deps import EngineDep, RegistryDep
from tradelab.backend.dispatch import cancel_on_worker
from tradelab.backend.operations import (
    TERMINAL,
    OperationFinished,
    OperationNotFound,
    OperationStatus,
)
from tradelab.errors import documented, plain_json, require_json

router = APIRouter(tags=["operations"])
log = logging.getLogger("tradelab.operations")

# An operation id is looked up in the database: its pattern first (a NUL byte or a megabyte
# never reaches a query).
OperationId = Annotated[str, Path(min_length=1, max_length=names.MAX_IDENTIFIER,
                                  pattern=names.IDENTIFIER)]


@contextmanager
def _as_http_errors() -> Iterator[None]:
    """An unknown operation is a 404; a finished one that cannot change is a 400."""
    try:
        yield
    except OperationNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except OperationFinished as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


@router.get("/operations", responses=documented(422, 503))
def read_operations(engine: EngineDep, status: OperationStatus | None = None,
                    operation_type: str | None = Query(default=None, max_length=32,
                                                       pattern=names.OPERATION_TYPE),
                    limit: int = Query(default=100, ge=1, le=1000),
                    # An offset past PostgreSQL's bigint is no page: refused, not a 500.
                    offset: int = Query(default=0, ge=0, le=1_000_000),
                    active_only: bool = False) -> dict[str, Any]:
    """Operations, newest first, with total and active counts."""
    return operations.list_operations(engine, status=status.value if status else None,
                                      operation_type=operation_type, limit=limit,
                                      offset=offset, active_only=active_only)


@router.get("/operations/{operation_id}", responses=documented(404, 422, 503))
def read_operation(operation_id: OperationId, engine: EngineDep) -> dict[str, Any]:
    """One operation, or 404."""
    with _as_http_errors():
        return {"success": True, "data": operations.get_operation(engine, operation_id)}


@router.get("/operations/{operation_id}/results", responses=documented(404, 422, 503))
def read_operation_results(operation_id: OperationId, engine: EngineDep) -> dict[str, Any]:
    """What a finished operation produced (its result summary)."""
    with _as_http_errors():
        body = operations.get_operation(engine, operation_id)
    return {"success": True, "operation_id": operation_id, "status": body["status"],
            "results": body["result_summary"]}


@router.delete("/operations/{operation_id}", responses=documented(400, 404, 422, 503))
async def delete_operation(operation_id: OperationId, engine: EngineDep,
                           registry: RegistryDep) -> dict[str, Any]:
    """Cancel a pending or running operation; its worker is told to stop."""
    # async: it also waits on the worker over HTTP; the database part runs in the threadpool.
    with _as_http_errors():
        body = await run_in_threadpool(operations.cancel_operation, engine, operation_id)
    worker = registry.get(body["worker_id"] or "")
    if worker is not None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            problem = await cancel_on_worker(client, worker.endpoint_url, operation_id)
        if problem:
            log.warning("cancel of %s on %s: %s", operation_id, worker.worker_id, problem)
    return {"success": True, "data": {"operation_id": operation_id, "status": body["status"],
                                      "cancelled_at": body["completed_at"]}}


class WorkerReport(BaseModel):
    """What a worker tells the backend about its operation (tradelab's own channel)."""

    # What the database would refuse after the row was locked (NaN in JSON, a NUL in text)
    # is refused here.
    model_config = ConfigDict(allow_inf_nan=False)

    worker_id: str = Field(min_length=1, max_length=names.MAX_IDENTIFIER,
                           pattern=names.IDENTIFIER)
    status: OperationStatus
    percentage: float | None = Field(default=None, ge=0, le=100)
    current_step: Annotated[str | None, AfterValidator(plain_json)] = Field(
        default=None, max_length=500)
    steps_completed: int | None = Field(default=None, ge=0, le=1_000_000_000)
    steps_total: int | None = Field(default=None, ge=0, le=1_000_000_000)
    result_summary: Annotated[dict[str, Any] | None, AfterValidator(plain_json)] = None
    error_message: Annotated[str | None, AfterValidator(plain_json)] = Field(
        default=None, max_length=10_000)
    checkpoint: Annotated[dict[str, Any] | None, AfterValidator(plain_json)] = None


@router.post("/operations/{operation_id}/report", dependencies=[Depends(require_json)],
             responses=documented(400, 404, 413, 415, 422, 503))
def create_operation_report(operation_id: OperationId, report: WorkerReport, engine: EngineDep,
                            registry: RegistryDep) -> dict[str, Any]:
    """A worker's progress or outcome (and checkpoint) for its operation."""
    if report.status in TERMINAL:
        # Free the worker before the outcome is recorded: whoever sees the operation finished
        # may ask for the next job at once, and must find the worker on offer. Also after a
        # cancel (the operation was already final, but the worker only now is free). The
        # worker freed its own slot before it sent this report.
        registry.release(report.worker_id, operation_id)
    with _as_http_errors():
        body = operations.update_operation(
            engine, operation_id, status=report.status, percentage=report.percentage,
            current_step=report.current_step, steps_completed=report.steps_completed,
            steps_total=report.steps_total, result=report.result_summary,
            error_message=report.error_message)
        if report.checkpoint is not None:
            operations.save_checkpoint(engine, operation_id, report.checkpoint)
    # False after a backend restart (the registry lives in memory): the worker then registers
    # again at once, naming the operation it runs, before the sweeper takes it for an orphan.
    return {"success": True, "data": body,
            "worker_registered": registry.get(report.worker_id) is not None}
