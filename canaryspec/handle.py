"""A running canary as the steps use it (the shape of testcontainers' `DockerCompose`).

One object: the Compose project (containers, exec, logs), the backend's HTTP client, and the
settings (deadlines, the profile's response table). Steps ask it questions in the product's
terms — start a job, wait for an operation, read it as an `Operation`, restart a service, look
into the database — and get typed answers, or an AssertionError that says what it saw. Every
wait takes its deadline from the settings (or a bound the feature states) and attaches the
container log tail of the services involved when it times out.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from canaryspec import hostile, interrupts, migrations, needs
from canaryspec.api import PlatformClient, Reply, RouteAnswer, declared_statuses
from canaryspec.canary import Canary, StopResult, file_exists
from canaryspec.errors import Finding
from canaryspec.generated import GeneratedRun, run_generated
from canaryspec.jobs import (
    CORRUPT_MODEL,
    TERMINAL,
    BadRequest,
    Operation,
    OperationsList,
    ProgressSample,
    StartedJob,
    describe,
    paging_problems,
)
from canaryspec.needs import Need
from canaryspec.outcomes import stable_cause
from canaryspec.readiness import wait_for_services_ready
from canaryspec.responses import MISSING, dig
from canaryspec.seeding import Period
from canaryspec.settings import Settings
from canaryspec.vocabulary import API, WORKER_STATUSES, WORKERS, JobKind, WorkerKind
from canaryspec.waiting import Observation, WaitTimeout, wait_until

# An address where nothing answers, as the backend sees it: its own container's loopback, a
# port nobody listens on (a registration there makes the backend poll only itself).
NOWHERE = "http://127.0.0.1:1"

# Errors that mean "not up yet" while a service boots or restarts.
TRANSIENT_HTTP = (httpx.TransportError,)


class NotYet(Exception):
    """A reply that may be a passing blip (a 5xx while a service restarts): wait on."""


TRANSIENT = (*TRANSIENT_HTTP, NotYet)


def ended_otherwise(started: StartedJob, op: Operation, message: str) -> Finding:
    """An operation that ended in a status the scenario did not await: a finding whose root
    cause is the job's kind, its status and the platform's own error (masked), so every
    scenario whose job the same defect ended counts it once."""
    return Finding(message, root_cause=ending_cause(started, op))


def ending_cause(started: StartedJob, op: Operation) -> str:
    """How the job ended, as a root cause: its kind, its status, the platform's error."""
    error = stable_cause(op.error_message) if op.error_message.strip() else "no error message"
    return f"{started.job.name} ends {op.status}: {error}"


@dataclass(frozen=True)
class RegisteredWorker:
    """A worker as the backend's registry lists it."""

    worker_id: str
    worker_type: str
    endpoint_url: str
    status: str
    raw: dict[str, Any]

    @classmethod
    def of(cls, entry: dict[str, Any]) -> RegisteredWorker:
        return cls(str(entry.get("worker_id")), str(entry.get("worker_type")),
                   str(entry.get("endpoint_url")), str(entry.get("status")), entry)

    @property
    def current_operation(self) -> str | None:
        """The operation the registry says the worker runs (None when idle)."""
        return self.raw.get("current_operation_id") or None

    def __str__(self) -> str:
        return f"{self.worker_id}={self.status} at {self.endpoint_url}"


@dataclass(frozen=True)
class WorkerWhenDone:
    """A job's worker as the registry listed it the moment the job was first seen finished."""

    job: StartedJob
    worker_id: str
    status: str
    # The backend checked the worker's health since the job was last seen running: the check,
    # not the job's own report, may have set the status.
    checked_since_running: bool

    def __str__(self) -> str:
        checked = ", health-checked since" if self.checked_since_running else ""
        return f"{self.job.operation_id}: {self.worker_id} {self.status}{checked}"


