"""The canary's services coming up: every one ready, or the first that failed, named at once."""

from __future__ import annotations

from collections.abc import Sequence

from canaryspec.canary import Canary
from canaryspec.errors import ServiceStillStarting
from canaryspec.waiting import Observation, WaitTimeout, wait_until


class ServiceFailed(AssertionError):
    """A service of the canary exited, died or turned unhealthy while we waited for it."""


def wait_for_services_ready(canary: Canary, services: Sequence[str], *, timeout: float,
                            judged: bool = False) -> None:
    """Every service is ready (healthy, or a one-shot finished); stop at once, naming the cause,
    when one of them fails for good: a dead backend does not make us wait out the workers'
    deadline. A running service the engine calls unhealthy may still pass its check: it gets
    until `timeout`. The canary notes when each was first seen ready (its start-up time).
    At the deadline, services still on their way up (running, their health route silent) are
    ServiceStillStarting (broken: too slow to judge here); any other is the WaitTimeout
    (failed: up and not ready, e.g. answering its health route with an error). `judged`: the
    service coming up is the scenario's own property, so a silent one fails it too."""

    def check() -> Observation[dict[str, dict[str, str]]]:
        states = {s: canary.service_state(s) for s in services}
        if any(canary.has_failed(state) for state in states.values()):
            raise ServiceFailed(canary.failure_cause(services))
        canary.note_ready(states.values())
        summary = canary.describe_not_ready(states.values())
        return Observation(not summary, {s: st.as_dict() for s, st in states.items()},
                           summary or "all ready")

    try:
        wait_until(check, timeout=timeout, what=f"{', '.join(services)} becoming healthy",
                   interval=0.5, evidence=lambda: canary.evidence(services),
                   hint="read the service logs below; `-D keep=true` leaves the canary running")
    except WaitTimeout as late:
        waiting = [s for s in services if not canary.is_ready(canary.service_state(s))]
        if not waiting:
            return  # ready by the time the deadline was noticed: ready, not late
        if not judged and all(canary.still_starting(s) for s in waiting):
            first = "; ".join(f"{s} first started in {canary.healthy_in[s]:g} s"
                              for s in waiting if s in canary.healthy_in)
            raise ServiceStillStarting(
                f"{', '.join(waiting)} still starting {timeout:g} s later (running, its health "
                f"route not answering yet): a hang, or a host too busy to start it in time"
                + (f" ({first})" if first else ""), late.evidence) from late
        raise
