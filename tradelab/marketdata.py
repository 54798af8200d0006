"""Deterministic OHLCV market data, so an isolated canary needs no downloads.

Series are a seeded random walk per (symbol, timeframe): the same inputs give the same bytes,
on any machine. Files are `DATA_DIR/<SYMBOL>_<TIMEFRAME>.csv`, as on the real platform.
Pure Python on purpose: the backend (no numpy) reads these files too.
"""

from __future__ import annotations

import csv
import hashlib
import math
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tradelab import names

SYMBOLS = {"EURUSD": 1.10, "AAPL": 180.0}
TIMEFRAMES = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
START = datetime(2023, 1, 2, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Bar:
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


def data_file(data_dir: Path, symbol: str, timeframe: str) -> Path:
    """The file of a series; a symbol or timeframe that is no plain name (a path, a NUL byte, a
    megabyte) is refused here too, whoever forgot to check it first."""
    return data_dir / f"{names.check('symbol', symbol)}_{names.check('timeframe', timeframe)}.csv"


def generate(symbol: str, timeframe: str, start: datetime = START,
             end: datetime = END) -> Iterator[Bar]:
    """A reproducible random walk with drift and mild mean reversion (something to learn)."""
    seed = int(hashlib.sha256(f"{symbol}/{timeframe}".encode()).hexdigest()[:12], 16)
    rng = random.Random(seed)
    step = TIMEFRAMES[timeframe]
    volatility = 0.002 * math.sqrt(step / timedelta(hours=1))
    price, anchor = SYMBOLS[symbol], SYMBOLS[symbol]
    t = start
    while t < end:
        drift = 0.05 * (anchor - price) / anchor * volatility
        change = rng.gauss(drift, volatility)
        open_ = price
        close = max(0.0001, price * (1 + change))
        high = max(open_, close) * (1 + abs(rng.gauss(0, volatility / 2)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, volatility / 2)))
        yield Bar(t, round(open_, 6), round(high, 6), round(low, 6), round(close, 6),
                  round(rng.uniform(1_000, 10_000), 2))
        price = close
        anchor = anchor * (1 + rng.gauss(0, volatility / 10))
        t += step


def write_series(data_dir: Path, symbol: str, timeframe: str) -> Path:
    path = data_file(data_dir, symbol, timeframe)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for bar in generate(symbol, timeframe):
            writer.writerow([bar.timestamp.isoformat(), bar.open, bar.high, bar.low, bar.close,
                             bar.volume])
    tmp.replace(path)  # readers never see a half-written file
    return path


def read_series(path: Path, start: datetime | None = None,
                end: datetime | None = None) -> list[Bar]:
    """Bars of a data file within [start, end)."""
    bars = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            ts = datetime.fromisoformat(row["timestamp"])
            if (start and ts < start) or (end and ts >= end):
                continue
            bars.append(Bar(ts, float(row["open"]), float(row["high"]), float(row["low"]),
                            float(row["close"]), float(row["volume"])))
    return bars


def seed(data_dir: Path) -> list[Path]:
    """Write every symbol and timeframe that `data_dir` (the canary's data volume) does not
    hold yet: data already provided (a test suite's known-answer series) is kept."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return [write_series(data_dir, s, tf) for s in SYMBOLS for tf in TIMEFRAMES
            if not data_file(data_dir, s, tf).exists()]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/mnt/ktrdr_data/data")
    for written in seed(target):
        print(f"seeded {written}")