@dataclass
class CanaryHandle:
    """A started canary: its services, its backend's API, and what the run's settings say."""

    canary: Canary
    api: PlatformClient
    settings: Settings

    @classmethod
    def connect(cls, canary: Canary, settings: Settings) -> CanaryHandle:
        return cls(canary, PlatformClient(canary.url("backend")), settings)

    @property
    def deadlines(self):  # type: ignore[no-untyped-def]
        return self.settings.deadlines

    @property
    def responses(self):  # type: ignore[no-untyped-def]
        return self.settings.profile.responses

    def evidence(self, *services: str) -> Callable[[], str]:
        return lambda: self.canary.evidence(list(services) or None)

    def _wait(self, check: Callable[[], Observation[Any]], *, timeout: float, what: str,
              services: Iterable[str], interval: float = 0.5) -> Any:
        return wait_until(check, timeout=timeout, what=what, interval=interval,
                          transient=TRANSIENT, evidence=self.evidence(*services))

    # --- the backend ---------------------------------------------------------------------
    def health(self) -> Reply:
        return self.api.health()

    def wait_until_answering(self) -> Reply:
        """The backend's health endpoint answers 200."""
        def check() -> Observation[Reply]:
            reply = self.api.health()
            return Observation(reply.status == 200, reply, reply.brief())

        return self._wait(check, timeout=self.deadlines.ready, what="backend health answering "
                          "200", services=["backend"])

    # --- jobs ------------------------------------------------------------------------------
    def send(self, job: JobKind, request: dict[str, Any] | str) -> StartedJob:
        """Ask the backend for a job, whatever the answer (the steps judge it)."""
        return StartedJob(job, request, self.api.start(job, request))

    def send_late_report(self, started: StartedJob, status: str = "running") -> Reply:
        """As the worker that ran it, report the ended operation `status` again, as a report
        delayed on the network or sent twice arrives (tradelab's own report channel)."""
        op = self.operation(started.operation_id)
        if op is None:
            raise AssertionError(f"{started.operation_id} is not known to the backend")
        return self.api.request("POST", f"{API}/operations/{started.operation_id}/report",
                                json_body={"worker_id": self.responses.worker_of(op.raw),
                                           "status": status, "percentage": 50.0,
                                           "current_step": "a late report"})

    def period_without_data(self, period: Period) -> Period:
        """`period`, known to hold no bars: the market data the suite seeded ends before it.
        Where the suite did not seed the data, or it reaches into the period, the scenario
        cannot be judged here."""
        needs.used(Need.MARKET_DATA)
        data = self.settings.profile.market_data
        if data is None or period.start < data.end:
            raise RuntimeError(f"{period.name} ({period.start}) is not known to hold no bars: "
                               f"the seeded market data ends "
                               f"{data.end if data else 'where the platform put it'}")
        return period

    def send_bad_request(self, case: BadRequest) -> tuple[Reply, StartedJob | None]:
        """Send a hostile request as it is; the job it asked for, should it be accepted."""
        reply = self.api.send(case.method, case.route, case.body, case.content_type)
        return reply, (StartedJob(case.job, case.body, reply) if case.job else None)

    # --- what hostile input must leave as it was --------------------------------------
    def baseline(self) -> hostile.Baseline:
        """The operations table's rows, the registry's workers, the running services'
        containers: what a refused request must not change."""
        running = [self.canary.service_state(s) for s in self.canary.all_services]
        return hostile.Baseline(
            self.operations_recorded(),
            frozenset(w.worker_id for w in self.registered_workers()),
            {s.service: (s.restarts, s.started_at) for s in running if s.status == "running"})

    def recorded_since(self, before: hostile.Baseline) -> list[str]:
        """What was recorded since `before`: operation rows, workers in the registry."""
        return hostile.recorded_problems(
            before, self.operations_recorded(),
            frozenset(w.worker_id for w in self.registered_workers()))

    def harm_since(self, before: hostile.Baseline) -> list[str]:
        """A service stopped or restarted since `before`, or a backend that no longer says it
        is healthy (empty when the canary is as it was)."""
        states = {s: self.canary.service_state(s) for s in before.services}
        problems = hostile.restart_problems(
            before, {s: (st.status, st.restarts, st.started_at) for s, st in states.items()})
        health = self.health()
        if (health.status, health.field("status")) != (200, "ok"):
            problems.append(f"the backend's health answers {health.brief(300)}")
        elif self.settings.profile.strict_health and not (
                health.field("database.connected") and health.field("database.migrated")):
            problems.append(f"the backend's health reports its database unusable: "
                            f"{health.brief(300)}")
        return problems

    def run_generated(self) -> GeneratedRun:
        """Requests drawn from the backend's own OpenAPI document, judged one by one
        (canaryspec.generated), within the settings' examples and deadline."""
        return run_generated(self.canary.url("backend"),
                             examples=self.settings.generated_examples,
                             deadline_s=self.deadlines.generated)

    def start(self, job: JobKind, request: dict[str, Any]) -> StartedJob:
        """Start a job once a worker of its kind is free (an earlier scenario's cancelled job
        may still be winding down), and insist that it is accepted."""
        self.available_worker(job.worker, timeout=self.deadlines.worker_free)
        started = self.send(job, request)
        if not started.accepted:
            raise AssertionError(f"the {job.name} of {started.strategy} was not accepted: "
                                 f"{started.reply.brief()}")
        return started

    def operation(self, operation_id: str) -> Operation | None:
        """The operation, or None while the platform does not know it yet (it may 404 for a
        moment right after a start, as the contract warns)."""
        reply = self.api.operation(operation_id)
        if reply.status == 404:
            return None
        if reply.status >= 500:
            raise NotYet(f"reading operation {operation_id}: {reply.brief()}")
        if reply.status != 200 or not isinstance(reply.body, dict) or "data" not in reply.body:
            raise AssertionError(f"reading operation {operation_id}: {reply.brief()}")
        return Operation.of(reply.body["data"])

    def wait_for(self, started: StartedJob, statuses: set[str], *,
                 timeout: float, interval: float = 0.25) -> Operation:
        """Poll until the operation's status is one of `statuses`; fail at once if it ends in
        another one (a failed job will not complete by waiting longer)."""
        op_id = started.operation_id

        def check() -> Observation[Operation | None]:
            op = self.operation(op_id)
            if op is not None and op.finished and op.status not in statuses:
                raise ended_otherwise(started, op, f"operation {op_id} ended {op.status}, "
                                      f"expected {'/'.join(sorted(statuses))}: "
                                      f"{op.describe()}")
            return Observation(op is not None and op.status in statuses, op, describe(op))

        return self._wait(check, timeout=timeout, interval=interval,
                          what=f"operation {op_id} becoming {'/'.join(sorted(statuses))}",
                          services=["backend", started.job.worker.service])

    def fails_naming(self, started: StartedJob, name: str, *, timeout: float) -> Operation:
        """The job ends failed with an error that names `name` (the model it was given); an
        error naming something else is the platform's error as the root cause (a path it
        rewrote fails every job that names a model the same way)."""
        final = self.finish(started, {"failed"}, timeout=timeout)
        if name not in final.error_message:
            raise Finding(f"the failure does not name {name}: {final.describe()}",
                          root_cause=ending_cause(started, final))
        return final

    def finish(self, started: StartedJob, statuses: set[str], *, timeout: float) -> Operation:
        """Wait for the job to end in `statuses`; remember its final state and duration."""
        return started.finished(self.wait_for(started, statuses, timeout=timeout))

    def wait_until_running(self, started: StartedJob) -> Operation:
        return self.wait_for(started, {"running"}, timeout=self.deadlines.job_running)

    def wait_for_progress(self, started: StartedJob) -> Operation:
        """The running operation has made some progress (more than 0 %): it has work to
        lose."""
        def check() -> Observation[Operation | None]:
            op = self.operation(started.operation_id)
            if op is not None and op.finished:
                raise ended_otherwise(started, op, f"operation {op.operation_id} ended "
                                      f"{op.status} before making progress: {op.describe()}")
            ready = op is not None and op.status == "running" and op.percentage > 0
            return Observation(ready, op, describe(op))

        return self._wait(check, timeout=self.deadlines.progress, interval=0.25,
                          what=f"operation {started.operation_id} making progress",
                          services=["backend", started.job.worker.service])

    def watch_to_the_end(self, started: StartedJob) -> list[ProgressSample]:
        """Read the operation from now until it ends, every 0.1 s; return every distinct
        reading (status, percentage, step) in order, the final one last. The whole life is
        judged afterwards (jobs.life_problems), not its first good sign.

        A job that keeps moving is watched as long as it moves (a loaded host trains slower,
        not wrong, and six runs at once made a long training outlast any fixed total): the wait
        fails when no reading it has not shown before has come for the `progress` deadline. A
        job going round in circles repeats itself, so it stalls too; the total cap, a hundred
        times `job_done`, is only the last net under that."""
        samples: list[ProgressSample] = []
        seen: set[ProgressSample] = set()
        last_change = time.monotonic()

        def check() -> Observation[list[ProgressSample]]:
            nonlocal last_change
            op = self.operation(started.operation_id)
            if op is not None:
                sample = op.sample()
                if not samples or samples[-1] != sample:
                    samples.append(sample)
                if sample not in seen:
                    seen.add(sample)
                    last_change = time.monotonic()
                if op.finished:
                    started.finished(op)
            stalled = time.monotonic() - last_change
            if stalled > self.deadlines.progress:
                raise AssertionError(f"operation {started.operation_id} stalled: no new reading "
                                     f"for {stalled:.0f} s; last {describe(op)}")
            return Observation(op is not None and op.finished, samples, describe(op))

        self._wait(check, timeout=100 * self.deadlines.job_done, interval=0.1,
                   what=f"operation {started.operation_id} running to its end",
                   services=["backend", started.job.worker.service])
        return samples

    def completes_while_progressing(self, started: StartedJob) -> Operation:
        """The job ends completed, watched for as long as it keeps making progress (a long
        training's length is the platform's, not a bound of the suite's)."""
        self.watch_to_the_end(started)
        final = self.operation(started.operation_id)
        if final is None or final.status != "completed":
            message = (f"operation {started.operation_id} ended "
                       f"{final.status if final else 'unlisted'}, expected completed: "
                       f"{describe(final)}")
            raise ended_otherwise(started, final, message) if final else AssertionError(message)
        return final

    def _timers(self, *wanted: tuple[tuple[str, ...], float]) -> list[float]:
        """Timers of the platform's as the deployment sets them, each (the backend's
        environment variables the profile names for it, the platform's default): the first
        of those variables that is set, else the default."""
        env = self.canary.env_of("backend")
        return [float(next((env[n] for n in names if env.get(n)), default))
                for names, default in wanted]

    def orphan_timeout(self) -> tuple[float, float]:
        """(after how long the backend fails an operation no worker claims, how often it
        looks), as the deployment sets them (the profile's data names where)."""
        timers = self.settings.profile.timers
        timeout_s, every_s = self._timers((timers.orphan_timeout_env, timers.orphan_timeout_s),
                                          (timers.orphan_check_env, timers.orphan_check_s))
        return timeout_s, every_s

    def health_checks(self) -> tuple[float, float, int]:
        """(how often the backend asks each worker's health, how long it waits for an answer,
        after how many failures in a row it stops offering the worker jobs), as deployed."""
        timers = self.settings.profile.timers
        every_s, timeout_s, failures = self._timers(
            (timers.health_check_env, timers.health_check_s),
            (timers.health_timeout_env, timers.health_timeout_s),
            (timers.health_failures_env, timers.health_failures))
        return every_s, timeout_s, int(failures)

    def unavailable_deadline(self) -> tuple[float, str]:
        """How long a worker that stopped answering may still be offered jobs: each of the
        failures the backend waits for takes at most a check interval and an unanswered
        request's timeout; plus the suite's margin (`health_checked`); and that in words."""
        every_s, timeout_s, failures = self.health_checks()
        margin_s = self.deadlines.health_checked
        return (failures * (every_s + timeout_s) + margin_s,
                f"{failures} failed health checks, each within {every_s:g} s apart + a "
                f"{timeout_s:g} s timeout, + a margin of {margin_s:g} s")

    def back_deadline(self) -> tuple[float, str]:
        """How long a worker answering again may take to be offered jobs again: the check in
        flight when it came back (its timeout), the interval, the next check's answer, and
        the suite's margin; and that in words."""
        every_s, timeout_s, _ = self.health_checks()
        margin_s = self.deadlines.health_checked
        return (every_s + 2 * timeout_s + margin_s,
                f"one health check {every_s:g} s on, the one in flight and its own answer "
                f"within {timeout_s:g} s each, + a margin of {margin_s:g} s")

    def orphan_deadline(self) -> tuple[float, str]:
        """How long an unclaimed operation may stay running before the platform must have
        failed it: its orphan timeout plus two of its checks (it first sees the orphan at a
        check, and fails it at the first check past the timeout), plus the suite's stated
        margin (`orphaned`, scaled for this host); and that sum in words."""
        timeout_s, every_s = self.orphan_timeout()
        margin_s = self.deadlines.orphaned
        return (timeout_s + 2 * every_s + margin_s,
                f"the orphan timeout {timeout_s:g} s + two checks {every_s:g} s apart + a "
                f"margin of {margin_s:g} s")

    def worker_running(self, started: StartedJob) -> WorkerClient:
        """The own API of the worker the operation names as its worker (with several of a
        kind, the one that runs or ran it, not the first one)."""
        op = self.operation(started.operation_id)
        if op is None:
            raise AssertionError(f"{started.operation_id} is not listed")
        worker_id = self.responses.worker_of(op.raw)
        found = [w for w in self.registered_workers(started.job.worker)
                 if w.worker_id == worker_id]
        if not found:
            raise AssertionError(f"{started.operation_id} names {worker_id}, which is not "
                                 f"registered: {', '.join(map(str, self.registered_workers()))}")
        return WorkerClient(self.canary.worker_url(found[0]))

    def send_to_busy_worker(self, started: StartedJob, request: dict[str, Any]) -> Reply:
        """Hand a job straight to the worker running `started`, as the backend would (the
        contract's worker side): what the worker itself decides, without the backend's checks
        first."""
        url = self.worker_running(started).url + started.job.dispatch_path
        return self.api.request("POST", url, json_body=request)

    def own_health_of_worker_running(self, started: StartedJob) -> dict[str, Any]:
        """The own /health (not the backend's registry) of the worker running `started`."""
        return self.worker_running(started).health()

    def send_at_once(self, job: JobKind, requests: list[dict[str, Any]]) -> list[StartedJob]:
        """Send the requests to the backend together (released by one barrier, each on its
        own connection), whatever the answers."""
        barrier = threading.Barrier(len(requests))

        def send_one(request: dict[str, Any]) -> StartedJob:
            barrier.wait(timeout=30)
            return self.send(job, request)

        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(send_one, requests))

    def cancel(self, started: StartedJob) -> Reply:
        return self.api.cancel_operation(started.operation_id)

    def settle(self, *started: StartedJob) -> list[str]:
        """After a scenario: cancel the jobs that still run, all of them first, then wait until
        their kinds of worker are free again, so the next scenario starts from an idle canary
        (one job at a time would wait for a worker still busy with another: a platform that
        took two trainings at once). The operations it cancelled."""
        accepted = [s for s in started if s.accepted]
        if not accepted or interrupts.STATE.received:
            return []  # interrupted: the canary is removed next; waiting would only delay it
        cancelled = []
        for job in accepted:
            op = self.operation(job.operation_id)
            if op is not None and op.status not in TERMINAL:
                self.cancel(job)
                cancelled.append(job.operation_id)
        for worker in dict.fromkeys(job.job.worker for job in accepted):
            self.available_worker(worker, timeout=self.deadlines.worker_free)
        return cancelled

    def worker_stops(self, started: StartedJob) -> dict[str, Any]:
        """After a cancel: the worker itself (its own /health and its own record of the
        operation, not the backend's) has stopped the job and is idle. A worker that completes
        the job instead fails at once: the cancel never reached it."""
        worker, op_id = self.worker_running(started), started.operation_id

        def check() -> Observation[dict[str, Any]]:
            health, own = worker.health(), worker.operation_status(op_id)
            if own == "completed":
                raise AssertionError(f"the {started.job.worker.worker_type} worker completed "
                                     f"{op_id} after it was cancelled: the cancel never reached "
                                     f"it ({health})")
            idle = health.get("worker_status") == "idle" and \
                health.get("current_operation") != op_id
            return Observation(idle and own in {"cancelled", None},
                               {"health": health, "operation status on the worker": own},
                               f"worker {health.get('worker_status')}, running "
                               f"{health.get('current_operation')}, its record of the "
                               f"operation: {own or 'none'}")

        return self._wait(check, timeout=self.deadlines.cancel,
                          what=f"the {started.job.worker.worker_type} worker stopping {op_id} "
                               "itself", services=["backend", started.job.worker.service])

    def checkpoint_recorded(self, started: StartedJob) -> int:
        """At least one checkpoint of the operation is in the database."""
        op_id = started.operation_id

        def check() -> Observation[int]:
            count = migrations.checkpoint_count(self.canary, op_id)
            return Observation(count > 0, count, f"{count} checkpoint(s) of {op_id}")

        return self._wait(check, timeout=self.deadlines.checkpoint,
                          what=f"a checkpoint of {op_id}",
                          services=["backend", started.job.worker.service])

    def results(self, started: StartedJob) -> dict[str, Any]:
        """A finished job's results, through the results endpoint (what a client gets)."""
        reply = self.api.operation_results(started.operation_id)
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise AssertionError(f"results of {started.operation_id}: {reply.brief()}")
        # The contract's envelope, for this operation: a client that trusts `success` or reads
        # another operation's results is misled however right the figures are.
        problems = [f"it says success {reply.body.get('success')!r}"] \
            if reply.body.get("success") is not True else []
        if reply.body.get("operation_id") != started.operation_id:
            problems.append(f"it answers for operation {reply.body.get('operation_id')!r}")
        if problems:
            raise AssertionError(f"results of {started.operation_id}: {'; '.join(problems)}: "
                                 f"{reply.brief()}")
        return reply.body.get("results") or {}

    def backtest_metrics(self, started: StartedJob) -> dict[str, Any]:
        return self.results(started).get("metrics") or {}

    def backtest_model_checksums(self, started: StartedJob) -> tuple[Any, str]:
        """(the checksum the backtest says its model had, the SHA-256 of the file it was given,
        read on the models volume by the backtest worker's container)."""
        reported = dig(self.results(started), self.responses.loaded_model_checksum)
        model_path = started.request.get("model_path", "") if isinstance(started.request,
                                                                          dict) else ""
        path = self.responses.model_file_of(str(model_path))
        result = self.canary.exec(WORKERS["backtesting"].service, ["sha256sum", path])
        if result.exit_code != 0:
            raise AssertionError(f"cannot read {path} on the models volume: {result.output}")
        return (None if reported is MISSING else reported), result.output.split()[0]

    def operations_list(self, **filters: Any) -> OperationsList:
        """The operations list for these filters (and a limit past what a canary holds)."""
        limit = 1000
        reply = self.api.operations(limit=limit, **filters)
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise AssertionError(f"the operations list with {filters}: {reply.brief()}")
        return OperationsList(filters, list(reply.body.get("data") or []),
                              reply.body.get("total_count"), reply.body.get("active_count"),
                              limit)

    def operations_paging_problems(self, page_size: int) -> list[str]:
        """Page through the operations list `page_size` at a time from offset 0, one page past
        its end, and say where the pages disagree with the whole list read at once: its entries,
        and the total each page reports."""
        def page(offset: int, limit: int) -> tuple[int, int, list[str], Any]:
            reply = self.api.operations(limit=limit, offset=offset)
            if reply.status != 200 or not isinstance(reply.body, dict):
                raise AssertionError(f"the operations list at offset={offset}&limit={limit}: "
                                     f"{reply.brief()}")
            return (offset, limit, [str(e.get("operation_id")) for e in reply.body.get("data")
                                    or []], reply.body.get("total_count"))

        listing = self.operations_list()
        whole = [str(e.get("operation_id")) for e in listing.entries]
        # Ten pages at most: enough to see an offset ignored, repeated or off by one.
        offsets = range(0, min(len(whole), 10 * page_size) + 1, page_size)
        return paging_problems(whole, [page(o, page_size) for o in offsets],
                               len(whole) if listing.complete else None)

    def listed(self, started: StartedJob) -> tuple[str, str] | None:
        """How the operations list of its type shows the job: (status, operation type), or
        None when it is not listed."""
        entry = self.operations_list(operation_type=started.job.operation_type) \
            .entry(started.operation_id)
        return (str(entry.get("status")), str(entry.get("operation_type"))) if entry else None

    def operation_reads(self, operation_id: str) -> list[RouteAnswer]:
        """The operations list and one operation's record, asked now, each beside the statuses
        the backend's API document (fetched first) declares for its route."""
        document = self.api.api_document()
        if document.status != 200 or not document.is_json_object:
            raise AssertionError(f"the backend's API document could not be read: "
                                 f"{document.brief(300)}")
        reads = [(f"{API}/operations", self.api.operations()),
                 (f"{API}/operations/{{operation_id}}", self.api.operation(operation_id))]
        return [RouteAnswer(route, reply, declared_statuses(document.body, "GET", route))
                for route, reply in reads]

    def operations_recorded(self) -> int:
        """Rows in the operations table, read from the database itself (not the API)."""
        return migrations.operation_count(self.canary)

    def worker_that_ran(self, started: StartedJob) -> tuple[str, str | None]:
        """(the worker the operation names, that worker's type in the registry or None)."""
        op = started.final or self.operation(started.operation_id)
        worker_id = self.responses.worker_of(op.raw if op else {})
        types = {w.worker_id: w.worker_type for w in self.registered_workers()}
        return worker_id, types.get(worker_id)

    def worker_when_done(self, job: JobKind, request: dict[str, Any],
                         on_started: Callable[[StartedJob], object] = lambda _: None,
                         attempts: int = 5) -> WorkerWhenDone:
        """Run the job and read its worker's status in the registry the moment the job is first
        seen finished (completed or failed). A reading proves something only if the backend has
        not checked that worker's health since the job was last seen running, or since before
        it was sent (the check itself may have set the status, busy or free): otherwise the job
        is run again, up to `attempts` times, so the verdict never rests on how fast this host
        looked. `on_started` gets each job sent."""
        seen: list[WorkerWhenDone] = []
        for _ in range(attempts):
            # Read before the job is sent too: a job that ends before the first look (one that
            # fails at once) is judged against the stamps from before it began.
            checked_while_running: dict[str, Any] = {
                w.worker_id: w.raw.get("last_health_check")
                for w in self.registered_workers(job.worker)}
            started = self.start(job, request)
            on_started(started)

            def check(started: StartedJob = started,
                      stamps: dict[str, Any] = checked_while_running) -> Observation[Any]:
                # The registry first, then the operation: stamps read before a "still running"
                # answer were read while the job ran.
                now = {w.worker_id: w.raw.get("last_health_check")
                       for w in self.registered_workers(job.worker)}
                op = self.operation(started.operation_id)
                if op is None or not op.finished:
                    stamps.clear()
                    stamps.update(now)
                return Observation(op is not None and op.finished, op, describe(op))

            op = started.finished(self._wait(
                check, timeout=self.deadlines.job_done, interval=0.05,
                what=f"operation {started.operation_id} finishing",
                services=["backend", job.worker.service]))
            workers = {w.worker_id: w for w in self.registered_workers(job.worker)}
            worker_id = self.responses.worker_of(op.raw)
            entry = workers.get(worker_id)
            reading = WorkerWhenDone(
                started, worker_id, entry.status if entry else "not registered",
                entry is None or worker_id not in checked_while_running
                or entry.raw.get("last_health_check") != checked_while_running[worker_id])
            if not reading.checked_since_running:
                return reading
            seen.append(reading)
        raise RuntimeError(f"not judged: in {attempts} {job.name}s the backend checked the "
                           "worker's health between the suite's last look at the running job "
                           f"and its first look at the finished one ({'; '.join(map(str, seen))})")

    def strategies(self) -> list[str]:
        """The strategies the platform says jobs may name."""
        reply = self.api.strategies()
        listed = reply.body.get("strategies") if isinstance(reply.body, dict) else reply.body
        if reply.status != 200 or not isinstance(listed, list) or not listed:
            raise AssertionError(f"the platform lists no strategies: {reply.brief()}")
        return [item["name"] if isinstance(item, dict) else str(item) for item in listed]

    def model_file(self, model_path: str) -> tuple[str, bool]:
        """The file a model path stands for, and whether the backtest worker sees it (the
        models volume is shared, not local to the worker that trained)."""
        path = self.responses.model_file_of(model_path)
        return path, file_exists(self.canary, WORKERS["backtesting"].service, path)

    def write_model_that_runs_code(self) -> str:
        """Put a model file that runs code when a full pickle load reads it (it makes a folder
        on the models volume) where a backtest may name it; return its path."""
        needs.used(Need.DESTRUCTIVE)  # a file of its own in the models volume
        folder = hostile.CODE_MODEL.rsplit("/", 1)[0]
        result = self.canary.exec(WORKERS["training"].service, [
            "sh", "-c", 'mkdir -p "$1" && rm -rf "$2" && printf "%s" "$3" > "$4"', "sh",
            folder, hostile.CODE_MARKER, hostile.CODE_PICKLE, hostile.CODE_MODEL])
        if result.exit_code != 0:
            raise RuntimeError(f"could not write {hostile.CODE_MODEL} in the models volume: "
                               f"{result.output}")
        return hostile.CODE_MODEL

    def model_file_ran_code(self) -> bool:
        """Whether the folder the code in that model file makes is on the models volume (looked
        at by the backtesting worker, which loaded it)."""
        return self.canary.exec(WORKERS["backtesting"].service,
                                ["test", "-e", hostile.CODE_MARKER]).exit_code == 0

    def register_where_nothing_answers(self, worker: WorkerKind) -> tuple[str, Reply]:
        """Register a worker of the kind at an address where nothing answers (the backend
        container's own loopback, a closed port); return its id and the answer."""
        worker_id = f"canary-nowhere-{uuid.uuid4().hex[:8]}"
        reply = self.api.request("POST", f"{API}/workers/register", json_body={
            "worker_id": worker_id, "worker_type": worker.worker_type,
            "endpoint_url": NOWHERE})
        return worker_id, reply

    def settle_registration(self, worker_id: str) -> bool:
        """After a scenario: a worker a broken platform registered from a hostile request is
        no longer offered jobs (its address never answers), so that the next scenario's jobs
        do not go to it. Nothing to wait for when it was refused, as it must be. False when it
        is still offered at the deadline (the scenario's own verdict has said so already)."""
        def check() -> Observation[str]:
            entry = next((w for w in self.registered_workers() if w.worker_id == worker_id),
                         None)
            status = entry.status if entry else "not listed"
            return Observation(status != "available", status, f"{worker_id}: {status}")

        deadline, why = self.unavailable_deadline()
        try:
            self._wait(check, timeout=deadline, interval=0.5, services=["backend"],
                       what=f"the registry no longer offering {worker_id} jobs ({why})")
        except WaitTimeout:
            return False
        return True

    def never_available_until_forgotten(self, worker_id: str) -> list[str]:
        """Watch the registry until it lets `worker_id` go; fail at once should it ever list
        it available. Return the statuses it was listed with. The bound is the backend's own:
        the failed health checks after which it stops offering a worker jobs."""
        seen: list[str] = []

        def check() -> Observation[list[str]]:
            entry = next((w for w in self.registered_workers() if w.worker_id == worker_id),
                         None)
            if entry is not None and (not seen or seen[-1] != entry.status):
                seen.append(entry.status)
            if entry is not None and entry.status == "available":
                raise AssertionError(f"{worker_id}, registered at {NOWHERE} where nothing "
                                     f"answers, is listed available (statuses seen: {seen})")
            return Observation(entry is None, seen, f"listed as {entry.status}" if entry
                               else "no longer listed")

        deadline, why = self.unavailable_deadline()
        self._wait(check, timeout=deadline, interval=0.25, services=["backend"],
                   what=f"the registry letting {worker_id} go ({why})")
        return seen

    def write_corrupt_model(self) -> str:
        """Put a file that is not a model in the shared models volume; return its path."""
        needs.used(Need.DESTRUCTIVE)  # a file of its own in the models volume
        folder = CORRUPT_MODEL.rsplit("/", 1)[0]
        result = self.canary.exec(WORKERS["training"].service, [
            "sh", "-c", f"mkdir -p {folder} && printf 'not a model' > {CORRUPT_MODEL}"])
        if result.exit_code != 0:
            raise RuntimeError(f"could not write {CORRUPT_MODEL} in the models volume: "
                               f"{result.output}")
        return CORRUPT_MODEL

    # --- workers -------------------------------------------------------------------------
    def registered_workers(self, worker: WorkerKind | None = None) -> list[RegisteredWorker]:
        reply = self.api.workers(worker_type=worker.worker_type if worker else None)
        if reply.status >= 500:
            raise NotYet(f"the worker list answered {reply.brief()}")
        if reply.status != 200 or not isinstance(reply.body, list):
            raise AssertionError(f"the worker list did not come back as a list: {reply.brief()}")
        return [RegisteredWorker.of(entry) for entry in reply.body]

    def status_filter_problems(self) -> list[str]:
        """Where the worker list asked for one status (`?status=`) is not exactly the registered
        workers the whole list shows in that status, read at once, for every status."""
        every = self.registered_workers()
        problems = []
        for status in WORKER_STATUSES:
            reply = self.api.workers(status=status)
            if reply.status != 200 or not isinstance(reply.body, list):
                problems.append(f"the worker list for status={status}: {reply.brief()}")
                continue
            listed = sorted(str(entry.get("worker_id")) for entry in reply.body)
            expected = sorted(w.worker_id for w in every if w.status == status)
            if listed != expected:
                problems.append(f"status={status} lists {listed or 'nobody'}, where the whole "
                                f"list has {expected or 'nobody'} {status} (all: "
                                f"{', '.join(map(str, every))})")
        return problems

    def registered_as_expected(self, expected: dict[str, int]) -> list[RegisteredWorker]:
        """Wait until at least the expected number of workers of each type is registered (the
        registration deadline); the workers then; an AssertionError naming each short count."""
        def shortfall(every: list[RegisteredWorker]) -> list[str]:
            counts = {kind: sum(w.worker_type == kind for w in every) for kind in expected}
            return [f"{counts[kind]} {kind} worker(s) registered, {count} expected"
                    for kind, count in expected.items() if counts[kind] < count]

        def check() -> Observation[list[RegisteredWorker]]:
            every = self.registered_workers()
            return Observation(not shortfall(every), every,
                               "; ".join(shortfall(every)) or "as expected")

        try:
            return self._wait(check, timeout=self.deadlines.registration, services=["backend"],
                              what="as many workers of each type registered as expected")
        except WaitTimeout as exc:
            # The shortfall first: it is the finding (the wait's own words end in its last look).
            every = self.registered_workers()
            raise AssertionError(f"the deployment is short of workers: "
                                 f"{'; '.join(shortfall(every)) or 'no longer'} after "
                                 f"{self.deadlines.registration:g} s (registered: "
                                 f"{', '.join(map(str, every))})") from exc

    def registered_worker(self, worker: WorkerKind) -> RegisteredWorker:
        """The first registered worker of the kind, whatever its status."""
        found = self.registered_workers(worker)
        if not found:
            raise AssertionError(f"no {worker.worker_type} worker is registered")
        return found[0]

    def available_worker(self, worker: WorkerKind, *, timeout: float | None = None) \
            -> RegisteredWorker:
        """A worker of the kind registered with status `available`; return it."""
        def check() -> Observation[RegisteredWorker | None]:
            every = self.registered_workers()
            of_kind = [w for w in every if w.worker_type == worker.worker_type]
            available = [w for w in of_kind if w.status == "available"]
            seen = ", ".join(f"{w.worker_id}={w.status}" for w in every) or "none"
            return Observation(bool(available), available[0] if available else None,
                               f"{len(of_kind)} {worker.worker_type} worker(s); registered: "
                               f"{seen}")

        return self._wait(check, timeout=timeout or self.deadlines.registration,
                          what=f"an available {worker.worker_type} worker in the registry",
                          services=["backend", worker.service])

    def health_polled(self, worker_id: str) -> dict[str, Any]:
        """The backend has polled the worker's health at least once since it registered."""
        def check() -> Observation[dict[str, Any] | None]:
            reply = self.api.worker(worker_id)
            if reply.status >= 500:
                raise NotYet(reply.brief())
            body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else None
            return Observation(bool(body and body.get("last_health_check")), body,
                               reply.brief(200))

        return self._wait(check, timeout=self.deadlines.registration,
                          what=f"the backend polling {worker_id}'s health", services=["backend"])

    def registered_anew(self, worker: WorkerKind, old_id: str, *,
                        timeout: float) -> list[RegisteredWorker]:
        """A worker of the kind registered and available under an id other than `old_id`."""
        def check() -> Observation[list[RegisteredWorker]]:
            every = self.registered_workers(worker)
            fresh = [w for w in every if w.worker_id != old_id and w.status == "available"]
            return Observation(bool(fresh), fresh,
                               f"registered: {', '.join(map(str, every)) or 'none'}")

        return self._wait(check, timeout=timeout, what=f"a new {worker.worker_type} worker "
                          "registering", services=[worker.service])

    def worker_entry(self, worker_id: str) -> Reply:
        return self.api.worker(worker_id)

    def worker_health_from_backend(self, endpoint_url: str) -> dict[str, Any]:
        """A worker's /health fetched from inside the backend container (its own network)."""
        result = self.canary.exec("backend", ["curl", "-fsS", "--max-time", "5",
                                              f"{endpoint_url}/health"])
        if result.exit_code != 0:
            raise AssertionError(f"the backend container cannot reach {endpoint_url}/health: "
                                 f"curl exit {result.exit_code}: {result.output}")
        try:
            return json.loads(result.output)
        except ValueError:
            raise AssertionError(f"{endpoint_url}/health answered non-JSON: "
                                 f"{result.output[:300]}") from None

    # --- services ----------------------------------------------------------------------
    def restart(self, service: str) -> None:
        """Stop (SIGTERM, SIGKILL after its grace) and start a service; wait until it is back."""
        self.canary.restart(service)
        self._back_up(service)

    def crash(self, service: str) -> tuple[int, str]:
        """Kill the service's processes from inside (no clean shutdown; the suite starts
        nothing); returns its container's (restart count, start time) from before."""
        return self.canary.crash(service)

    def restarted_by_the_engine(self, service: str, before: tuple[int, str]) -> None:
        """The engine has started the crashed service's container again by itself (its
        restart policy, as the compose file declares it), and the service is back."""
        policy = self.canary.restart_policy(service)

        def check() -> Observation[tuple[int, str, str]]:
            count, started_at, status = self.canary.restarts(service)
            if status in {"exited", "dead"} and policy == "no":
                raise AssertionError(f"{service} died and stays {status}: its container has no "
                                     "restart policy, so nothing brings it back")
            again = (count, started_at) != before and status == "running"
            return Observation(again, (count, started_at, status),
                               f"{service} {status}, restarted {count} time(s), started at "
                               f"{started_at} (before the crash: {before[1]}); restart "
                               f"policy {policy}")

        self._wait(check, timeout=self.deadlines.ready, what=f"the engine restarting {service} "
                   f"after it died", services=[service])
        self._back_up(service)

    def stop_and_start(self, service: str) -> StopResult:
        """SIGTERM a service, note how it stopped, start it and wait until it is back."""
        stopped = self.canary.stop_and_start(service)
        self._back_up(service)
        return stopped

    def stop_service(self, service: str) -> StopResult:
        """SIGTERM a service and leave it stopped (`start_service` brings it back)."""
        return self.canary.stop(service)

    def start_service(self, service: str) -> None:
        """Start a stopped service and wait until it is back (the backend: answering)."""
        self.canary.start(service)
        self._back_up(service)

    def restore(self, service: str) -> None:
        """After a fault the platform did not recover from by itself (a dead worker with no
        restart policy): start the service again, so that the scenarios after it find the
        canary whole — the finding stays with the scenario that made the fault."""
        if self.canary.service_state(service).status != "running":
            self.start_service(service)

    def reconnect(self) -> None:
        """Follow the backend to its host port: engine-chosen ports are chosen again each
        time its container starts."""
        self.api.close()
        self.api = PlatformClient(self.canary.url("backend"))

    def _back_up(self, service: str) -> None:
        if service == "backend":
            self.reconnect()
        wait_for_services_ready(self.canary, [service], timeout=self.deadlines.ready)
        self.wait_until_answering()

    # --- the database --------------------------------------------------------------------
    def schema_revision(self) -> migrations.SchemaRevision:
        return migrations.schema_revision(self.canary)

    def upgrade(self) -> str:
        return migrations.upgrade_to_head(self.canary)

    def schema_snapshot(self) -> list[str]:
        return migrations.schema_snapshot(self.canary)

    def back_one_revision(self) -> str:
        return migrations.back_one_revision(self.canary)

    def write_operation_rows(self, count: int) -> list[str]:
        """Rows written straight into the operations table as its schema stands now."""
        return migrations.write_plain_rows(self.canary, "operations", count)

    def operation_rows_missing(self, keys: list[str]) -> list[str]:
        return migrations.rows_missing(self.canary, "operations", keys)

    def table_exists(self, table: str) -> bool:
        return migrations.table_exists(self.canary, table)

    def reset_database(self) -> None:
        migrations.reset_database(self.canary)


@dataclass
class WorkerClient:
    """A worker's own API (the contract's worker side), reached on its published host port:
    what the worker itself says, not what the backend's registry says about it."""

    url: str
    timeout_s: float = 5.0

    def health(self) -> dict[str, Any]:
        reply = httpx.get(f"{self.url}/health", timeout=self.timeout_s)
        if reply.status_code != 200:
            raise NotYet(f"{self.url}/health answered {reply.status_code}")
        return reply.json()

    def operation_status(self, operation_id: str) -> str | None:
        """The worker's own record of the operation's status (None if it keeps none)."""
        reply = httpx.get(f"{self.url}/api/v1/operations/{operation_id}", timeout=self.timeout_s)
        if reply.status_code == 404:
            return None
        if reply.status_code != 200:
            raise NotYet(f"the worker's record of {operation_id}: {reply.status_code}")
        body = reply.json()
        data = body.get("data", body) if isinstance(body, dict) else {}
        return data.get("status") if isinstance(data, dict) else None
