"""SIGINT and SIGTERM end a run the same way: canaries torn down, reports written, its own code.

CI cancels a job with SIGTERM, which by default kills Python at once (no `finally`, no atexit):
the canary would stay up and no report would say why. Here both signals raise `Interrupted` (a
KeyboardInterrupt, which behave already turns into an aborted run that still runs `after_all`
and its clean-ups). Only the first signal interrupts; while the run tears down (`shielded()`),
signals are noted and nothing is interrupted, so a second Ctrl-C cannot leave half a canary.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)
# The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
EXIT_CODES = {signal.Signals(s).name: 128 + int(s) for s in HANDLED}


class Interrupted(KeyboardInterrupt):
    """The run received SIGINT or SIGTERM."""

    def __init__(self, signal_name: str):
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name


@dataclass
class InterruptState:
    """Which signal stopped the run (the first one), and whether teardown is under way."""

    received: str | None = None
    raised: bool = False
    shield_depth: int = 0
    previous: dict[int, object] = field(default_factory=dict)
    previous_unraisable: Callable[[Any], object] | None = None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        first = self.received is None
        if first:
            self.received = name
        if first and self.shield_depth == 0:
            self.raised = True
            raise Interrupted(name)

    def install(self) -> None:
        for sig in HANDLED:
            self.previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self.handle)
        self.previous_unraisable = sys.unraisablehook
        sys.unraisablehook = self.lost

    def uninstall(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self.previous.clear()
        if self.previous_unraisable is not None:
            sys.unraisablehook = self.previous_unraisable
            self.previous_unraisable = None

    def lost(self, unraisable: Any) -> None:
        """Python dropped an exception it could not raise (one from a garbage-collector
        callback or a finaliser). When it was the interrupt, the run never saw it: it is raised
        again at the next `check` (seen: a SIGTERM handled inside hypothesis's GC callback,
        while a 15 MB answer was parsed, was dropped and the run went on to its end)."""
        if isinstance(unraisable.exc_value, Interrupted):
            self.raised = False
        (self.previous_unraisable or sys.__unraisablehook__)(unraisable)

    def check(self) -> None:
        """Raise the interrupt a signal asked for if it has not reached the run yet (it was
        dropped, see `lost`) and no teardown is under way."""
        if self.received and not self.raised and self.shield_depth == 0:
            self.raised = True
            raise Interrupted(self.received)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """Teardown runs to its end: a signal arriving now is recorded, not raised."""
        self.shield_depth += 1
        try:
            yield
        finally:
            self.shield_depth -= 1

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A teardown in the middle of a run (a scenario's own canary): it runs to its end,
        and a signal that arrived meanwhile interrupts the run right after it (seen: a SIGTERM
        during such a teardown was noted, never raised, and the run went on to its end)."""
        with self.shielded():
            yield
        self.check()


# The process's one signal state: signal handlers are process-wide by nature.
STATE = InterruptState()


shielded = STATE.shielded
deferred = STATE.deferred
check = STATE.check
