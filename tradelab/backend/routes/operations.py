"""Operations: read, list, cancel, results; workers report progress here."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tradelab.backend import operations
from tradelab.backend.dispatch import cancel_on_worker
from tradelab.backend.operations import (
    TERMINAL,
    OperationFinished,
    OperationNotFound,
    OperationStatus,
)

router = APIRouter(tags=["operations"])
log = logging.getLogger("tradelab.operations")


async def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await run_in_threadpool(func, *args, **kwargs)
    except OperationNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except OperationFinished as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


@router.get("/operations")
async def read_operations(request: Request, status: OperationStatus | None = None,
                          operation_type: str | None = None,
                          limit: int = Query(default=100, ge=1, le=1000),
                          offset: int = Query(default=0, ge=0),
                          active_only: bool = False) -> dict[str, Any]:
    """Operations, newest first, with total and active counts."""
    return await _call(operations.list_operations, request.app.state.engine,
                       status=status.value if status else None, operation_type=operation_type,
                       limit=limit, offset=offset, active_only=active_only)


@router.get("/operations/{operation_id}")
async def read_operation(operation_id: str, request: Request) -> dict[str, Any]:
    return {"success": True,
            "data": await _call(operations.get_operation, request.app.state.engine, operation_id)}


@router.get("/operations/{operation_id}/results")
async def read_operation_results(operation_id: str, request: Request) -> dict[str, Any]:
    body = await _call(operations.get_operation, request.app.state.engine, operation_id)
    return {"success": True, "operation_id": operation_id, "status": body["status"],
            "results": body["result_summary"]}


@router.delete("/operations/{operation_id}")
async def delete_operation(operation_id: str, request: Request) -> dict[str, Any]:
    """Cancel a pending or running operation; its worker is told to stop."""
    body = await _call(operations.cancel_operation, request.app.state.engine, operation_id)
    worker = request.app.state.registry.get(body["worker_id"] or "")
    if worker is not None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            problem = await cancel_on_worker(client, worker.endpoint_url, operation_id)
        if problem:
            log.warning("cancel of %s on %s: %s", operation_id, worker.worker_id, problem)
    return {"success": True, "data": {"operation_id": operation_id, "status": body["status"],
                                      "cancelled_at": body["completed_at"]}}


class WorkerReport(BaseModel):
    """What a worker tells the backend about its operation (tradelab's own channel)."""

    worker_id: str
    status: OperationStatus
    percentage: float | None = Field(default=None, ge=0, le=100)
    current_step: str | None = None
    steps_completed: int | None = None
    steps_total: int | None = None
    result_summary: dict[str, Any] | None = None
    error_message: str | None = None
    checkpoint: dict[str, Any] | None = None


@router.post("/operations/{operation_id}/report")
async def create_operation_report(operation_id: str, report: WorkerReport,
                                  request: Request) -> dict[str, Any]:
    body = await _call(operations.update_operation, request.app.state.engine, operation_id,
                       status=report.status, percentage=report.percentage,
                       current_step=report.current_step,
                       steps_completed=report.steps_completed, steps_total=report.steps_total,
                       result=report.result_summary, error_message=report.error_message)
    if report.checkpoint is not None:
        await _call(operations.save_checkpoint, request.app.state.engine, operation_id,
                    report.checkpoint)
    if report.status in TERMINAL:
        # Also after a cancel: the operation was already final, but the worker only now is free.
        request.app.state.registry.release(report.worker_id, operation_id)
    return {"success": True, "data": body}
