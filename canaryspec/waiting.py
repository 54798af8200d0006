"""Waiting on conditions against deadlines: never a fixed sleep.

`wait_until` polls a check until it is satisfied or the deadline passes; on timeout it raises
`WaitTimeout` with what it waited for, the last observation and, where a caller supplies one,
the evidence (container state, log tail) that explains it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from canaryspec import interrupts

T = TypeVar("T")
# The first pause of every wait (seconds); each next one doubles, up to the wait's interval.
FIRST_PAUSE = 0.05
# A check may take at most a fifth of a wait's time: after a check that took t seconds the
# pause is at least this many times t. A cheap check (milliseconds) polls as fast as its
# interval allows; an expensive one (the real platform's long training answers 15 MB per read)
# polls no faster than its cost, instead of taking the host's CPU from the job it watches.
PAUSE_PER_CHECK_SECOND = 4.0


class WaitTimeout(AssertionError):
    """A condition did not hold within its deadline. An AssertionError: the scenario fails."""

    def __init__(self, message: str, last_observation: object = None, evidence: str = ""):
        super().__init__(message)
        self.last_observation = last_observation
        self.evidence = evidence


@dataclass
class Observation(Generic[T]):
    """One look at the world: whether the condition holds, what was seen, how to say it."""

    done: bool
    value: T
    summary: str


def wait_until(
    check: Callable[[], Observation[T]],
    *,
    timeout: float,
    what: str,
    interval: float = 0.5,
    transient: tuple[type[BaseException], ...] = (),
    hint: str = "",
    evidence: Callable[[], str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> T:
    """Return the observed value once `check` says done; raise WaitTimeout at the deadline.

    The pauses between checks start short and double up to `interval` (FIRST_PAUSE, 2x, 4x
    ...): a condition that holds almost at once is seen almost at once, a long wait costs no more
    checks than before. A check that is itself slow is repeated less often
    (PAUSE_PER_CHECK_SECOND). Exceptions listed in `transient` (e.g. connection refused while a
    service boots) count as "not yet" and are reported as the last observation if the deadline
    passes.
    """
    deadline = clock() + timeout
    next_pause = min(FIRST_PAUSE, interval)
    last = "nothing observed yet"
    last_value: object = None
    while True:
        interrupts.check()  # a signal the interpreter dropped ends the wait here
        started = clock()
        try:
            seen = check()
            if seen.done:
                return seen.value
            last, last_value = seen.summary, seen.value
        except transient as exc:
            last, last_value = f"{type(exc).__name__}: {exc}", exc
        now = clock()
        remaining = deadline - now
        if remaining <= 0:
            break
        # Poll: between checks, never past the deadline, never mostly checking.
        pause(min(max(next_pause, PAUSE_PER_CHECK_SECOND * (now - started)), remaining))
        next_pause = min(next_pause * 2, interval)
    message = f"{what} did not happen within {timeout:g} s. Last observed: {last}."
    if hint:
        message += f" Hint: {hint}"
    details = evidence() if evidence else ""
    raise WaitTimeout(message, last_value, details)
