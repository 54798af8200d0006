"""Replay a trained model over market data: long when it expects a rise, flat otherwise."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tradelab.marketdata import Bar
from tradelab.ml.features import feature_matrix
from tradelab.ml.model import load_model


def backtest(bars: list[Bar], model_path: Path, *, initial_capital: float, commission: float,
             slippage: float, on_progress: Callable[[float], None]) -> dict[str, Any]:
    """Metrics of trading the model's signals: return, Sharpe, drawdown, win rate, trades;
    `model_sha256`, the checksum of the model file it replayed; `rows`, `first`, `last`, the
    bars it decided on; and `trades`, each trade's entry and exit bar (exit None: still open at
    the end), so anyone holding the same bars can check every metric."""
    if not model_path.is_file():
        raise FileNotFoundError(f"Model not found: {model_path}")
    model, strategy, checksum = load_model(model_path)
    x, index = feature_matrix(bars[:-1], strategy)
    if not index:
        raise ValueError("no bars with defined indicators in the date range")
    with torch.no_grad():
        long = (model(x) > 0).squeeze(1).tolist()
    equity, peak, max_drawdown = initial_capital, initial_capital, 0.0
    position, entry_equity, trades, wins = False, 0.0, 0, 0
    returns: list[float] = []
    ledger: list[dict[str, str | None]] = []
    cost = commission + slippage
    for n, (i, want_long) in enumerate(zip(index, long, strict=True)):
        if want_long != position:
            equity *= 1 - cost
            if want_long:
                entry_equity = equity
                ledger.append({"entry": bars[i].timestamp.isoformat(), "exit": None})
            else:
                trades += 1
                wins += equity > entry_equity
                ledger[-1]["exit"] = bars[i].timestamp.isoformat()
            position = want_long
        bar_return = bars[i + 1].close / bars[i].close - 1 if position else 0.0
        equity *= 1 + bar_return
        returns.append(bar_return)
        peak = max(peak, equity)
        max_drawdown = max(max_drawdown, 1 - equity / peak)
        if n % 500 == 0:
            on_progress(100.0 * n / len(index))
    if position:
        trades += 1
        wins += equity > entry_equity
    mean = sum(returns) / len(returns)
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns)) or 1e-12
    return {"total_return": round(equity / initial_capital - 1, 6),
            "sharpe_ratio": round(mean / std * math.sqrt(len(returns)), 4),
            "max_drawdown": round(max_drawdown, 6),
            "win_rate": round(wins / trades, 4) if trades else 0.0,
            "total_trades": trades,
            "final_equity": round(equity, 2),
            "model_sha256": checksum,
            "rows": len(index), "first": bars[index[0]].timestamp.isoformat(),
            "last": bars[index[-1]].timestamp.isoformat(), "trades": ledger}
