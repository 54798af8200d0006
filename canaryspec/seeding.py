"""Market data the suite writes into a canary's own data volume: an oracle, not just bars.

The series are deterministic, so every run trains and backtests on the same bars, and nothing
is downloaded. Two symbols carry **planted patterns** whose right answer the suite knows
(docs/market-data.md):

- EURUSD *reverses every bar* inside the planted periods (the training quarter, 2024-01-01 to
  2024-04-01, and the backtest month, 2024-07-01 to 2024-08-01) and *trends* (runs of 3 to 7
  bars the same way, alternately up and down) everywhere else;
- GBPUSD is the mirror: it trends inside the planted periods and reverses everywhere else.

A model that learned "reverses" trades every bar of a "reverses" stretch at a profit and loses
on a "trends" one, and the other way round. So a backtest's sign says which data the model was
trained on and which data the backtest replayed: a training on the wrong dates or symbol, a
saved model that is not the trained one, or a backtest of another model or market gives the
opposite answer (canaryspec.jobs.KnownAnswer). Other symbols are a seeded random walk.
The suite writes these files for every profile, and never imports the platform's generator.
"""

from __future__ import annotations

import io
import math
import random
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from canaryspec import needs
from canaryspec.needs import Need

STEP = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
# Where a symbol's walk starts: near its real level, so prices look like prices.
START_PRICE = {"EURUSD": 1.10, "GBPUSD": 1.27, "USDJPY": 145.0, "AAPL": 185.0}

Pattern = Literal["reverses", "trends"]


@dataclass(frozen=True)
class Period:
    """A named stretch of the calendar the features speak of: [start, end)."""

    name: str
    start: date
    end: date

    def contains(self, when: datetime) -> bool:
        return self.start <= when.date() < self.end


# The periods the planted patterns hang on, by the names the features use.
PERIODS = {p.name: p for p in (
    Period("the training quarter", date(2024, 1, 1), date(2024, 4, 1)),
    Period("the following quarter", date(2024, 4, 1), date(2024, 7, 1)),
    Period("the backtest month", date(2024, 7, 1), date(2024, 8, 1)),
    # Its latest fifth of rows lies where EURUSD and GBPUSD have turned: what a training tests
    # its model on (tradelab holds out the latest fifth) is the other pattern.
    Period("the training quarter and the four weeks after it", date(2024, 1, 1),
           date(2024, 4, 29)),
    # All of tradelab's seeded market data (2023-01-02 to 2025-01-01).
    Period("the two years of market data", date(2023, 1, 2), date(2025, 1, 1)),
    # Past every profile's market data (both end on 2025-01-01): a period with no bars.
    Period("a month after the market data ends", date(2025, 6, 1), date(2025, 7, 1)),
)}
PLANTED_PERIODS = (PERIODS["the training quarter"], PERIODS["the backtest month"])
# Each planted symbol's pattern inside the planted periods; outside them, the other one.
PLANTED: dict[str, Pattern] = {"EURUSD": "reverses", "GBPUSD": "trends"}
# One bar's move in a planted stretch: large enough that the right model profits on each
# trade and the wrong one loses on most.
PLANTED_MOVE = (0.003, 0.005)


def other(pattern: Pattern) -> Pattern:
    return "trends" if pattern == "reverses" else "reverses"


def planted_pattern(symbol: str, period: Period) -> Pattern:
    """The pattern `symbol`'s bars follow throughout `period` (a planted symbol and a period
    wholly inside or wholly outside the planted ones)."""
    needs.used(Need.MARKET_DATA)
    if symbol not in PLANTED:
        raise KeyError(f"{symbol} carries no planted pattern (planted: {', '.join(PLANTED)})")
    inside = [p for p in PLANTED_PERIODS if p.start <= period.start and period.end <= p.end]
    overlaps = [p for p in PLANTED_PERIODS if p.start < period.end and period.start < p.end]
    if overlaps and not inside:
        raise ValueError(f"{period.name} straddles a planted period: no single pattern holds")
    return PLANTED[symbol] if inside else other(PLANTED[symbol])


class _PlantedMoves:
    """The sign and size of each next bar of a planted symbol: reverse the last move, or keep
    it for a run of 3 to 7 bars, runs alternating up and down (so prices stay near their
    level)."""

    def __init__(self, symbol: str, rng: random.Random):
        self.symbol, self.rng, self.sign, self.run_left = symbol, rng, 1, 0

    def next(self, when: datetime) -> float:
        inside = any(p.contains(when) for p in PLANTED_PERIODS)
        pattern = PLANTED[self.symbol] if inside else other(PLANTED[self.symbol])
        if pattern == "reverses":
            self.sign, self.run_left = -self.sign, 0
        else:
            if self.run_left == 0:
                self.sign, self.run_left = -self.sign, self.rng.randint(3, 7)
            self.run_left -= 1
        return self.sign * self.rng.uniform(*PLANTED_MOVE)


# "A long training", unless a profile's market data says otherwise (two years of hourly bars).
LONG_TRAINING = ("2023-01-02", "2024-12-31")


@dataclass(frozen=True)
class MarketData:
    """What a platform's data folder must hold: which series, which dates, which file layout."""

    symbols: tuple[str, ...]
    timeframes: tuple[str, ...]
    start: date
    end: date
    file_name: str = "{symbol}_{timeframe}.csv"
    header: str = "timestamp,open,high,low,close,volume"
    # The dates of "a long training": long enough to watch progress, find the worker busy,
    # cancel mid-run and outlive the platform's orphan window (its timeout and two checks).
    long_training: tuple[str, str] = LONG_TRAINING

    def files(self, folder: str = "") -> Iterator[tuple[str, bytes]]:
        """(file name, CSV bytes) for every symbol and timeframe, under `folder` if given."""
        prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
        for symbol in self.symbols:
            for timeframe in self.timeframes:
                name = self.file_name.format(symbol=symbol, timeframe=timeframe)
                yield prefix + name, self.csv(symbol, timeframe).encode()

    def csv(self, symbol: str, timeframe: str) -> str:
        """Weekday bars: timestamp (UTC), open, high, low, close, volume. A planted symbol's
        closes follow its pattern (above); any other's are a seeded random walk."""
        rng = random.Random(f"{symbol}/{timeframe}")
        planted = _PlantedMoves(symbol, rng) if symbol in PLANTED else None
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
                change = planted.next(when) if planted else math.exp(rng.gauss(0.0, sigma)) - 1
                close = max(open_ * (1 + change), 10 ** -decimals)
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
    """A tar of the files and their folders (owned by root, readable by everyone), for
    `put_archive`."""
    buffer = io.BytesIO()
    folders: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files:
            parts = name.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
                    folders.add(folder)
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
