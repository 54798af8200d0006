"""What a correct platform answers on the bars the suite seeded: the suite's own arithmetic.

The suite wrote the market data (canaryspec.seeding), so it can work out, bar by bar, what a
training must have learned from and what a backtest's trades must have earned. Two answers:

- **What a training learned from** (`expected_learning`): the rows a series gives the model
  (every bar of the requested range whose inputs are all defined, except the last, whose next
  bar is unknown), the first and last of them, the share whose next bar rose, and each input's
  mean and spread over them. A platform that trains on other dates, another symbol, a
  mis-computed indicator or a shifted window reports other figures.
- **What a backtest's trades earned** (`expected_metrics`): replaying the trades the backtest
  reports over the same bars, at the costs the suite asked for, gives every metric it must
  report. A platform that computes a metric wrongly, charges other costs or trades on other
  bars reports other figures.

The inputs, by the names a strategy gives them (docs/market-data.md):
`rsi_N` — Wilder's relative strength index over N bars, as a fraction (0-1);
`sma_N` — the close's distance from its N-bar simple mean, in percent;
`return_1` — the last bar's return, in percent.
This module never imports the platform: it is the definition the platform is held to.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from canaryspec import needs
from canaryspec.needs import Need
from canaryspec.seeding import MarketData, Period

INPUT_NAME = re.compile(r"^(?:(rsi|sma)_(\d+)|return_1)$")


@dataclass(frozen=True)
class SeededBar:
    timestamp: datetime
    close: float


def seeded_bars(data: MarketData, symbol: str, timeframe: str, period: Period) -> list[SeededBar]:
    """The bars the suite seeded for `symbol` within [period.start, period.end)."""
    needs.used(Need.MARKET_DATA)
    bars = []
    for line in data.csv(symbol, timeframe).splitlines()[1:]:
        fields = line.split(",")
        when = datetime.fromisoformat(fields[0])
        if period.start <= when.date() < period.end:
            bars.append(SeededBar(when, float(fields[4])))
    return bars


def _rsi(closes: Sequence[float], n: int) -> list[float | None]:
    """Wilder's RSI: the first average gain and loss are plain means of the first n moves,
    every later one moves 1/n of the way to the new move; defined from the n-th move on."""
    moves = [b - a for a, b in itertools.pairwise(closes)]
    values: list[float | None] = [None] * len(closes)
    if len(moves) < n:
        return values
    up = sum(m for m in moves[:n] if m > 0) / n
    down = sum(-m for m in moves[:n] if m < 0) / n
    for at in range(n, len(closes)):
        if at > n:
            move = moves[at - 1]
            up = (up * (n - 1) + max(move, 0.0)) / n
            down = (down * (n - 1) + max(-move, 0.0)) / n
        values[at] = 1.0 if down == 0 else 1.0 - 1.0 / (1.0 + up / down)
    return values


def _sma_distance(closes: Sequence[float], n: int) -> list[float | None]:
    return [None if at < n - 1 else
            (closes[at] / (sum(closes[at - n + 1:at + 1]) / n) - 1.0) * 100.0
            for at in range(len(closes))]


def input_values(name: str, closes: Sequence[float]) -> list[float | None]:
    """One input, bar by bar (None before it is defined), by its strategy name."""
    match = INPUT_NAME.match(name)
    if not match:
        raise ValueError(f"the suite does not know the input {name!r} (it knows rsi_N, sma_N "
                         f"and return_1)")
    kind, n = match.group(1), int(match.group(2) or 1)
    if kind == "rsi":
        return _rsi(closes, n)
    if kind == "sma":
        return _sma_distance(closes, n)
    return [None] + [(b / a - 1.0) * 100.0 for a, b in itertools.pairwise(closes)]


def decided_rows(bars: Sequence[SeededBar], inputs: Sequence[str]) \
        -> tuple[list[int], dict[str, list[float | None]]]:
    """The bars a model is given (every input defined, a next bar to come) and the inputs."""
    closes = [b.close for b in bars]
    columns = {name: input_values(name, closes) for name in inputs}
    rows = [at for at in range(len(bars) - 1)
            if all(columns[name][at] is not None for name in inputs)]
    return rows, columns


def _mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def expected_learning(bars: Sequence[SeededBar], inputs: Sequence[str]) -> dict[str, Any]:
    """What a training on `bars` with these inputs learns from (the shape the platform
    reports: rows, first, last, rising, inputs{name: {mean, std}})."""
    rows, columns = decided_rows(bars, inputs)
    if not rows:
        return {"rows": 0}
    stats = {}
    for name in inputs:
        mean, spread = _mean_and_spread([columns[name][at] for at in rows])  # type: ignore[misc]
        stats[name] = {"mean": mean, "std": spread}
    rising = sum(bars[at + 1].close > bars[at].close for at in rows) / len(rows)
    return {"rows": len(rows), "first": bars[rows[0]].timestamp,
            "last": bars[rows[-1]].timestamp, "rising": rising, "inputs": stats}


def _close(reported: Any, expected: float, places: int) -> bool:
    """Equal to what the platform rounds to `places` decimals (one unit and a half of the
    last place: the two sides round float sums made in different orders)."""
    return isinstance(reported, int | float) and not isinstance(reported, bool) and \
        abs(reported - expected) <= 1.5 * 10 ** -places + 1e-9 * abs(expected)


def _same_time(reported: Any, expected: datetime) -> bool:
    try:
        return datetime.fromisoformat(str(reported)) == expected
    except ValueError:
        return False


def learning_problems(reported: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Each way the training's account of what it learned from differs from the seeded data's,
    in words that say which correspondence broke."""
    problems = []
    if reported.get("rows") != expected["rows"]:
        problems.append(f"it learned from {reported.get('rows')} bars, the requested range "
                        f"gives {expected['rows']} (other dates, or an input defined from "
                        f"another bar)")
    for end in ("first", "last"):
        if expected.get(end) and not _same_time(reported.get(end), expected[end]):
            problems.append(f"its {end} bar was {reported.get(end)}, the requested range's is "
                            f"{expected[end].isoformat()}")
    if "rising" in expected and not _close(reported.get("rising"), expected["rising"], 6):
        problems.append(f"{reported.get('rising')} of its bars were followed by a rise, the "
                        f"seeded data says {expected['rising']:.6f} (the labels it learned are "
                        f"not the next bar's direction)")
    inputs = reported.get("inputs") if isinstance(reported.get("inputs"), Mapping) else {}
    for name, want in expected.get("inputs", {}).items():
        got = inputs.get(name)
        if not isinstance(got, Mapping):
            problems.append(f"it reports no input {name} (its inputs: {sorted(inputs)})")
            continue
        for stat in ("mean", "std"):
            # Six places, not the eight it reports: the model sees its inputs in 32-bit floats.
            if not _close(got.get(stat), want[stat], 6):
                problems.append(f"its input {name} has {stat} {got.get(stat)}, the seeded data "
                                f"gives {want[stat]:.8f}: {name} is not computed as defined, "
                                f"or over other bars")
    extra = sorted(set(inputs) - set(expected.get("inputs", {})))
    if extra:
        problems.append(f"it also learned from {', '.join(extra)}, which the strategy does "
                        f"not name")
    return problems


