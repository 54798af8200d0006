"""The backend's health as it follows the live database: a schema migrated or reset, the
database service stopped and started again.

A health endpoint that reports the database must read it on every call; one that remembers
what it saw at start-up says "migrated" about a database that was just wiped. Each reading here
polls the backend until it reports what the database really is, against the `status` deadline,
and fails at once on a server error (a backend that cannot answer its health check while its
database is away is the outage a deploy must see coming).
"""

from __future__ import annotations

import time

from canaryspec.api import Reply
from canaryspec.errors import CanaryUnavailable
from canaryspec.handle import TRANSIENT_HTTP, CanaryHandle
from canaryspec.readiness import wait_for_services_ready
from canaryspec.waiting import Observation, wait_until

DATABASE = "db"


def _described(connected: bool, migrated: bool | None) -> str:
    if not connected:
        return "the database as not connected"
    return {None: "the database as connected", True: "the database schema as migrated",
            False: "the database schema as not migrated"}[migrated]


def health_reporting(handle: CanaryHandle, *, connected: bool = True,
                     migrated: bool | None = None) -> Reply:
    """The backend's health reply once it reports the database `connected` and (unless None)
    the schema `migrated`, polled against the `status` deadline; a 5xx fails at once."""
    wanted = _described(connected, migrated)

    def check() -> Observation[Reply]:
        reply = handle.health()
        if reply.status >= 500:
            raise AssertionError(f"the backend answered its health check with HTTP "
                                 f"{reply.status} while waiting for it to report {wanted}: "
                                 f"{reply.brief()}")
        done = reply.status == 200 and reply.field("database.connected") is connected and (
            migrated is None or reply.field("database.migrated") is migrated)
        return Observation(done, reply, reply.brief())

    return wait_until(check, timeout=handle.deadlines.status, interval=0.25,
                      what=f"the backend's health reporting {wanted}",
                      transient=TRANSIENT_HTTP, evidence=handle.evidence("backend", DATABASE),
                      hint="health must read the database on every call, not remember what "
                           "it saw before")


def health_holds(handle: CanaryHandle, *, connected: bool, checks: int = 2) -> float:
    """The backend keeps answering its health check with the database `connected` (or not)
    through `checks` of its own check intervals (the deployment's, the orphan sweep's cadence:
    what it does with the database while it waits); returns how long that was. A reply that
    says otherwise, a server error or a backend that stops answering fails at once."""
    seconds = checks * handle.orphan_timeout()[1]
    wanted = _described(connected, None)
    started = time.monotonic()

    def check() -> Observation[Reply]:
        try:
            reply = handle.health()
        except TRANSIENT_HTTP as exc:
            raise AssertionError(f"the backend stopped answering while it should report "
                                 f"{wanted}: {type(exc).__name__}: {exc}") from exc
        if reply.status >= 500 or reply.field("database.connected") is not connected:
            raise AssertionError(f"the backend no longer reports {wanted}: {reply.brief()}")
        return Observation(time.monotonic() - started >= seconds, reply, reply.brief())

    wait_until(check, timeout=seconds + handle.deadlines.status, interval=0.25,
               what=f"the backend's health reporting {wanted} for {seconds:g} s",
               evidence=handle.evidence("backend", DATABASE))
    return seconds


def stop_database(handle: CanaryHandle) -> None:
    """Stop the database service (as `compose stop` does); it stays stopped (no restart
    policy brings it back) until `start_database`."""
    container = handle.canary.container(DATABASE)
    if container is None:
        raise CanaryUnavailable(f"the canary {handle.canary.project} has no {DATABASE} service")
    container.stop(timeout=int(container.attrs["Config"].get("StopTimeout") or 10))


def start_database(handle: CanaryHandle) -> None:
    """Start the database service again (nothing if it runs) and wait until it is healthy."""
    container = handle.canary.container(DATABASE)
    if container is None:
        raise CanaryUnavailable(f"the canary {handle.canary.project} has no {DATABASE} service")
    container.reload()
    if container.status != "running":
        container.start()
    wait_for_services_ready(handle.canary, [DATABASE], timeout=handle.deadlines.ready)
