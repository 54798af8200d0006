"""Operations nobody works on any more are failed, not left "running" forever.

The contract: a `running` operation that no worker claims is marked `failed` after 60 s. A
worker claims an operation while the registry shows it busy with that operation; a worker that
crashed, was replaced, or finished without its final report getting through claims nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tradelab.backend.operations import ACTIVE, OperationStatus, update_operation
from tradelab.backend.registry import WorkerRegistry
from tradelab.db.models import Operation

log = logging.getLogger("tradelab.sweeper")


class UnclaimedOperations:
    """Remembers since when each active operation has been unclaimed."""

    def __init__(self, *, fail_after_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self._fail_after_s = fail_after_s
        self._clock = clock
        self._unclaimed_since: dict[str, float] = {}

    def overdue(self, active: dict[str, str | None], registry: WorkerRegistry) -> list[str]:
        """Of the active operations (id -> worker id), those unclaimed for too long."""
        now = self._clock()
        overdue = []
        for operation_id, worker_id in active.items():
            worker = registry.get(worker_id or "")
            if worker is not None and worker.current_operation_id == operation_id:
                self._unclaimed_since.pop(operation_id, None)
                continue
            since = self._unclaimed_since.setdefault(operation_id, now)
            if now - since >= self._fail_after_s:
                overdue.append(operation_id)
        for gone in set(self._unclaimed_since) - set(active):
            del self._unclaimed_since[gone]
        return overdue


def active_operations(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as session:
        rows = session.execute(select(Operation.operation_id, Operation.worker_id).where(
            Operation.status.in_([s.value for s in ACTIVE]))).all()
    return {operation_id: worker_id for operation_id, worker_id in rows}


async def fail_unclaimed_forever(engine: Engine, registry: WorkerRegistry, *,
                                 interval_s: float, fail_after_s: float = 60.0) -> None:
    """Every `interval_s`, fail the operations no worker has claimed for `fail_after_s`."""
    unclaimed = UnclaimedOperations(fail_after_s=fail_after_s)
    while True:
        try:
            active = await run_in_threadpool(active_operations, engine)
            for operation_id in unclaimed.overdue(active, registry):
                log.warning("failing %s: no worker has claimed it for %.0f s", operation_id,
                            fail_after_s)
                await run_in_threadpool(
                    update_operation, engine, operation_id, status=OperationStatus.FAILED,
                    error_message=f"No worker claimed this operation for {fail_after_s:.0f} s "
                                  "(its worker stopped or was replaced)")
        except Exception as exc:  # an unmigrated or unreachable database: try again later
            log.debug("sweep skipped: %s", exc)
        await asyncio.sleep(interval_s)  # poll: the sweep's cadence
