"""Strategies are YAML files in STRATEGIES_DIR, named by their stem."""

from __future__ import annotations

from pathlib import Path


def strategy_names(strategies_dir: Path) -> list[str]:
    """The valid strategy names, sorted."""
    return sorted(p.stem for p in strategies_dir.glob("*.yaml"))
