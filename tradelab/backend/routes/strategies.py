"""The strategies jobs may name (the files in STRATEGIES_DIR)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tradelab.backend.deps import SettingsDep
from tradelab.errors import documented
from tradelab.strategy_files import (
    default_symbols,
    default_timeframes,
    load_strategy,
    strategy_names,
)

router = APIRouter(tags=["strategies"])


@router.get("/strategies", responses=documented())
def read_strategies(settings: SettingsDep) -> dict[str, Any]:
    """The strategies jobs may name."""
    directory = settings.strategies_dir
    listed = []
    for name in strategy_names(directory):
        strategy = load_strategy(directory, name)
        listed.append({"name": name, "description": strategy.get("description", ""),
                       "symbols": default_symbols(strategy),
                       "timeframes": default_timeframes(strategy)})
    return {"success": True, "strategies": listed}
