"""Operations persisted in PostgreSQL, in the contract's shapes.

Plain synchronous SQLAlchemy: routes call these through the thread pool, so a slow database never
blocks the event loop the worker poller shares.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tradelab.db.models import Operation, OperationCheckpoint


class OperationStatus(StrEnum):
    PENDING = "pending"
    RESUMING = "resuming"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = {OperationStatus.COMPLETED, OperationStatus.FAILED, OperationStatus.CANCELLED}
ACTIVE = {OperationStatus.PENDING, OperationStatus.RESUMING, OperationStatus.RUNNING}


class OperationNotFound(LookupError):
    def __init__(self, operation_id: str):
        super().__init__(f"Operation not found: {operation_id}")


class OperationFinished(ValueError):
    def __init__(self, operation: Operation):
        super().__init__(f"Operation {operation.operation_id} is already {operation.status} "
                         "and cannot be cancelled")


def now() -> datetime:
    return datetime.now(UTC)


def new_operation_id(operation_type: str) -> str:
    """`op_<type>_<YYYYMMDD_HHMMSS>_<8hex>`, as the real platform names them."""
    return f"op_{operation_type}_{now():%Y%m%d_%H%M%S}_{secrets.token_hex(4)}"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def operation_body(op: Operation) -> dict[str, Any]:
    """The contract's operation object."""
    steps = (op.metadata_ or {}).get("steps", {})
    return {
        "operation_id": op.operation_id,
        "operation_type": op.operation_type,
        "status": op.status,
        "worker_id": op.worker_id,
        "created_at": _iso(op.created_at),
        "started_at": _iso(op.started_at),
        "completed_at": _iso(op.completed_at),
        "progress": {
            "percentage": round(op.progress_percent or 0.0, 2),
            "current_step": op.current_step,
            "steps_completed": steps.get("completed", 0),
            "steps_total": steps.get("total", 0),
        },
        "metadata": {k: v for k, v in (op.metadata_ or {}).items() if k != "steps"},
        "error_message": op.error_message,
        "result_summary": op.result,
    }


def list_entry(op: Operation) -> dict[str, Any]:
    """The contract's shorter form, as the list returns it."""
    body = operation_body(op)
    return {**{k: body[k] for k in ("operation_id", "operation_type", "status", "worker_id",
                                    "created_at", "completed_at")},
            "progress_percentage": body["progress"]["percentage"],
            "current_step": body["progress"]["current_step"],
            "symbol": body["metadata"].get("symbol"),
            "strategy_name": body["metadata"].get("strategy_name")}


def create_operation(engine: Engine, operation_id: str, operation_type: str, worker_id: str,
                     metadata: dict[str, Any]) -> None:
    with Session(engine) as session, session.begin():
        session.add(Operation(operation_id=operation_id, operation_type=operation_type,
                              status=OperationStatus.PENDING, worker_id=worker_id,
                              created_at=now(), progress_percent=0.0,
                              current_step="waiting for the worker", metadata_=metadata))


def get_operation(engine: Engine, operation_id: str) -> dict[str, Any]:
    with Session(engine) as session:
        op = session.get(Operation, operation_id)
        if op is None:
            raise OperationNotFound(operation_id)
        return operation_body(op)


def list_operations(engine: Engine, *, status: str | None = None,
                    operation_type: str | None = None, limit: int = 100, offset: int = 0,
                    active_only: bool = False) -> dict[str, Any]:
    """Newest first, with the totals the contract reports."""
    query = select(Operation)
    if status:
        query = query.where(Operation.status == status)
    if operation_type:
        query = query.where(Operation.operation_type == operation_type)
    if active_only:
        query = query.where(Operation.status.in_([s.value for s in ACTIVE]))
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        active = session.scalar(select(func.count()).select_from(Operation).where(
            Operation.status.in_([s.value for s in ACTIVE]))) or 0
        rows = session.scalars(query.order_by(Operation.created_at.desc())
                               .limit(limit).offset(offset)).all()
        return {"success": True, "data": [list_entry(op) for op in rows],
                "total_count": total, "active_count": active}


@contextmanager
def _locked_operation(engine: Engine, operation_id: str) -> Iterator[Operation]:
    """The operation's row, locked until the transaction commits (one writer at a time)."""
    with Session(engine) as session, session.begin():
        op = session.get(Operation, operation_id, with_for_update=True)
        if op is None:
            raise OperationNotFound(operation_id)
        yield op


def update_operation(engine: Engine, operation_id: str, *, status: str | None = None,
                     percentage: float | None = None, current_step: str | None = None,
                     steps_completed: int | None = None, steps_total: int | None = None,
                     result: dict[str, Any] | None = None,
                     error_message: str | None = None) -> dict[str, Any]:
    """Apply a worker's report. A finished operation stays finished (a late report loses)."""
    with _locked_operation(engine, operation_id) as op:
        if op.status in TERMINAL:
            return operation_body(op)
        if status:
            op.status = status
            if status == OperationStatus.RUNNING and op.started_at is None:
                op.started_at = now()
            if status in TERMINAL:
                op.completed_at = now()
        if percentage is not None:
            op.progress_percent = max(0.0, min(100.0, percentage))
        if current_step is not None:
            op.current_step = current_step
        if steps_completed is not None or steps_total is not None:
            steps = dict((op.metadata_ or {}).get("steps", {}))
            if steps_completed is not None:
                steps["completed"] = steps_completed
            if steps_total is not None:
                steps["total"] = steps_total
            op.metadata_ = {**(op.metadata_ or {}), "steps": steps}
        if result is not None:
            op.result = result
        if error_message is not None:
            op.error_message = error_message
        return operation_body(op)


def cancel_operation(engine: Engine, operation_id: str) -> dict[str, Any]:
    """Mark an active operation cancelled; a finished one cannot be (OperationFinished)."""
    with _locked_operation(engine, operation_id) as op:
        if op.status in TERMINAL:
            raise OperationFinished(op)
        op.status = OperationStatus.CANCELLED
        op.completed_at = now()
        op.current_step = "cancelled"
        return operation_body(op)


def save_checkpoint(engine: Engine, operation_id: str, state: dict[str, Any]) -> None:
    """Keep where an interrupted operation got to (the operation_checkpoints table)."""
    with Session(engine) as session, session.begin():
        if session.get(Operation, operation_id) is None:
            raise OperationNotFound(operation_id)
        session.add(OperationCheckpoint(operation_id=operation_id, created_at=now(),
                                        state=state))
