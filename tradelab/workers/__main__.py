"""Run a worker: `python -m tradelab.workers training|backtesting`."""

from __future__ import annotations

import logging
import sys

import uvicorn

from tradelab.settings import SettingsError, worker_settings

WORKER_TYPES = ("training", "backtesting")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in WORKER_TYPES:
        print(f"usage: python -m tradelab.workers {{{'|'.join(WORKER_TYPES)}}}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = worker_settings()
    except SettingsError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    # Imported here, not at the top: torch loads with the worker, at start-up, and only then.
    if argv[0] == "training":
        from tradelab.workers.training import create_app
    else:
        from tradelab.workers.backtesting import create_app
    uvicorn.run(create_app(settings), host="0.0.0.0", port=settings.port, log_level="info",
                access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
