"""The training worker: trains strategy models with torch."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import yaml
from fastapi import FastAPI
from pydantic import BaseModel, Field

from tradelab import names as rules
from tradelab.marketdata import data_file, read_series
from tradelab.ml.training import train
from tradelab.settings import WorkerSettings
from tradelab.workers.jobs import Progress, create_job_worker_app


class TrainingJob(BaseModel):
    """A training as the backend hands it over; the names are checked again here (the task id
    and the strategy name become a file name on the models volume)."""

    task_id: str = Field(min_length=1, max_length=rules.MAX_IDENTIFIER, pattern=rules.IDENTIFIER)
    strategy_name: str = Field(default="", description="stem of the strategy file",
                               max_length=rules.MAX_STRATEGY)
    strategy_yaml: str = Field(max_length=1_000_000)
    symbols: list[Annotated[str, Field(max_length=rules.MAX_SYMBOL, pattern=rules.SYMBOL)]] = \
        Field(min_length=1, max_length=rules.MAX_SYMBOLS)
    timeframes: list[Annotated[str, Field(max_length=rules.MAX_TIMEFRAME,
                                          pattern=rules.TIMEFRAME)]] = \
        Field(min_length=1, max_length=rules.MAX_TIMEFRAMES)
    start_date: datetime
    end_date: datetime


def training_job(settings: WorkerSettings) -> Callable[..., dict[str, Any]]:
    def run(payload: dict[str, Any], on_progress: Callable[[Progress], None],
            cancel: threading.Event) -> dict[str, Any]:
        job = TrainingJob(**payload)
        strategy = yaml.safe_load(job.strategy_yaml)
        # The folder its model goes to: a plain name, whether it came from the request or the
        # strategy's own file.
        name = rules.check("strategy", job.strategy_name or strategy["name"])
        on_progress(Progress(0.0, "loading market data"))
        series, names = [], []
        for symbol in job.symbols:
            for timeframe in job.timeframes:
                names.append({"symbol": symbol, "timeframe": timeframe})
                path = data_file(settings.data_dir, symbol, timeframe)
                if not path.is_file():
                    raise FileNotFoundError(f"No market data for {symbol} {timeframe}: {path}")
                series.append(read_series(path, job.start_date, job.end_date))
        model_dir = settings.models_dir / name
        model_path = model_dir / f"{job.task_id}.pt"

        def on_epoch(epoch: int, epochs: int, loss: float) -> None:
            on_progress(Progress(100.0 * epoch / epochs * 0.99, f"epoch {epoch}/{epochs} "
                                 f"(loss {loss:.4f})", epoch, epochs))

        outcome = train(series, strategy, model_path, on_epoch=on_epoch, cancel=cancel)
        # `latest.pt` is what a backtest uses when it names no model (copied, then renamed, so a
        # reader never sees half a file).
        latest = model_dir / "latest.pt"
        shutil.copyfile(model_path, latest.with_suffix(".copying"))
        latest.with_suffix(".copying").replace(latest)
        return {"model_path": str(model_path), "latest_model_path": str(latest),
                "strategy_name": name, "symbols": job.symbols, "timeframes": job.timeframes,
                "training_metrics": outcome.training_metrics,
                "test_metrics": outcome.test_metrics,
                "learned_from": [name | rows for name, rows in zip(names, outcome.learned_from,
                                                                   strict=True)]}

    return run


def create_app(settings: WorkerSettings) -> FastAPI:
    """The training worker's app."""
    return create_job_worker_app("training", settings, "/training/start", TrainingJob,
                                 training_job(settings))
