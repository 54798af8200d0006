"""Starting training and backtest jobs: validate, persist, dispatch to a worker of the type.

Every check that can refuse a request runs before anything is written, so a refused request
leaves the operations table as it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, HTTPException
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from tradelab import names
from tradelab.backend import operations
from tradelab.backend.deps import DispatchLockDep, EngineDep, RegistryDep, SettingsDep
from tradelab.backend.dispatch import DispatchFailed, NoWorkerAvailable, choose_worker, send_job
from tradelab.backend.registry import Worker, WorkerRegistry, WorkerType
from tradelab.db.session import DATABASE_UNAVAILABLE
from tradelab.errors import Refused, documented, require_json
from tradelab.marketdata import data_file
from tradelab.settings import BackendSettings
from tradelab.strategy_files import (
    StrategyNotFound,
    default_symbols,
    default_timeframes,
    load_strategy,
    strategy_path,
)

router = APIRouter(tags=["jobs"])

# When a training request names no range: half a year of hourly bars trains in seconds.
DEFAULT_TRAINING_RANGE = ("2024-01-01", "2024-07-01")


# The longest date or date-time a request may carry (the document says so too).
MAX_WHEN = 40


def _parse_when(value: Any) -> Any:
    """ISO dates or datetimes; a naive value is UTC. Anything else is the validator's error."""
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) > MAX_WHEN:
        raise ValueError("must be an ISO-8601 date such as 2024-01-31")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        # Only the start of what was sent: an answer never repeats a megabyte back.
        raise ValueError(f"{value[:40]!r} is not an ISO-8601 date such as 2024-01-31") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


When = Annotated[datetime, BeforeValidator(_parse_when), AfterValidator(names.in_range),
                 WithJsonSchema({"type": "string", "maxLength": MAX_WHEN,
                                 "description": "ISO-8601 date or date-time, "
                                                f"{names.EARLIEST.date()} to "
                                                f"{names.LATEST.date()} (exclusive)"})]
# Every name that becomes a path or a query: its pattern and its length first (tradelab.names).
StrategyName = Annotated[str, Field(min_length=1, max_length=names.MAX_STRATEGY,
                                    pattern=names.STRATEGY)]
Symbol = Annotated[str, Field(min_length=1, max_length=names.MAX_SYMBOL, pattern=names.SYMBOL)]
Timeframe = Annotated[str, Field(min_length=1, max_length=names.MAX_TIMEFRAME,
                                 pattern=names.TIMEFRAME)]


class _JobRequest(BaseModel):
    # NaN and the infinities are no amounts: refused here, not met later by the database.
    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("end_date", check_fields=False)
    @classmethod
    def _after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start_date")
        if start is not None and end is not None and start >= end:
            raise ValueError(f"must be after start_date {start.date()} (end_date {end.date()})")
        return end


class TrainingRequest(_JobRequest):
    strategy_name: StrategyName
    symbols: list[Symbol] | None = Field(default=None, min_length=1,
                                         max_length=names.MAX_SYMBOLS)
    timeframes: list[Timeframe] | None = Field(default=None, min_length=1,
                                               max_length=names.MAX_TIMEFRAMES)
    start_date: When | None = None
    end_date: When | None = None


class BacktestRequest(_JobRequest):
    strategy_name: StrategyName
    start_date: When
    end_date: When
    symbol: Symbol | None = None
    timeframe: Timeframe | None = None
    initial_capital: float = Field(default=100_000.0, gt=0, le=1e12)
    commission: float = Field(default=0.001, ge=0, lt=1)
    slippage: float = Field(default=0.0005, ge=0, lt=1)
    # Where it may point is the route's check: inside the models volume.
    model_path: str | None = Field(default=None, min_length=1, max_length=names.MAX_MODEL_PATH,
                                   pattern=names.MODEL_PATH)


def _strategy(settings: BackendSettings, name: str) -> tuple[Path, dict[str, Any]]:
    try:
        return strategy_path(settings.strategies_dir, name), load_strategy(
            settings.strategies_dir, name)
    except StrategyNotFound as exc:
        raise Refused(400, str(exc), field="strategy_name") from None


def _require_data(settings: BackendSettings, symbols: list[str], timeframes: list[str],
                  field: str) -> None:
    missing = [f"{s} {tf}" for s in symbols for tf in timeframes
               if not data_file(settings.data_dir, s, tf).is_file()]
    if missing:
        available = sorted(p.stem.replace("_", " ") for p in settings.data_dir.glob("*.csv"))
        raise Refused(400, f"No market data for {', '.join(missing)}. Available: "
                           f"{', '.join(available) or 'none (is the data volume seeded?)'}",
                      field=field)


def _model_path(settings: BackendSettings, asked: str) -> str:
    """The model path asked for, normalised, if it lies inside the models volume (a relative
    path is taken from there); a path that leaves it is refused before any worker sees it."""
    try:
        return str(names.inside(settings.models_dir, asked))
    except ValueError:
        shown = asked if len(asked) <= 60 else asked[:59] + "…"
        raise Refused(422, f"model_path {shown!r} must lie inside the models volume "
                           f"{settings.models_dir}", field="model_path") from None


