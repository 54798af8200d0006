"""The backtesting worker: replays a trained model over market data."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from tradelab import names
from tradelab.marketdata import data_file, read_series
from tradelab.ml.backtest import backtest
from tradelab.ml.training import Cancelled
from tradelab.settings import WorkerSettings
from tradelab.workers.jobs import Progress, create_job_worker_app


class BacktestJob(BaseModel):
    """A backtest as the backend hands it over. The worker checks the names again: its port is
    reachable without the backend's checks in front of it."""

    model_config = ConfigDict(allow_inf_nan=False)

    task_id: str = Field(min_length=1, max_length=names.MAX_IDENTIFIER, pattern=names.IDENTIFIER)
    symbol: str = Field(max_length=names.MAX_SYMBOL, pattern=names.SYMBOL)
    timeframe: str = Field(max_length=names.MAX_TIMEFRAME, pattern=names.TIMEFRAME)
    strategy_name: str = Field(max_length=names.MAX_STRATEGY, pattern=names.STRATEGY)
    start_date: datetime
    end_date: datetime
    initial_capital: float = Field(default=100_000.0, gt=0)
    commission: float = Field(default=0.001, ge=0, lt=1)
    slippage: float = Field(default=0.0005, ge=0, lt=1)
    model_path: str = Field(max_length=names.MAX_MODEL_PATH, pattern=names.MODEL_PATH)


def within_models(settings: WorkerSettings, asked: str) -> Path:
    """The model file asked for, if it lies inside the models volume once links are followed
    (a link inside the volume that points out of it is out of it); else PermissionError. The
    backend checks the path first; this worker's port is reachable without it."""
    try:
        return names.inside(settings.models_dir, asked, follow_links=True)
    except ValueError:
        raise PermissionError(f"Model path {asked} is outside the models volume "
                              f"{settings.models_dir}: not loaded") from None


def backtest_job(settings: WorkerSettings) -> Callable[..., dict[str, Any]]:
    def run(payload: dict[str, Any], on_progress: Callable[[Progress], None],
            cancel: threading.Event) -> dict[str, Any]:
        job = BacktestJob(**payload)
        model_path = within_models(settings, job.model_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"Model not found: {model_path} (train {job.strategy_name} "
                                    "first, or name an existing model_path)")
        on_progress(Progress(0.0, "loading market data"))
        path = data_file(settings.data_dir, job.symbol, job.timeframe)
        if not path.is_file():
            raise FileNotFoundError(f"No market data for {job.symbol} {job.timeframe}: {path}")
        bars = read_series(path, job.start_date, job.end_date)
        if len(bars) < 2:
            raise ValueError(f"only {len(bars)} bars of {job.symbol} {job.timeframe} between "
                             f"{job.start_date.date()} and {job.end_date.date()}")

        def on_bars(percentage: float) -> None:
            if cancel.is_set():
                raise Cancelled(f"cancelled at {percentage:.0f}% of the bars")
            on_progress(Progress(percentage * 0.99, f"simulating {job.symbol} {job.timeframe}",
                                 int(percentage), 100))

        metrics = backtest(bars, model_path, initial_capital=job.initial_capital,
                           commission=job.commission, slippage=job.slippage, on_progress=on_bars)
        checksum = metrics.pop("model_sha256")
        decided = {key: metrics.pop(key) for key in ("rows", "first", "last", "trades")}
        return {"metrics": metrics, "symbol": job.symbol, "timeframe": job.timeframe,
                "strategy_name": job.strategy_name, "model_path": str(model_path),
                "model_sha256": checksum, "bars": len(bars), **decided}

    return run


def create_app(settings: WorkerSettings) -> FastAPI:
    """The backtesting worker's app."""
    return create_job_worker_app("backtesting", settings, "/backtests/start", BacktestJob,
                                 backtest_job(settings))
