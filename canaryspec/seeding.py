"""Market data the suite writes into a canary's own data volume, for platforms whose canary
expects host folders (the real platform bind-mounts `data/`, `models/`, `strategies/`).

The series are deterministic (a seeded random walk per symbol), so every run trains and
backtests on the same bars, and nothing is downloaded. tradelab seeds its canary itself (its
`seed-data` service); the suite never imports the platform's generator.
"""

from __future__ import annotations

import io
import math
import random
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

STEP = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
# Where a symbol's walk starts: near its real level, so prices look like prices.
START_PRICE = {"EURUSD": 1.10, "GBPUSD": 1.27, "USDJPY": 145.0, "AAPL": 185.0}


@dataclass(frozen=True)
class MarketData:
    """What a platform's data folder must hold: which series, which dates, which file layout."""

    symbols: tuple[str, ...]
    timeframes: tuple[str, ...]
    start: date
    end: date
    file_name: str = "{symbol}_{timeframe}.csv"
    header: str = "timestamp,open,high,low,close,volume"

    def files(self) -> Iterator[tuple[str, bytes]]:
        """(file name, CSV bytes) for every symbol and timeframe."""
        for symbol in self.symbols:
            for timeframe in self.timeframes:
                name = self.file_name.format(symbol=symbol, timeframe=timeframe)
                yield name, self.csv(symbol, timeframe).encode()

    def csv(self, symbol: str, timeframe: str) -> str:
        """Weekday bars of a seeded random walk: timestamp (UTC), open, high, low, close,
        volume."""
        rng = random.Random(f"{symbol}/{timeframe}")
        price = START_PRICE.get(symbol, 100.0)
        decimals = 5 if price < 10 else 3
        step = STEP[timeframe]
        # Hourly volatility of about 0.1 %, scaled to the bar length.
        sigma = 0.001 * math.sqrt(step / timedelta(hours=1))
        lines = [self.header]
        when = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        stop = datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)
        while when < stop:
            if when.weekday() < 5:
                open_ = price
                close = max(open_ * math.exp(rng.gauss(0.0, sigma)), 10 ** -decimals)
                high = max(open_, close) * (1 + abs(rng.gauss(0.0, sigma / 2)))
                low = min(open_, close) * (1 - abs(rng.gauss(0.0, sigma / 2)))
                volume = rng.randint(1000, 9000)
                lines.append(f"{when:%Y-%m-%d %H:%M:%S}+00:00,{open_:.{decimals}f},"
                             f"{high:.{decimals}f},{low:.{decimals}f},{close:.{decimals}f},"
                             f"{volume}")
                price = close
            when += step
        return "\n".join(lines) + "\n"


def tar_of(files: Iterator[tuple[str, bytes]]) -> bytes:
    """A tar of the files (owned by root, readable by everyone), for `put_archive`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
