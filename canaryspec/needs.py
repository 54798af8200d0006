"""What a scenario needs beyond the backend's HTTP API, declared in its tags and checked.

A scenario that only talks to the platform over HTTP can judge any deployment it can reach. One
that restarts a container, reads PostgreSQL, probes an image or knows the right answer from the
market data the suite seeded cannot: it says so with a tag (`@needs.engine`, ...), so a run
against a deployment the suite did not start can skip it with that reason instead of failing it.

The tags are kept true by the suite itself: the machine layer notes each capability as it is
used (`used`), and a scenario that passed having used one it does not declare is a suite error
(`undeclared`). Evidence gathered for a report (log tails, memory) is not a need: it is taken
under `not_counted`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from enum import Enum


class Need(Enum):
    """A capability a scenario may need, and the tag that declares it."""

    # Static checks of the images themselves (a container run from each image).
    IMAGES = "images"
    # A Docker engine that runs the services: exec, logs, state, restart policy.
    ENGINE = "engine"
    # Rows read or written in PostgreSQL itself, not through the API.
    DATABASE = "database"
    # Restarts, stops, kills, network cuts, extra replicas: never against a deployment unless
    # allowed.
    DESTRUCTIVE = "destructive"
    # The market data the suite seeds: the known answers a correspondence check compares with.
    MARKET_DATA = "market_data"

    @property
    def tag(self) -> str:
        return "destructive" if self is Need.DESTRUCTIVE else f"needs.{self.value}"


TAGS = {need.tag: need for need in Need}


def declared(tags: Iterable[str]) -> frozenset[Need]:
    """The needs a scenario's tags (its own and its feature's) declare."""
    return frozenset(TAGS[tag] for tag in tags if tag in TAGS)


# How a run gets each capability, for the reason a skipped scenario gives.
HOW_TO_PROVIDE = {
    Need.IMAGES: "the images themselves (run the suite's own canary: target=canary)",
    Need.ENGINE: "a Docker engine that runs the services (target=canary; an attached run "
                 "has none)",
    Need.DATABASE: "PostgreSQL itself, not through the API (target=canary)",
    Need.MARKET_DATA: "the market data the suite seeds, its known answers (target=canary)",
    Need.DESTRUCTIVE: "leave to restart, stop, cut off or write into the deployment "
                      "(allow_destructive=true)",
}


def unmet(tags: Iterable[str], capabilities: Iterable[Need]) -> list[Need]:
    """The declared needs the run's capabilities do not cover, in the enum's order."""
    missing = declared(tags) - set(capabilities)
    return [need for need in Need if need in missing]


def describe_unmet(missing: Iterable[Need]) -> str:
    return "; ".join(f"needs {HOW_TO_PROVIDE[need]} (@{need.tag})" for need in missing)


def undeclared(used_needs: Iterable[Need], tags: Iterable[str]) -> list[Need]:
    """The needs used but not declared, in the enum's order."""
    missing = set(used_needs) - declared(tags)
    return [need for need in Need if need in missing]


class UndeclaredNeed(AssertionError):
    """A scenario used capabilities its tags do not declare (a bug of the suite's tags)."""

    def __init__(self, missing: Iterable[Need]) -> None:
        tags = " ".join(f"@{need.tag}" for need in missing)
        super().__init__(f"the scenario used what its tags do not declare: tag it {tags} "
                         "(canaryspec.needs)")


class Ledger:
    """The capabilities used since the ledger was last opened (one scenario's), from any
    thread; a block under `not_counted` adds nothing, and `counted_as` names what a block's
    engine calls are for (a query of the database run in its container is the database's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: set[Need] = set()
        self._local = threading.local()

    def open(self) -> None:
        with self._lock:
            self._used = set()

    def take(self) -> frozenset[Need]:
        with self._lock:
            return frozenset(self._used)

    def note(self, *used_needs: Need) -> None:
        mode = getattr(self._local, "mode", None)
        if mode == ():
            return
        with self._lock:
            self._used.update(mode or used_needs)

    @contextlib.contextmanager
    def _as(self, mode: tuple[Need, ...]) -> Iterator[None]:
        before = getattr(self._local, "mode", None)
        # An outer `not_counted` wins over an inner `counted_as`.
        self._local.mode = before if before == () else mode
        try:
            yield
        finally:
            self._local.mode = before

    def not_counted(self) -> contextlib.AbstractContextManager[None]:
        return self._as(())

    def counted_as(self, *used_needs: Need) -> contextlib.AbstractContextManager[None]:
        return self._as(tuple(used_needs))


# One per process: the machine layer notes what it does here, the hooks read it per scenario.
LEDGER = Ledger()
used = LEDGER.note
not_counted = LEDGER.not_counted
counted_as = LEDGER.counted_as
