"""Strategies are YAML files in STRATEGIES_DIR, named by their stem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tradelab import names


class StrategyNotFound(LookupError):
    """No `<name>.yaml` in the strategies directory."""

    def __init__(self, name: str, strategies_dir: Path):
        self.name = name
        self.valid = strategy_names(strategies_dir)
        # Only the start of a long name: the message is an answer, not an echo.
        name = name if len(name) <= 64 else name[:63] + "…"
        super().__init__(f"Strategy file not found: {name}.yaml (searched: {strategies_dir}). "
                         f"Valid strategies: {', '.join(self.valid) or 'none'}")


def strategy_names(strategies_dir: Path) -> list[str]:
    """The valid strategy names, sorted."""
    return sorted(p.stem for p in strategies_dir.glob("*.yaml"))


def strategy_path(strategies_dir: Path, name: str) -> Path:
    # A name is a file stem, never a path: "../x", a NUL byte or a megabyte never reaches the
    # file system (where it would be a 500, not an unknown strategy).
    try:
        names.check("strategy", name)
    except names.BadName:
        raise StrategyNotFound(name, strategies_dir) from None
    path = strategies_dir / f"{name}.yaml"
    if not path.is_file():
        raise StrategyNotFound(name, strategies_dir)
    return path


def load_strategy(strategies_dir: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load(strategy_path(strategies_dir, name).read_text())


def default_symbols(strategy: dict[str, Any]) -> list[str]:
    spec = strategy.get("training_data", {}).get("symbols", {})
    return list(spec.get("list") or [spec["symbol"]])


def default_timeframes(strategy: dict[str, Any]) -> list[str]:
    spec = strategy.get("training_data", {}).get("timeframes", {})
    return list(spec.get("list") or [spec["timeframe"]])
