"""Features from OHLCV bars, as a strategy's indicators describe them."""

from __future__ import annotations

from typing import Any

import torch

from tradelab.marketdata import Bar


def _rsi(closes: list[float], period: int) -> list[float | None]:
    out: list[float | None] = [None] * len(closes)
    gains = losses = 0.0
    for i in range(1, len(closes)):
        delta = closes[i] - closes[i - 1]
        gain, loss = max(delta, 0.0), max(-delta, 0.0)
        if i <= period:
            gains += gain / period
            losses += loss / period
            if i < period:
                continue
        else:
            gains = (gains * (period - 1) + gain) / period
            losses = (losses * (period - 1) + loss) / period
        out[i] = 100.0 if losses == 0 else 100.0 - 100.0 / (1.0 + gains / losses)
    return out


def _sma_distance(closes: list[float], period: int) -> list[float | None]:
    out: list[float | None] = [None] * len(closes)
    window = 0.0
    for i, close in enumerate(closes):
        window += close
        if i >= period:
            window -= closes[i - period]
        if i >= period - 1:
            out[i] = close / (window / period) - 1.0
    return out


def feature_columns(bars: list[Bar], strategy: dict[str, Any]) -> dict[str, list[float | None]]:
    closes = [b.close for b in bars]
    columns: dict[str, list[float | None]] = {}
    for name, spec in strategy.get("indicators", {}).items():
        kind, period = spec["type"], int(spec.get("period", 14))
        if kind == "rsi":
            columns[name] = [None if v is None else v / 100.0 for v in _rsi(closes, period)]
        elif kind == "sma":
            columns[name] = [None if v is None else v * 100.0 for v in _sma_distance(closes,
                                                                                     period)]
        else:
            raise ValueError(f"unsupported indicator type {kind!r} in {name}")
    columns["return_1"] = [None] + [(closes[i] / closes[i - 1] - 1.0) * 100.0
                                    for i in range(1, len(closes))]
    return columns


def feature_matrix(bars: list[Bar], strategy: dict[str, Any]) -> tuple[torch.Tensor, list[int]]:
    """Rows of nn_inputs for every bar whose indicators are defined; and those bars' indices."""
    columns = feature_columns(bars, strategy)
    names = [item["feature"] for item in strategy["nn_inputs"]]
    rows, index = [], []
    for i in range(len(bars)):
        values = [columns[n][i] for n in names]
        if all(v is not None for v in values):
            rows.append(values)
            index.append(i)
    return torch.tensor(rows, dtype=torch.float32), index


def next_bar_up(bars: list[Bar], index: list[int]) -> torch.Tensor:
    """1 where the next bar closes higher: the label a classification strategy learns."""
    return torch.tensor([[1.0 if bars[i + 1].close > bars[i].close else 0.0] for i in index],
                        dtype=torch.float32)
