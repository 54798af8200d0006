"""Training and backtest jobs on the canary: requests, waits on operations, bad-input cases.

Requests use the contract's field names; waits poll the operation's status against a deadline
and, when it passes, say what the operation last looked like and attach the worker's log.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from canaryspec.api import START_PATHS, PlatformClient, Reply, operation_id_of
from canaryspec.canary import Canary
from canaryspec.migrations import checkpoint_count
from canaryspec.readiness import (
    TRANSIENT,
    WORKER_SERVICES,
    NotYet,
    WorkerClient,
    wait_for_available_worker,
)
from canaryspec.responses import Responses
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
              timeout: float) -> StartedJob:
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


def watch_progress_rise(api: PlatformClient, canary: Canary, started: StartedJob, *,
                        timeout: float) -> list[ProgressSample]:
    """Read the running operation's progress until two in-between readings (0 < p < 100, each
    naming its step) have risen one after the other; return every distinct reading.

    Asks only for what "progress rises" means, not for the job to finish: a long job on a busy
    host passes as soon as it shows two rising readings. A job that ends first (a platform that
    reports only 0 and 100 %) fails at once with what it showed.
    """
    samples: list[ProgressSample] = []

    def rising() -> list[ProgressSample]:
        between = [s for s in samples
                   if s.status == "running" and 0 < s.percentage < 100 and s.current_step]
        return [b for a, b in itertools.pairwise(between)
                if b.percentage > a.percentage]

    def check() -> Observation[list[ProgressSample]]:
        op = read_operation(api, started.operation_id)
        if op is not None:
            progress = op.get("progress") or {}
            sample = ProgressSample(op.get("status", "?"), float(progress.get("percentage") or 0),
                                    str(progress.get("current_step") or ""))
            if not samples or samples[-1] != sample:
                samples.append(sample)
            if op.get("status") in TERMINAL and not rising():
                shown = ", ".join(f"{s.percentage:g}% {s.status}" for s in samples)
                raise AssertionError(f"operation {started.operation_id} ended {op['status']} "
                                     f"without two rising readings while it ran: {shown}")
        return Observation(bool(rising()), samples, describe(op))

    wait_until(check, timeout=timeout, interval=0.1, transient=TRANSIENT,
               what=f"two rising progress readings of {started.operation_id}",
               evidence=lambda: canary.evidence(["backend",
                                                 WORKER_SERVICES[WORKER_OF[started.job]]]))
    return samples


def wait_for_worker_to_stop(canary: Canary, worker_type: str, operation_id: str, *,
                            timeout: float) -> dict[str, Any]:
    """After a cancel: the worker itself (its own /health and its own record of the operation,
    not the backend's) has stopped the job and is idle. A worker that completes the job instead
    fails at once: the cancel never reached it."""
    worker = WorkerClient.of(canary, worker_type)

    def check() -> Observation[dict[str, Any]]:
        health = worker.health()
        own = worker.operation_status(operation_id)
        if own == "completed":
            raise AssertionError(f"the {worker_type} worker completed {operation_id} after it "
                                 f"was cancelled: the cancel never reached it ({health})")
        idle = health.get("worker_status") == "idle" and \
            health.get("current_operation") != operation_id
        view = {"health": health, "operation status on the worker": own}
        return Observation(idle and own in {"cancelled", None}, view,
                           f"worker {health.get('worker_status')}, running "
                           f"{health.get('current_operation')}, its record of the operation: "
                           f"{own or 'none'}")

    return wait_until(check, timeout=timeout, transient=TRANSIENT,
                      what=f"the {worker_type} worker stopping {operation_id} itself",
                      evidence=lambda: canary.evidence(["backend", WORKER_SERVICES[worker_type]]))


def settle(api: PlatformClient, canary: Canary, started: list[StartedJob], *,
           timeout: float) -> list[str]:
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


def backtest_metrics(api: PlatformClient, operation_id: str) -> dict[str, Any]:
    """A finished backtest's metrics, read through the results endpoint (what a client of the
    platform gets)."""
    reply = api.operation_results(operation_id)
    if reply.status != 200:
        raise AssertionError(f"results of {operation_id}: {reply.brief()}")
    return ((reply.body or {}).get("results") or {}).get("metrics", {})


# Written by the training worker's user, where models live: a file that is not a model.
CORRUPT_MODEL = "/mnt/ktrdr_data/models/corrupt/not-a-model.pt"


def write_corrupt_model(canary: Canary) -> str:
    """Put a file that is not a model in the shared models volume; return its path."""
    directory = CORRUPT_MODEL.rsplit("/", 1)[0]
    result = canary.exec(WORKER_SERVICES["training"],
                         ["sh", "-c", f"mkdir -p {directory} && printf 'not a model' > "
                                      f"{CORRUPT_MODEL}"])
    if result.exit_code != 0:
        raise RuntimeError(f"could not write {CORRUPT_MODEL} in the models volume: "
                             f"{result.output}")
    return CORRUPT_MODEL


def metric_bounds_problems(metrics: dict[str, Any],
                           bounds: list[tuple[str, float | None, float | None]],
                           responses: Responses) -> list[str]:
    """Each metric outside its [at least, at most] bounds, in words (empty when all are sane).
    A metric is read under the platform's own name for it (the profile's responses)."""
    problems = []
    for name, low, high in bounds:
        reported, value = responses.metric(metrics, name)
        label = name if reported == name else f"{name} (reported as {reported})"
        if not isinstance(value, int | float):
            problems.append(f"{label} is missing or not a number ({value!r})")
        elif (low is not None and value < low) or (high is not None and value > high):
            problems.append(f"{label} = {value} is outside [{low}, {high}]")
    return problems


def wait_for_progress(api: PlatformClient, canary: Canary, started: StartedJob, *,
                      timeout: float) -> dict[str, Any]:
    """The running operation has made some progress (more than 0 %): it has work to lose."""

    def check() -> Observation[dict[str, Any] | None]:
        op = read_operation(api, started.operation_id)
        status = (op or {}).get("status")
        if status in TERMINAL:
            raise AssertionError(f"operation {started.operation_id} ended {status} before "
                                 f"making progress: {describe(op)}")
        percentage = float(((op or {}).get("progress") or {}).get("percentage") or 0)
        return Observation(status == "running" and percentage > 0, op, describe(op))

    found = wait_until(check, timeout=timeout, interval=0.25, transient=TRANSIENT,
                       what=f"operation {started.operation_id} making progress",
                       evidence=lambda: canary.evidence(
                           ["backend", WORKER_SERVICES[WORKER_OF[started.job]]]))
    assert found is not None
    return found


def wait_for_checkpoint(canary: Canary, operation_id: str, *, timeout: float) -> int:
    """At least one checkpoint of the operation is in the database."""

    def check() -> Observation[int]:
        count = checkpoint_count(canary, operation_id)
        return Observation(count > 0, count, f"{count} checkpoint(s) of {operation_id}")

    return wait_until(check, timeout=timeout, what=f"a checkpoint of {operation_id}",
                      evidence=lambda: canary.evidence(["backend", "training-worker"]))