@dataclass(frozen=True)
class Costs:
    """What a backtest was asked to pay: the capital it starts with and, per trade side, the
    commission and slippage as fractions."""

    initial_capital: float
    commission: float
    slippage: float


def _long_rows(rows: Sequence[int], bars: Sequence[SeededBar],
               trades: Sequence[Mapping[str, Any]]) -> tuple[set[int], list[str]]:
    """The rows the trades held a position over: from the entry bar up to, not including, the
    exit bar (to the end when it never exited); and what in the trades cannot be placed."""
    at_time = {bars[at].timestamp: at for at in rows}
    held: set[int] = set()
    problems: list[str] = []
    previous_exit = -1
    for number, trade in enumerate(trades, 1):
        entry = _row_at(trade.get("entry"), at_time)
        exit_ = None if trade.get("exit") is None else _row_at(trade.get("exit"), at_time)
        if entry is None or (trade.get("exit") is not None and exit_ is None):
            problems.append(f"trade {number} ({trade}) does not enter and exit at bars the "
                            f"backtest decided on")
            continue
        end = exit_ if exit_ is not None else rows[-1] + 1
        if entry <= previous_exit or end <= entry:
            problems.append(f"trade {number} ({trade}) overlaps the one before or ends before "
                            f"it starts")
            continue
        held |= {at for at in rows if entry <= at < end}
        previous_exit = end
    return held, problems