@dataclass
class Dispatcher:
    """Hands a job to a worker: reserve one, record the operation, send it; undo on failure."""

    engine: Engine
    registry: WorkerRegistry
    lock: asyncio.Lock

    async def dispatch(self, worker_type: WorkerType, operation_id: str,
                       metadata: dict[str, Any], path: str, payload: dict[str, Any]) -> Worker:
        # Choosing a worker and marking it busy is one step: two requests never get the same one.
        async with self.lock:
            try:
                worker = choose_worker(self.registry, worker_type)
            except NoWorkerAvailable as exc:
                raise HTTPException(status_code=503, detail=exc.detail) from None
            self.registry.assign(worker.worker_id, operation_id)
        metadata = {**metadata, "worker_type": worker_type.value, "worker_id": worker.worker_id}
        try:
            await run_in_threadpool(operations.create_operation, self.engine, operation_id,
                                    worker_type.value, worker.worker_id, metadata)
        except DATABASE_UNAVAILABLE as exc:
            self.registry.release(worker.worker_id, operation_id)
            raise HTTPException(status_code=503, detail=(
                "Database unavailable or not migrated (run `alembic upgrade head`): "
                f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}")) from None
        except BaseException:
            # Anything else is no database outage: the worker is freed and the error is
            # answered as what it is (a 500 in the error shape), not as "database unavailable".
            self.registry.release(worker.worker_id, operation_id)
            raise
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                await send_job(client, worker, path, {"task_id": operation_id, **payload})
        except DispatchFailed as exc:
            if not exc.worker_busy:  # a busy worker stays busy until its own job ends
                self.registry.release(worker.worker_id, operation_id)
            await run_in_threadpool(operations.update_operation, self.engine, operation_id,
                                    status=operations.OperationStatus.FAILED,
                                    error_message=str(exc))
            raise HTTPException(status_code=502, detail=str(exc)) from None
        await run_in_threadpool(operations.update_operation, self.engine, operation_id,
                                status=operations.OperationStatus.RUNNING)
        return worker


def get_dispatcher(engine: EngineDep, registry: RegistryDep,
                   lock: DispatchLockDep) -> Dispatcher:
    return Dispatcher(engine, registry, lock)


DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]


# async: starting a job waits on the worker over HTTP; its database steps run in the threadpool.
@router.post("/trainings/start", dependencies=[Depends(require_json)],
             responses=documented(400, 413, 415, 422, 502, 503))
async def start_training(body: TrainingRequest, settings: SettingsDep,
                         dispatcher: DispatcherDep) -> dict[str, Any]:
    """Train a strategy's model on a training worker."""
    path, strategy = _strategy(settings, body.strategy_name)
    symbols = body.symbols or default_symbols(strategy)
    timeframes = body.timeframes or default_timeframes(strategy)
    _require_data(settings, symbols, timeframes, "symbols")
    start = body.start_date or _parse_when(DEFAULT_TRAINING_RANGE[0])
    end = body.end_date or _parse_when(DEFAULT_TRAINING_RANGE[1])
    if start >= end:
        field = "end_date" if body.end_date else "start_date"
        raise Refused(422, f"start_date {start.date()} must be before end_date {end.date()}",
                      field=field)
    operation_id = operations.new_operation_id("training")
    metadata = {"strategy_name": body.strategy_name, "symbols": symbols,
                "timeframes": timeframes, "symbol": symbols[0],
                "start_date": start.isoformat(), "end_date": end.isoformat()}
    worker = await dispatcher.dispatch(WorkerType.TRAINING, operation_id, metadata,
                                       "/training/start", {
                                 "strategy_name": body.strategy_name,
                                 "strategy_yaml": path.read_text(), "symbols": symbols,
                                 "timeframes": timeframes, "start_date": start.isoformat(),
                                 "end_date": end.isoformat()})
    return {"success": True, "task_id": operation_id, "status": "training_started",
            "message": f"Training of {body.strategy_name} started on {worker.worker_id}",
            "symbols": symbols, "timeframes": timeframes, "strategy_name": body.strategy_name,
            "estimated_duration_minutes": 1}


@router.post("/backtests/start", dependencies=[Depends(require_json)],
             responses=documented(400, 413, 415, 422, 502, 503))
async def start_backtest(body: BacktestRequest, settings: SettingsDep,
                         dispatcher: DispatcherDep) -> dict[str, Any]:
    """Replay a trained model over a date range on a backtesting worker."""
    _, strategy = _strategy(settings, body.strategy_name)
    symbol = body.symbol or default_symbols(strategy)[0]
    timeframe = body.timeframe or default_timeframes(strategy)[0]
    _require_data(settings, [symbol], [timeframe], "symbol")
    # Where the model is, the backend checks (inside the models volume); whether it exists and
    # is a model, the worker finds out (as the real platform).
    model_path = _model_path(settings, body.model_path) if body.model_path else \
        str(settings.models_dir / body.strategy_name / "latest.pt")
    operation_id = operations.new_operation_id("backtesting")
    metadata = {"strategy_name": body.strategy_name, "symbol": symbol, "timeframe": timeframe,
                "start_date": body.start_date.isoformat(), "end_date": body.end_date.isoformat(),
                "initial_capital": body.initial_capital, "model_path": model_path}
    await dispatcher.dispatch(WorkerType.BACKTESTING, operation_id, metadata, "/backtests/start", {
        "symbol": symbol, "timeframe": timeframe, "strategy_name": body.strategy_name,
        "start_date": body.start_date.isoformat(), "end_date": body.end_date.isoformat(),
        "initial_capital": body.initial_capital, "commission": body.commission,
        "slippage": body.slippage, "model_path": model_path})
    return {"success": True, "operation_id": operation_id, "status": "started",
            "message": f"Backtest of {body.strategy_name} on {symbol} {timeframe} started",
            "symbol": symbol, "timeframe": timeframe, "mode": "remote"}
