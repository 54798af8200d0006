"""The strategy's neural network and its saved form."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn


def build_model(strategy: dict[str, Any]) -> nn.Module:
    inputs = len(strategy["nn_inputs"])
    layers: list[nn.Module] = []
    width = inputs
    for hidden in strategy["model"]["architecture"]["hidden_layers"]:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def save_model(model: nn.Module, strategy: dict[str, Any], path: Path) -> None:
    """The weights and the strategy they were trained for, in a file the safe loader reads:
    tensors, and the strategy as JSON text (torch 1.13's safe loader refuses pickled floats,
    which the strategy's settings are)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": model.state_dict(),
                "strategy_json": json.dumps(strategy, default=str)}, tmp)
    tmp.replace(path)


def load_model(path: Path) -> tuple[nn.Module, dict[str, Any], str]:
    """The model saved at `path`, its strategy and the SHA-256 of the bytes loaded (what a
    result reports as the model it used); a file that is not one of our models is an error
    that names it."""
    data = path.read_bytes()
    try:
        # Tensors and plain containers only: a model file is data, never code to run (a
        # full pickle load executes whatever the file says; torch's safe loader refuses it).
        saved = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        strategy = json.loads(saved["strategy_json"])
        model = build_model(strategy)
        model.load_state_dict(saved["state_dict"])
    except Exception as exc:
        raise ValueError(f"Model {path} could not be loaded: {type(exc).__name__}: {exc}") \
            from exc
    model.eval()
    return model, strategy, hashlib.sha256(data).hexdigest()