def _row_at(stamp: Any, at_time: Mapping[datetime, int]) -> int | None:
    try:
        return at_time.get(datetime.fromisoformat(str(stamp)))
    except ValueError:
        return None


def expected_metrics(bars: Sequence[SeededBar], inputs: Sequence[str],
                     trades: Sequence[Mapping[str, Any]], costs: Costs) \
        -> tuple[dict[str, Any], list[str]]:
    """The metrics the reported trades earn on `bars` at `costs`, and what in the trades
    does not fit the bars. The definitions (tradelab's, docs/market-data.md): each row it
    holds a position over earns the next bar's return; entering or leaving costs commission +
    slippage of the equity; a trade wins when it leaves with more than it entered with (after
    the entry's cost); Sharpe is the mean over the spread of every row's return (0 when flat)
    times the square root of the rows; drawdown is the largest fall from a peak of equity."""
    rows, _ = decided_rows(bars, inputs)
    if not rows:
        return {"rows": 0}, []
    held, problems = _long_rows(rows, bars, trades)
    cost = costs.commission + costs.slippage
    equity = peak = costs.initial_capital
    drawdown, entry_equity, position, count, wins = 0.0, 0.0, False, 0, 0
    returns = []
    for at in rows:
        if (at in held) != position:
            equity *= 1 - cost
            if not position:
                entry_equity = equity
            else:
                count += 1
                wins += equity > entry_equity
            position = at in held
        earned = bars[at + 1].close / bars[at].close - 1 if position else 0.0
        equity *= 1 + earned
        returns.append(earned)
        peak = max(peak, equity)
        drawdown = max(drawdown, 1 - equity / peak)
    if position:
        count += 1
        wins += equity > entry_equity
    mean, spread = _mean_and_spread(returns)
    return {"rows": len(rows), "first": bars[rows[0]].timestamp, "last": bars[rows[-1]].timestamp,
            "total_return": equity / costs.initial_capital - 1,
            "sharpe_ratio": mean / (spread or 1e-12) * math.sqrt(len(returns)),
            "max_drawdown": drawdown, "win_rate": wins / count if count else 0.0,
            "total_trades": count, "final_equity": equity}, problems


# Each metric and the decimals the platform reports it to.
METRIC_PLACES = {"total_return": 6, "sharpe_ratio": 4, "max_drawdown": 6, "win_rate": 4,
                 "total_trades": 0, "final_equity": 2}


def metric_problems(reported: Mapping[str, Any], decided: Mapping[str, Any],
                    expected: Mapping[str, Any]) -> list[str]:
    """Each reported metric (and the range of bars decided on) that the trades do not earn."""
    problems = []
    if decided.get("rows") != expected["rows"]:
        problems.append(f"it decided on {decided.get('rows')} bars, the requested range gives "
                        f"{expected['rows']}")
    for end in ("first", "last"):
        if expected.get(end) and not _same_time(decided.get(end), expected[end]):
            problems.append(f"its {end} bar was {decided.get(end)}, the requested range's is "
                            f"{expected[end].isoformat()}")
    for name, places in METRIC_PLACES.items():
        if name in expected and not _close(reported.get(name), expected[name], places):
            problems.append(f"{name} is {reported.get(name)}, its trades earn "
                            f"{expected[name]:.{places}f} on the seeded bars at the costs asked "
                            f"for")
    return problems
