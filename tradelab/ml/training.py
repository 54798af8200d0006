"""Train a strategy's model on market data, epoch by epoch, cancellable between batches."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tradelab.marketdata import Bar
from tradelab.ml.features import feature_matrix, next_bar_up
from tradelab.ml.model import build_model, save_model


class Cancelled(Exception):
    """The operation was cancelled while it ran."""


@dataclass
class TrainingOutcome:
    model_path: Path
    training_metrics: dict[str, float]
    test_metrics: dict[str, float]
    # What the model learned from, one entry per series (in the order given): which bars,
    # and each input's mean and spread over them. A model's provenance: the same figures come
    # out of the same strategy on the same bars, and nothing else gives them.
    learned_from: list[dict[str, Any]]


def describe_rows(bars: list[Bar], index: list[int], x: torch.Tensor, y: torch.Tensor,
                  strategy: dict[str, Any]) -> dict[str, Any]:
    """The rows a series gave the model: how many, the first and last bar's time, the share
    whose next bar rose, and each input's mean and (population) standard deviation."""
    names = [item["feature"] for item in strategy["nn_inputs"]]
    values = x.double()
    return {"rows": len(index), "first": bars[index[0]].timestamp.isoformat(),
            "last": bars[index[-1]].timestamp.isoformat(),
            "rising": round(float(y.double().mean()), 6),
            "inputs": {name: {"mean": round(float(values[:, k].mean()), 8),
                              "std": round(float(values[:, k].std(unbiased=False)), 8)}
                       for k, name in enumerate(names)}}


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(((model(x) > 0).float() == y).float().mean())


def train(series: list[list[Bar]], strategy: dict[str, Any], model_path: Path, *,
          on_epoch: Callable[[int, int, float], None], cancel: threading.Event) -> TrainingOutcome:
    """Fit the strategy's MLP on the first 80% of each series, test on the last 20%, save."""
    torch.manual_seed(7)
    parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
    learned_from: list[dict[str, Any]] = []
    usable = 0
    for bars in series:
        x, index = feature_matrix(bars[:-1], strategy)
        if not index:
            learned_from.append({"rows": 0})
            continue
        usable += len(index)
        y = next_bar_up(bars, index)
        learned_from.append(describe_rows(bars, index, x, y, strategy))
        split = int(len(index) * 0.8)
        parts.append((x[:split], y[:split], x[split:], y[split:]))
    if usable < 50:
        raise ValueError(f"only {usable} usable bars in the date range; need at least 50")
    x_train, y_train, x_test, y_test = (torch.cat([p[k] for p in parts]) for k in range(4))
    model = build_model(strategy)
    settings = strategy["training"]
    optimiser = torch.optim.Adam(model.parameters(), lr=float(settings["learning_rate"]))
    loss_fn = nn.BCEWithLogitsLoss()
    epochs, batch = int(settings["epochs"]), int(settings["batch_size"])
    loss = torch.tensor(0.0)
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x_train))
        for start in range(0, len(order), batch):
            if cancel.is_set():
                raise Cancelled(f"cancelled at epoch {epoch}/{epochs}")
            rows = order[start:start + batch]
            optimiser.zero_grad()
            loss = loss_fn(model(x_train[rows]), y_train[rows])
            loss.backward()
            optimiser.step()
        on_epoch(epoch, epochs, float(loss))
    save_model(model, strategy, model_path)
    return TrainingOutcome(
        model_path=model_path,
        training_metrics={"final_loss": round(float(loss), 6), "epochs": epochs,
                          "samples": len(x_train),
                          "accuracy": round(_accuracy(model, x_train, y_train), 4)},
        test_metrics={"samples": len(x_test),
                      "accuracy": round(_accuracy(model, x_test, y_test), 4)},
        learned_from=learned_from)
