"""Wall time of a run's phases, and the stamped progress lines the console shows."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PhaseClock:
    """Wall time of each phase of a run (build, up, ready, each feature, down)."""

    phases: list[tuple[str, float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def say(self, message: str) -> None:
        """One console line, stamped with the time since the run started.

        Written past behave's output capture: progress is for the person watching, now.
        """
        stream = sys.__stdout__ or sys.stdout
        print(f"canaryspec [{time.monotonic() - self.started:6.1f}s] {message}", file=stream,
              flush=True)

    @contextmanager
    def phase(self, name: str, announce: bool = True) -> Iterator[None]:
        started = time.monotonic()
        if announce:
            self.say(f"{name} ...")
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            self.phases.append((name, elapsed))
            if announce:
                self.say(f"{name} done in {elapsed:.1f} s")

    def record(self, name: str, seconds: float) -> None:
        self.phases.append((name, seconds))

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([{"phase": n, "seconds": round(s, 2)}
                                    for n, s in self.phases], indent=2) + "\n")
