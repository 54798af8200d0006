"""Training and backtest jobs on the canary: requests, waits on operations, bad-input cases.

Requests use the contract's field names; waits poll the operation's status against a deadline
and, when it passes, say what the operation last looked like and attach the worker's log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from canaryspec.api import START_PATHS, PlatformClient, Reply, operation_id_of
from canaryspec.canary import Canary
from canaryspec.migrations import checkpoint_count
from canaryspec.readiness import TRANSIENT, WORKER_SERVICES, NotYet, wait_for_available_worker
from canaryspec.waiting import Observation, wait_until

WORKER_OF = {"training": "training", "backtest": "backtesting"}
TERMINAL = {"completed", "failed", "cancelled"}

# The seed's canary trained on EURUSD 1h; half a year keeps a run in seconds.
TRAINING_RANGE = ("2024-01-01", "2024-07-01")
BACKTEST_RANGE = ("2024-07-01", "2024-10-01")
# Two years of hourly bars: with a fuller strategy (v3_multi_symbol) long enough to watch
# progress, find the worker busy, and cancel mid-run.
LONG_TRAINING = {"start_date": "2023-01-02", "end_date": "2024-12-31"}


@dataclass(frozen=True)
class BadRequest:
    """A request the platform must refuse: what is sent, the 4xx expected, and where."""

    job: str
    body: dict[str, Any] | str
    status: int


# Named as the feature's Examples name them. The valid remainder of each body is a request that
# would be accepted, so the refusal is about the one thing wrong with it.
BAD_REQUESTS: dict[str, BadRequest] = {
    "an unknown strategy": BadRequest("training", {"strategy_name": "neuro_mean_reversion"}, 400),
    "an empty list of symbols": BadRequest(
        "training", {"strategy_name": "v3_minimal", "symbols": []}, 422),
    "an empty list of timeframes": BadRequest(
        "training", {"strategy_name": "v3_minimal", "timeframes": []}, 422),
    "an unreadable start date": BadRequest(
        "training", {"strategy_name": "v3_minimal", "start_date": "first of May",
                     "end_date": "2024-06-01"}, 422),
    "an end date before its start date": BadRequest(
        "backtest", {"strategy_name": "v3_minimal", "start_date": "2024-06-01",
                     "end_date": "2024-01-01"}, 422),
    "a symbol that has no market data": BadRequest(
        "training", {"strategy_name": "v3_minimal", "symbols": ["NOPE"]}, 400),
    "a backtest without an end date": BadRequest(
        "backtest", {"strategy_name": "v3_minimal", "start_date": "2024-01-01"}, 422),
    "malformed JSON": BadRequest("training", '{"strategy_name": "v3_minimal",', 422),
}


@dataclass
class StartedJob:
    """A job the suite started: its request, the platform's answer, and timing."""

    job: str
    request: dict[str, Any]
    reply: Reply
    started_at: float = field(default_factory=time.monotonic)
    final: dict[str, Any] | None = None
    seconds: float | None = None

    @property
    def operation_id(self) -> str:
        op_id = operation_id_of(self.reply)
        if not op_id:
            raise AssertionError(f"the {self.job} was not accepted with an operation id: "
                                 f"{self.reply.brief()}")
        return op_id


def training_request(strategy: str, *, long: bool = False, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"strategy_name": strategy, "start_date": TRAINING_RANGE[0],
                               "end_date": TRAINING_RANGE[1]}
    if long:
        request.update(LONG_TRAINING)
    return {**request, **overrides}


def backtest_request(strategy: str, **overrides: Any) -> dict[str, Any]:
    return {"strategy_name": strategy, "symbol": "EURUSD", "timeframe": "1h",
            "start_date": BACKTEST_RANGE[0], "end_date": BACKTEST_RANGE[1], **overrides}


def send_job(api: PlatformClient, job: str, request: dict[str, Any]) -> StartedJob:
    """Ask the backend to start a job, whatever the answer (steps judge it)."""
    send = api.start_training if job == "training" else api.start_backtest
    return StartedJob(job, request, send(request))


def start_job(api: PlatformClient, canary: Canary, job: str, request: dict[str, Any], *,
              timeout: float = 30) -> StartedJob:
    """Start a job once a worker of its type is free (an earlier scenario's cancelled job may
    still be winding down), and insist that it is accepted."""
    wait_for_available_worker(api, canary, WORKER_OF[job], timeout=timeout)
    started = send_job(api, job, request)
    if started.reply.status != 200:
        raise AssertionError(f"the {job} of {request.get('strategy_name')} was not accepted: "
                             f"{started.reply.brief()}")
    return started


def send_bad_request(api: PlatformClient, case: BadRequest) -> Reply:
    """Send the case's body to its job's start route: JSON, or the text as-is."""
    path = START_PATHS[case.job]
    if isinstance(case.body, str):
        return api.send_raw("POST", path, case.body)
    return api.request("POST", path, json_body=case.body)


def read_operation(api: PlatformClient, operation_id: str) -> dict[str, Any] | None:
    """The operation's data, or None while the platform does not know it yet (it may 404 for a
    moment right after a start, as the contract warns)."""
    reply = api.operation(operation_id)
    if reply.status == 404:
        return None
    if reply.status >= 500:
        raise NotYet(f"reading operation {operation_id}: {reply.brief()}")
    if reply.status != 200 or not isinstance(reply.body, dict) or "data" not in reply.body:
        raise AssertionError(f"reading operation {operation_id}: {reply.brief()}")
    return reply.body["data"]


