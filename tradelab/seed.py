"""Seed a canary's shared storage (`/mnt/ktrdr_data`): market data and the shipped strategies.

Run once per canary, by its one-shot `seed-data` service, so an isolated canary is
self-sufficient: `python -m tradelab.seed /mnt/ktrdr_data`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tradelab import marketdata

SHIPPED_STRATEGIES = Path(__file__).resolve().parent / "strategies"


def seed_storage(root: Path) -> list[Path]:
    """Write `root/data/*.csv` and copy the strategies into `root/strategies/`."""
    written = marketdata.seed(root / "data")
    strategies = root / "strategies"
    strategies.mkdir(parents=True, exist_ok=True)
    for source in sorted(SHIPPED_STRATEGIES.glob("*.yaml")):
        written.append(Path(shutil.copyfile(source, strategies / source.name)))
    return written


if __name__ == "__main__":
    for path in seed_storage(Path(sys.argv[1] if len(sys.argv) > 1 else "/mnt/ktrdr_data")):
        print(f"seeded {path}")