def describe(op: dict[str, Any] | None) -> str:
    if op is None:
        return "operation not found (404)"
    progress = op.get("progress") or {}
    text = (f"status {op.get('status')}, {progress.get('percentage')}% "
            f"({progress.get('current_step')})")
    if op.get("error_message"):
        text += f", error: {op['error_message']}"
    return text


def wait_for_operation(api: PlatformClient, canary: Canary, operation_id: str,
                       statuses: set[str], *, timeout: float, worker_type: str,
                       interval: float = 0.25) -> dict[str, Any]:
    """Poll until the operation's status is one of `statuses`; fail early if it finishes in
    another one (a failed job will not complete by waiting longer)."""

    def check() -> Observation[dict[str, Any] | None]:
        op = read_operation(api, operation_id)
        status = (op or {}).get("status")
        if status in TERMINAL and status not in statuses:
            raise AssertionError(f"operation {operation_id} ended {status}, expected "
                                 f"{'/'.join(sorted(statuses))}: {describe(op)}")
        return Observation(status in statuses, op, describe(op))

    service = WORKER_SERVICES[worker_type]
    found = wait_until(check, timeout=timeout, interval=interval, transient=TRANSIENT,
                       what=f"operation {operation_id} becoming {'/'.join(sorted(statuses))}",
                       evidence=lambda: canary.evidence(["backend", service]))
    assert found is not None
    return found


def finish(api: PlatformClient, canary: Canary, started: StartedJob, statuses: set[str], *,
           timeout: float) -> dict[str, Any]:
    """Wait for a started job to end in `statuses`; remember its final body and duration."""
    started.final = wait_for_operation(api, canary, started.operation_id, statuses,
                                       timeout=timeout, worker_type=WORKER_OF[started.job])
    started.seconds = time.monotonic() - started.started_at
    return started.final


@dataclass
class ProgressSample:
    status: str
    percentage: float
    current_step: str


def watch_progress(api: PlatformClient, canary: Canary, started: StartedJob, *,
                   timeout: float) -> list[ProgressSample]:
    """Every distinct progress the operation shows until it ends."""
    samples: list[ProgressSample] = []

    def check() -> Observation[None]:
        op = read_operation(api, started.operation_id)
        if op is not None:
            progress = op.get("progress") or {}
            sample = ProgressSample(op.get("status", "?"), float(progress.get("percentage") or 0),
                                    str(progress.get("current_step") or ""))
            if not samples or samples[-1] != sample:
                samples.append(sample)
        return Observation((op or {}).get("status") in TERMINAL, None, describe(op))

    wait_until(check, timeout=timeout, interval=0.1, transient=TRANSIENT,
               what=f"operation {started.operation_id} finishing",
               evidence=lambda: canary.evidence(["backend",
                                                 WORKER_SERVICES[WORKER_OF[started.job]]]))
    started.seconds = time.monotonic() - started.started_at
    started.final = read_operation(api, started.operation_id)
    return samples


def settle(api: PlatformClient, canary: Canary, started: list[StartedJob], *,
           timeout: float = 30) -> list[str]:
    """After a scenario: cancel what it left running and wait for those workers to be free,
    so the next scenario starts from an idle canary. Returns what it had to cancel."""
    cancelled = []
    for job in started:
        op_id = operation_id_of(job.reply)
        if not op_id or job.reply.status != 200:
            continue
        op = read_operation(api, op_id)
        if op is not None and op.get("status") not in TERMINAL:
            api.cancel_operation(op_id)
            cancelled.append(op_id)
    for worker_type in {WORKER_OF[j.job] for j in started}:
        wait_for_available_worker(api, canary, worker_type, timeout=timeout)
    return cancelled


def strategy_names(api: PlatformClient) -> list[str]:
    """The strategies the platform says jobs may name."""
    reply = api.strategies()
    listed = reply.body.get("strategies") if isinstance(reply.body, dict) else reply.body
    if reply.status != 200 or not isinstance(listed, list) or not listed:
        raise AssertionError(f"the platform lists no strategies: {reply.brief()}")
    return [item["name"] if isinstance(item, dict) else str(item) for item in listed]


def metric_bounds_problems(metrics: dict[str, Any],
                           bounds: list[tuple[str, float | None, float | None]]) -> list[str]:
    """Each metric outside its [at least, at most] bounds, in words (empty when all are sane)."""
    problems = []
    for name, low, high in bounds:
        value = metrics.get(name)
        if not isinstance(value, (int, float)):
            problems.append(f"{name} is missing or not a number ({value!r})")
        elif (low is not None and value < low) or (high is not None and value > high):
            problems.append(f"{name} = {value} is outside [{low}, {high}]")
    return problems


def wait_for_checkpoint(canary: Canary, operation_id: str, *, timeout: float) -> int:
    """At least one checkpoint of the operation is in the database."""

    def check() -> Observation[int]:
        count = checkpoint_count(canary, operation_id)
        return Observation(count > 0, count, f"{count} checkpoint(s) of {operation_id}")

    return wait_until(check, timeout=timeout, what=f"a checkpoint of {operation_id}",
                      evidence=lambda: canary.evidence(["backend", "training-worker"]))
