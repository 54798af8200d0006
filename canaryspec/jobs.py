"""Training and backtest jobs as the suite sees them: the requests it sends, the cases of bad
input, what it started, and operations read as typed values.

No HTTP and no Docker here: the canary handle (canaryspec.handle) sends and waits; this module
says what to send and how to read the answers.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from canaryspec import oracle
from canaryspec.api import Reply
from canaryspec.oracle import Costs
from canaryspec.responses import Responses, dig
from canaryspec.seeding import PERIODS, PLANTED_PERIODS, MarketData, Period, planted_pattern
from canaryspec.vocabulary import API, JOBS, STRATEGY_INPUTS, JobKind

TERMINAL = {"completed", "failed", "cancelled"}

# Every training and backtest a scenario runs spans a period whose planted pattern the suite
# knows (canaryspec.seeding): a quarter of hourly bars trains in about a second.
TRAINING_PERIOD = PERIODS["the training quarter"]
BACKTEST_PERIOD = PERIODS["the backtest month"]
TRAINING_RANGE = (TRAINING_PERIOD.start.isoformat(), TRAINING_PERIOD.end.isoformat())
BACKTEST_RANGE = (BACKTEST_PERIOD.start.isoformat(), BACKTEST_PERIOD.end.isoformat())
# The models volume as the canary mounts it (both profiles), and where the suite puts a file
# that is not a model there (writable by the worker).
MODELS = "/mnt/ktrdr_data/models"
CORRUPT_MODEL = f"{MODELS}/corrupt/not-a-model.pt"


@dataclass(frozen=True)
class BadRequest:
    """A request the platform must refuse: where it goes, what is sent, the 4xx expected.

    Most ask for a job (`job`: sent to its start route, and cancelled should a broken platform
    accept it); the others go to `path` (a registration, an operation looked up). A body is
    JSON, or text sent as-is under `content_type` (malformed JSON, a NaN, a form)."""

    job: JobKind | None
    body: dict[str, Any] | list[Any] | str | None
    statuses: frozenset[int]
    method: str = "POST"
    path: str = ""
    content_type: str = "application/json"

    @property
    def route(self) -> str:
        return self.path or (self.job.start_path if self.job else "")

    @property
    def status(self) -> str:
        """The status(es) expected, in words ("422", "400 or 422")."""
        return " or ".join(str(s) for s in sorted(self.statuses))

    @property
    def worker_id(self) -> str | None:
        """The worker a refused registration names (it must not be registered after it)."""
        if self.path != REGISTER or not isinstance(self.body, dict):
            return None
        return str(self.body.get("worker_id") or "") or None


REGISTER = f"{API}/workers/register"


def _bad(job: str, body: dict[str, Any] | list[Any] | str, *statuses: int,
         content_type: str = "application/json") -> BadRequest:
    return BadRequest(JOBS[job], body, frozenset(statuses), content_type=content_type)


def _call(method: str, path: str, *statuses: int) -> BadRequest:
    return BadRequest(None, None, frozenset(statuses), method=method, path=path)


def _registration(*statuses: int, **fields: Any) -> BadRequest:
    """A registration at the backend's own loopback: were it accepted by a broken platform,
    the address it names is the backend's own container, never anywhere else."""
    body = {"worker_id": "canary-hostile-worker", "worker_type": "backtesting",
            "endpoint_url": "http://127.0.0.1:9", **fields}
    return BadRequest(None, {k: v for k, v in body.items() if v is not None},
                      frozenset(statuses), path=REGISTER)


# Valid requests the hostile ones are variations of: each refusal is about the one thing
# changed (a backtest of v3_minimal on EURUSD over the backtest month).
_TRAINING = {"strategy_name": "v3_minimal"}
_BACKTEST = {"strategy_name": "v3_minimal", "symbol": "EURUSD", "timeframe": "1h",
             "start_date": "2024-07-01", "end_date": "2024-08-01"}
MEGABYTE = "x" * 1_048_576


def _raw_backtest(**raw_fields: str) -> str:
    """The backtest as JSON text with fields whose values JSON itself cannot hold (NaN,
    Infinity: Python's parser reads them, many others do too)."""
    extra = "".join(f', "{name}": {value}' for name, value in raw_fields.items())
    return json.dumps(_BACKTEST)[:-1] + extra + "}"


# Named as the features' Examples name them (a typed step parameter: an unknown case is an
# undefined step). The valid remainder of each body is a request that would be accepted, so the
# refusal is about the one thing wrong with it.
BAD_REQUESTS: dict[str, BadRequest] = {
    # --- the contract's own refusals (the real platform refuses them too)
    "an unknown strategy": _bad("training", {"strategy_name": "neuro_mean_reversion"}, 400),
    "an empty list of symbols": _bad(
        "training", {"strategy_name": "v3_minimal", "symbols": []}, 422),
    "an empty list of timeframes": _bad(
        "training", {"strategy_name": "v3_minimal", "timeframes": []}, 422),
    "a backtest without an end date": _bad(
        "backtest", {"strategy_name": "v3_minimal", "start_date": "2024-01-01"}, 422),
    "malformed JSON": _bad("training", '{"strategy_name": "v3_minimal",', 422),
    # An unknown strategy (400) to a platform that only looks its file up, an invalid name
    # (422) to one that checks names first: refused either way, and never a file read.
    "a strategy name that climbs out of its folder": _bad(
        "training", {"strategy_name": "../../../../etc/passwd"}, 400, 422),
    "a strategy name that is not text": _bad("training", {"strategy_name": 42}, 422),
    "a list of symbols that is not a list": _bad(
        "training", {**_TRAINING, "symbols": "EURUSD"}, 422),
    "a capital that is not a number": _bad(
        "backtest", {**_BACKTEST, "initial_capital": "lots"}, 422),
    "a request that is a list, not an object": _bad("training", [_TRAINING], 422),
    "an unknown worker type": _registration(422, worker_type="miner"),
    "a registration without an address": _registration(422, endpoint_url=None),
    "a training asked for by reading it": _call("GET", f"{API}/trainings/start", 405),
    "an operation replaced wholesale": _call("PUT", f"{API}/operations/op_canary_hostile",
                                             405),
    # --- what tradelab refuses up front (stricter than the contract)
    "an unreadable start date": _bad(
        "training", {"strategy_name": "v3_minimal", "start_date": "first of May",
                     "end_date": "2024-06-01"}, 422),
    "an end date before its start date": _bad(
        "backtest", {"strategy_name": "v3_minimal", "start_date": "2024-06-01",
                     "end_date": "2024-01-01"}, 422),
    "a symbol that has no market data": _bad(
        "training", {"strategy_name": "v3_minimal", "symbols": ["NOPE"]}, 400),
    "an empty timeframe name": _bad(
        "backtest", {"strategy_name": "v3_minimal", "timeframe": "", "start_date": "2024-07-01",
                     "end_date": "2024-08-01"}, 422),
    # Names that would become paths.
    "a symbol that climbs out of the data folder": _bad(
        "training", {**_TRAINING, "symbols": ["../data/EURUSD"]}, 422),
    "a backtest symbol that climbs out of the data folder": _bad(
        "backtest", {**_BACKTEST, "symbol": "../data/EURUSD"}, 422),
    "a timeframe that climbs out of the data folder": _bad(
        "backtest", {**_BACKTEST, "timeframe": "1h/../../../../etc/passwd"}, 422),
    "a model path that climbs out of the models volume": _bad(
        "backtest", {**_BACKTEST, "model_path": "../../../../etc/passwd"}, 422),
    "a model path elsewhere on the disk": _bad(
        "backtest", {**_BACKTEST, "model_path": "/etc/passwd"}, 422),
    "a model path that leaves the models volume through it": _bad(
        "backtest", {**_BACKTEST, "model_path": f"{MODELS}/../../../etc/passwd"}, 422),
    # Sizes no valid request has.
    "a strategy name of a megabyte": _bad("training", {"strategy_name": MEGABYTE}, 422),
    "a backtest strategy name of a megabyte": _bad(
        "backtest", {**_BACKTEST, "strategy_name": MEGABYTE}, 422),
    "a symbol of a megabyte": _bad("training", {**_TRAINING, "symbols": [MEGABYTE]}, 422),
    "a backtest symbol of a megabyte": _bad("backtest", {**_BACKTEST, "symbol": MEGABYTE},
                                            422),
    "ten thousand unknown symbols": _bad(
        "training", {**_TRAINING, "symbols": [f"NOPE{i}" for i in range(10_000)]}, 422),
    # Characters no name has.
    "a line break in a symbol": _bad("backtest", {**_BACKTEST, "symbol": "EUR\nUSD"}, 422),
    "a NUL byte in a strategy name": _bad("training", {"strategy_name": "v3_minimal\u0000"},
                                          422),
    # Numbers and dates no job can use.
    "a capital that is not a number at all": _bad(
        "backtest", _raw_backtest(initial_capital="NaN"), 422),
    "an infinite capital": _bad("backtest", _raw_backtest(initial_capital="Infinity"), 422),
    "a negative infinite slippage": _bad("backtest", _raw_backtest(slippage="-Infinity"), 422),
    "a capital beyond a trillion": _bad("backtest", {**_BACKTEST, "initial_capital": 1e13},
                                        422),
    "a training dated in the year 1": _bad(
        "training", {**_TRAINING, "start_date": "0001-01-01", "end_date": "0001-06-01"}, 422),
    "a training dated in the year 9999": _bad(
        "training", {**_TRAINING, "start_date": "9999-01-01", "end_date": "9999-06-01"}, 422),
    # Bodies that are not JSON.
    "a backtest sent as a form": _bad(
        "backtest", "strategy_name=v3_minimal&symbol=EURUSD", 415,
        content_type="application/x-www-form-urlencoded"),
    "a backtest sent as plain text": _bad("backtest", json.dumps(_BACKTEST), 415,
                                          content_type="text/plain"),
    # Registrations at no address the backend can use.
    "a worker address without a host": _registration(422, endpoint_url="http://"),
    "a worker address without a port": _registration(422, endpoint_url="http://127.0.0.1"),
    "a worker address that is not http": _registration(422,
                                                       endpoint_url="file:///etc/passwd"),
    "a worker name with a line break": _registration(422, worker_id="canary\nworker"),
    # Operation ids that would reach a query.
    "an operation id with a NUL byte": _call("GET", f"{API}/operations/op%00canary", 422),
    "an operation id with a quote and a semicolon": _call(
        "GET", f"{API}/operations/op'%3B--canary", 422),
    "an offset past any page": _call("GET", f"{API}/operations?offset={10**20}", 422),
}


def training_request(strategy: str, *, dates: tuple[str, str] = TRAINING_RANGE,
                     **overrides: Any) -> dict[str, Any]:
    """A training of `strategy` over `dates` (the training quarter; a long training passes its
    profile's `MarketData.long_training`)."""
    return {"strategy_name": strategy, "start_date": dates[0], "end_date": dates[1],
            **overrides}


def backtest_request(strategy: str, **overrides: Any) -> dict[str, Any]:
    return {"strategy_name": strategy, "symbol": "EURUSD", "timeframe": "1h",
            "start_date": BACKTEST_RANGE[0], "end_date": BACKTEST_RANGE[1], **overrides}


def direct_training() -> dict[str, Any]:
    """A training as the backend hands it to a worker (the contract's worker side), with an
    operation id of the suite's own, for asking a worker directly."""
    return {"task_id": f"op_training_canary_direct_{uuid.uuid4().hex[:8]}",
            "strategy_yaml": "name: canary_direct\n", "symbols": ["EURUSD"],
            "timeframes": ["1h"], "start_date": TRAINING_RANGE[0],
            "end_date": TRAINING_RANGE[1]}


@dataclass(frozen=True)
class ModelSpec:
    """A model as a scenario asks for it: a strategy trained on one symbol over a period."""

    strategy: str
    symbol: str
    period: Period
    timeframe: str = "1h"

    def training_request(self) -> dict[str, Any]:
        return training_request(self.strategy, symbols=[self.symbol],
                                timeframes=[self.timeframe],
                                start_date=self.period.start.isoformat(),
                                end_date=self.period.end.isoformat())

    def __str__(self) -> str:
        return (f"{self.strategy} trained on {self.symbol} {self.timeframe} bars over "
                f"{self.period.name}")


# The contract's defaults, sent as a client that states everything would send them.
BACKTEST_COSTS = {"initial_capital": 100_000.0, "commission": 0.001, "slippage": 0.0005}


def market_request(strategy: str, symbol: str, period: Period, model_path: str,
                   costs: Costs | None = None) -> dict[str, Any]:
    """A backtest of the model at `model_path` on `symbol`'s hourly bars over `period`, every
    field stated (the contract's default costs unless `costs` are given)."""
    return backtest_request(strategy, symbol=symbol, start_date=period.start.isoformat(),
                            end_date=period.end.isoformat(), model_path=model_path,
                            **(vars(costs) if costs else BACKTEST_COSTS))


# What a backtest of a model on planted data must show. A model that learned the pattern of
# the market it replays is right on most trades (perfectly, for "reverses"); one that learned
# the other pattern is wrong on most. A model that learned nothing is near 50 %: neither.
# A model right on nearly every trade also never draws down much.
KNOWN_RESULTS = {
    "profits": {"total_return": (0.0, None), "win_rate": (0.7, None),
                "max_drawdown": (0.0, 0.1)},
    "loses": {"total_return": (None, 0.0), "win_rate": (None, 0.3)},
}
MIN_KNOWN_ANSWER_TRADES = 20


@dataclass(frozen=True)
class KnownAnswer:
    """The result the planted market data dictates for a backtest of `model` on `market`
    over `period`: "profits" when the model learned the pattern the market follows there,
    "loses" otherwise."""

    model: ModelSpec
    market: str
    period: Period

    @property
    def learned(self) -> str:
        return planted_pattern(self.model.symbol, self.model.period)

    @property
    def replayed(self) -> str:
        return planted_pattern(self.market, self.period)

    @property
    def expected(self) -> str:
        return "profits" if self.learned == self.replayed else "loses"

    def __str__(self) -> str:
        return f"{self.model}, replayed on {self.market} over {self.period.name}"

    def explain(self) -> str:
        return (f"{self.model} learned that prices {self.learned}; {self.market} "
                f"{self.replayed} over {self.period.name}")

    def problem(self, metrics: dict[str, Any], responses: Responses, expected: str) \
            -> str | None:
        """None when the metrics show `expected` (which must be what the data dictates), else
        a sentence saying what was seen and which correspondence it breaks."""
        if expected != self.expected:
            raise ValueError(f"the feature expects a backtest that {expected}, but the planted "
                             f"data says it {self.expected}: {self.explain()}")
        bounds = [(name, low, high) for name, (low, high) in KNOWN_RESULTS[expected].items()]
        bounds.append(("total_trades", MIN_KNOWN_ANSWER_TRADES, None))
        problems = metric_bounds_problems(metrics, bounds, responses)
        # Equity starts at its peak: a run that ends below it fell at least that far.
        ret, drawdown = (responses.metric(metrics, n)[1] for n in ("total_return",
                                                                   "max_drawdown"))
        if isinstance(ret, int | float) and isinstance(drawdown, int | float) and \
                drawdown < -ret - 1e-6:
            problems.append(f"max_drawdown {drawdown} is less than the loss {-ret}")
        if not problems:
            return None
        seen = ", ".join(f"{name} {responses.metric(metrics, name)[1]}"
                         for name in ("total_return", "win_rate", "max_drawdown",
                                      "total_trades"))
        return (f"expected a backtest that {expected} ({self.explain()}), but it reported "
                f"{seen}: {'; '.join(problems)}")


@dataclass(frozen=True)
class Operation:
    """An operation as the platform reports it, read into the fields the suite judges."""

    operation_id: str
    status: str
    percentage: float
    current_step: str
    error_message: str
    result_summary: dict[str, Any]
    raw: dict[str, Any]
    steps_completed: int = 0
    steps_total: int = 0

    @classmethod
    def of(cls, body: dict[str, Any]) -> Operation:
        progress = body.get("progress") or {}
        return cls(str(body.get("operation_id", "")), str(body.get("status", "?")),
                   float(progress.get("percentage") or 0), str(progress.get("current_step") or ""),
                   str(body.get("error_message") or ""), dict(body.get("result_summary") or {}),
                   body, int(progress.get("steps_completed") or 0),
                   int(progress.get("steps_total") or 0))

    def sample(self) -> ProgressSample:
        return ProgressSample(self.status, self.percentage, self.current_step,
                              self.steps_completed, self.steps_total,
                              *(str(self.raw.get(name) or "") for name in
                                ("created_at", "started_at", "completed_at")))

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def describe(self) -> str:
        text = f"status {self.status}, {self.percentage:g}% ({self.current_step or 'no step'})"
        return text + (f", error: {self.error_message}" if self.error_message else "")


def record_changes(before: Operation | None, after: Operation | None) -> list[str]:
    """Each field of an operation's record that differs between two reads of it, as
    "field: before -> after" (a missing record is a change of its own)."""
    if before is None or after is None:
        return [f"the record: {'present' if before else 'absent'} -> "
                f"{'present' if after else 'absent'}"]
    return [f"{field}: {before.raw.get(field)!r} -> {after.raw.get(field)!r}"
            for field in sorted(set(before.raw) | set(after.raw))
            if before.raw.get(field) != after.raw.get(field)]


def describe(op: Operation | None) -> str:
    return op.describe() if op is not None else "operation not found (404)"


@dataclass
class StartedJob:
    """A job the suite asked for: its request, the platform's answer, and how it ended."""

    job: JobKind
    request: dict[str, Any] | str
    reply: Reply
    started_at: float = field(default_factory=time.monotonic)
    final: Operation | None = None
    seconds: float | None = None

    @property
    def accepted(self) -> bool:
        return self.reply.status == 200 and bool(self.reply.operation_id)

    @property
    def operation_id(self) -> str:
        op_id = self.reply.operation_id
        if not op_id:
            raise AssertionError(f"the {self.job.name} was not accepted with an operation id: "
                                 f"{self.reply.brief()}")
        return op_id

    @property
    def strategy(self) -> str:
        return self.request.get("strategy_name", "") if isinstance(self.request, dict) else ""

    def finished(self, operation: Operation) -> Operation:
        self.final, self.seconds = operation, time.monotonic() - self.started_at
        return operation

    def model_path(self) -> str:
        """The model a finished training says it saved."""
        path = (self.final.result_summary if self.final else {}).get("model_path")
        if not path:
            raise AssertionError(f"the training reported no model_path: "
                                 f"{self.final.result_summary if self.final else None}")
        return str(path)


ACTIVE = {"pending", "resuming", "running"}


@dataclass(frozen=True)
class OperationsList:
    """The operations list as the platform answered one query: its entries and the totals it
    reports beside them."""

    filters: dict[str, Any]
    entries: list[dict[str, Any]]
    total_count: Any
    active_count: Any
    limit: int  # the page size it was read with: fewer entries than this is the whole list

    def entry(self, operation_id: str) -> dict[str, Any] | None:
        return next((e for e in self.entries if e.get("operation_id") == operation_id), None)

    @property
    def complete(self) -> bool:
        """The list holds every operation its filters select (it came in under its limit)."""
        return len(self.entries) < self.limit

    def problems(self) -> list[str]:
        """What does not hold together: entries the filters should have left out, totals that
        disagree with the entries. `total_count` counts what the filters select (the contract;
        the real platform counts before it pages), so a list that holds all of it must hold
        exactly that many; `active_count` counts every active operation, filters or not, so it
        is checked on the unfiltered list."""
        problems = [f"{e.get('operation_id')} is {e.get(key)}, listed under {key}={value}"
                    for key, value in self.filters.items() if key in {"status", "operation_type"}
                    for e in self.entries if e.get(key) != value]
        if self.filters.get("active_only"):
            problems += [f"{e.get('operation_id')} is {e.get('status')}, listed under "
                         "active_only" for e in self.entries if e.get("status") not in ACTIVE]
        if not isinstance(self.total_count, int) or not isinstance(self.active_count, int):
            return [*problems, f"the list reports no totals (total_count "
                               f"{self.total_count!r}, active_count {self.active_count!r})"]
        if self.total_count < len(self.entries):
            problems.append(f"total_count {self.total_count} is less than the "
                            f"{len(self.entries)} entries listed")
        elif self.complete and self.total_count != len(self.entries):
            problems.append(f"total_count is {self.total_count} but the list under "
                            f"{self.filters or 'no filter'} holds {len(self.entries)} entries, "
                            f"all it selects (fewer than its limit of {self.limit})")
        if self.complete and not self.filters:
            active = sum(e.get("status") in ACTIVE for e in self.entries)
            if self.active_count != active:
                problems.append(f"active_count is {self.active_count} but {active} of the "
                                f"{len(self.entries)} operations listed are active")
        return problems

    def order_problems(self, newest: str) -> list[str]:
        """Whether the list is newest first (the contract) with `newest`, the operation started
        last, at its head: each entry created no later than the one before it."""
        problems = []
        created = [(str(e.get("operation_id")), _moment(e.get("created_at")))
                   for e in self.entries]
        ids, moments = [op_id for op_id, _ in created], dict(created)
        # Ahead of it only what was created at the same moment (a tie the list may order
        # either way).
        if newest not in moments or any(
                moments[op_id] is None or moments[op_id] != moments[newest]
                for op_id in ids[:ids.index(newest)]):
            where = f"at position {ids.index(newest) + 1}" if newest in moments else "not listed"
            problems.append(f"{newest}, started last, is {where}; the list starts with "
                            f"{ids[:3]}")
        problems += [f"{later_id} (created {later}) is listed after {earlier_id} (created "
                     f"{earlier})" for (earlier_id, earlier), (later_id, later)
                     in itertools.pairwise(created)
                     if earlier is not None and later is not None and later > earlier]
        unreadable = [op_id for op_id, moment in created if moment is None]
        if unreadable:
            problems.append(f"{len(unreadable)} entries have no readable created_at: "
                            f"{unreadable[:3]}")
        return problems


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (naive ones taken as UTC), or None."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def paging_problems(whole: list[str], pages: list[tuple[int, int, list[str], Any]],
                    whole_count: int | None = None) -> list[str]:
    """Whether pages of the list, read with (offset, limit), give the whole list's entries (ids,
    newest first) each exactly once and in its order: a page is the slice [offset, offset +
    limit) of the whole, the first page (offset 0) included. Each page's `total_count` (the
    page's fourth item) must be `whole_count`, the number of operations the whole list holds
    (None: not judged): a page that counts only its own entries agrees with itself alone."""
    problems = []
    for offset, limit, ids, total in pages:
        expected = whole[offset:offset + limit]
        if ids != expected:
            problems.append(f"offset={offset}&limit={limit} gave {ids or 'nothing'}, where the "
                            f"whole list holds {expected or 'nothing'} there")
        if whole_count is not None and total != whole_count:
            problems.append(f"offset={offset}&limit={limit} reports total_count {total!r}, "
                            f"where the whole list holds {whole_count} operations")
    return problems


@dataclass(frozen=True)
class ProgressSample:
    status: str
    percentage: float
    current_step: str
    steps_completed: int = 0
    steps_total: int = 0
    # The operation's moments as it reported them at this reading (the contract's fields).
    created_at: str = ""
    started_at: str = ""
    completed_at: str = ""


def rising_readings(samples: list[ProgressSample]) -> list[ProgressSample]:
    """In-between readings of a running job (0 < p < 100, naming a step), each higher than the
    one before it."""
    between = [s for s in samples
               if s.status == "running" and 0 < s.percentage < 100 and s.current_step]
    return [b for a, b in itertools.pairwise(between) if b.percentage > a.percentage]


# The edges an operation's status may take (a status may also stay as it is).
LEGAL_MOVES = {"pending": {"running", "failed", "cancelled"},
               "running": {"completed", "failed", "cancelled"}}


def life_problems(samples: list[ProgressSample], ends: str) -> list[str]:
    """What is wrong with a job's whole life as read from start to end (empty when nothing
    is): its status moved only along legal edges and ended `ends`; progress never fell back
    or left [0, 100]; it showed two rising readings while it ran; it ended at 100 %."""
    problems = []
    statuses = [s.status for s in samples]
    for before, after in itertools.pairwise(statuses):
        if after != before and after not in LEGAL_MOVES.get(before, set()):
            problems.append(f"its status moved from {before} to {after}")
    if not statuses or statuses[-1] != ends:
        problems.append(f"it ended {statuses[-1] if statuses else 'unseen'}, not {ends}")
    out_of_range = [s.percentage for s in samples if not 0 <= s.percentage <= 100]
    if out_of_range:
        problems.append(f"its progress left [0, 100]: {out_of_range}")
    for a, b in itertools.pairwise(samples):
        if b.percentage < a.percentage:
            problems.append(f"its progress fell back from {a.percentage:g}% ({a.status}) to "
                            f"{b.percentage:g}% ({b.status})")
    if not rising_readings(samples):
        problems.append("it never showed two rising readings between 0 and 100 % while it ran")
    if samples and samples[-1].status == "completed" and samples[-1].percentage != 100:
        problems.append(f"it completed at {samples[-1].percentage:g}%, not 100%")
    # The contract's steps: how many there are, counted up, all done at the end.
    counted = [s for s in samples if s.steps_total > 0]
    if not counted:
        problems.append("it never said how many steps it has (steps_total stayed 0)")
    for a, b in itertools.pairwise(counted):
        if b.steps_completed < a.steps_completed:
            problems.append(f"its steps went back from {a.steps_completed} to "
                            f"{b.steps_completed} of {b.steps_total}")
    last = samples[-1] if samples else None
    if last and last.status == "completed" and last.steps_completed != last.steps_total:
        problems.append(f"it completed at step {last.steps_completed} of {last.steps_total}")
    return problems


def no_data_problem(started: StartedJob, period: Period) -> str | None:
    """Whether a backtest over a period with no bars ended as it must (None) or how it did
    not: refused (4xx) or failed, either way saying which dates it had no data for (the
    period's start or end as written in the request). Completing is not an answer: there was
    nothing to trade, and a result of zeros reads as a strategy that never traded."""
    dates = (period.start.isoformat(), period.end.isoformat())
    if not started.accepted:
        # Its own words: a refusal that repeats the request back names every date in it.
        named = any(started.reply.says(day) for day in dates)
        ended = f"refused: {started.reply.brief()}"
        if not 400 <= started.reply.status < 500:
            return f"the backtest over {period.name} was answered {started.reply.brief()}"
    else:
        final = started.final
        if final is None or final.status != "failed":
            return (f"the backtest over {period.name} ({dates[0]} to {dates[1]}), where its "
                    f"market has no bars, ended {describe(final)}, not failed")
        named = any(day in final.error_message for day in dates)
        ended = f"failed: {final.error_message!r}"
    if not named:
        return (f"the backtest over {period.name} was {ended}, naming neither {dates[0]} nor "
                f"{dates[1]}")
    return None


def moment_problems(samples: list[ProgressSample]) -> list[str]:
    """Whether the operation's moments tell its life: created, then started once (the moment
    never moves once set), then completed when it ended; each no earlier than the one before."""
    problems = []
    started = list(dict.fromkeys(s.started_at for s in samples if s.started_at))
    if len(started) > 1:
        problems.append(f"its started_at moved from {started[0]} to {started[1]} while it ran"
                        + (f" ({len(started) - 1} times in all)" if len(started) > 2 else ""))
    last = samples[-1] if samples else None
    if last is None or last.status not in TERMINAL:
        return problems
    moments = {name: getattr(last, name) for name in ("created_at", "started_at",
                                                      "completed_at")}
    missing = [name for name, value in moments.items() if _moment(value) is None]
    if missing:
        return [*problems, f"it ended {last.status} without a readable "
                           f"{' or '.join(missing)} ({moments})"]
    for (earlier, a), (later, b) in itertools.pairwise(moments.items()):
        if _moment(b) < _moment(a):  # type: ignore[operator]
            problems.append(f"its {later} {b} is before its {earlier} {a}")
    return problems


def shown(samples: list[ProgressSample]) -> str:
    return ", ".join(f"{s.percentage:g}% {s.status}" for s in samples)


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


def bounds_of(table: Any) -> list[tuple[str, float | None, float | None]]:
    """A feature's bounds table (metric | at least | at most; empty = no bound)."""
    def number(cell: str) -> float | None:
        return float(cell) if cell.strip() else None

    return [(row["metric"], number(row["at least"]), number(row["at most"])) for row in table]


# The seeded data as an oracle for what a training learned from and what a backtest's trades
# earned (canaryspec.oracle): the platform's account, held to the suite's own arithmetic.


def learned_from_problems(market: MarketData, model: ModelSpec,
                          result_summary: dict[str, Any]) -> tuple[Any, list[str]]:
    """(what the training says it learned from `model.symbol`, how that differs from what the
    seeded bars of the requested range give with the strategy's inputs)."""
    reported = result_summary.get("learned_from")
    entries = [e for e in reported or [] if isinstance(e, dict)]
    mine = [e for e in entries if e.get("symbol") == model.symbol]
    if len(mine) != 1 or len(entries) != 1:
        return reported, [f"asked to train on {model.symbol} alone, it reports learning from "
                          f"{[e.get('symbol') for e in entries] or reported!r}"]
    bars = oracle.seeded_bars(market, model.symbol, model.timeframe, model.period)
    expected = oracle.expected_learning(bars, STRATEGY_INPUTS[model.strategy])
    return mine[0], oracle.learning_problems(mine[0], expected)


# tradelab tests a model on the latest fifth of each series' rows (docs/market-data.md).
HELD_OUT = 0.2


def held_out_problem(result_summary: dict[str, Any]) -> str | None:
    """None when the training and test samples split the rows it learned from 4:1 (which
    fifth was held out is not seen: the platform reports counts only)."""
    rows = sum(e.get("rows", 0) for e in result_summary.get("learned_from") or []
               if isinstance(e, dict))
    trained = dig(result_summary, "training_metrics.samples")
    tested = dig(result_summary, "test_metrics.samples")
    if trained != int(rows * (1 - HELD_OUT)) or tested != rows - trained:
        return (f"of {rows} rows it trained on {trained} and tested on {tested}; the latest "
                f"fifth held out is {int(rows * (1 - HELD_OUT))} and "
                f"{rows - int(rows * (1 - HELD_OUT))}")
    return None


# A model that learned one pattern is right on nearly every row of it and, where the market
# has turned, on far fewer (tradelab: 0.97 and 0.39, docs/market-data.md): "most" either way.
MOSTLY_RIGHT = 0.7
MOSTLY_WRONG = 0.5


def held_out_accuracy_problems(market: MarketData, model: ModelSpec, responses: Responses,
                               result_summary: dict[str, Any]) -> list[str]:
    """Where the training's accuracies say it was not tested on the rows it held out: right on
    most of the rows it trained on, wrong on most of the latest fifth, where the seeded market
    has turned. RuntimeError (not judged) when the period does not put its latest fifth there."""
    bars = oracle.seeded_bars(market, model.symbol, model.timeframe, model.period)
    rows, _ = oracle.decided_rows(bars, STRATEGY_INPUTS[model.strategy])
    split = int(len(rows) * (1 - HELD_OUT))
    turned = [not any(p.contains(bars[at].timestamp) for p in PLANTED_PERIODS) for at in rows]
    if not rows or not all(turned[split:]) or sum(turned[:split]) > 0.1 * split:
        raise RuntimeError(f"{model.period.name} does not hold out rows where the market has "
                           f"turned: of {len(rows)} rows, the latest fifth from row {split}")
    accuracy = responses.training_accuracy(result_summary)
    problems = []
    if accuracy["training"] < MOSTLY_RIGHT:
        problems.append(f"training accuracy {accuracy['training']}, below {MOSTLY_RIGHT} on "
                        f"{split} rows of one pattern")
    if accuracy["test"] >= MOSTLY_WRONG:
        problems.append(f"test accuracy {accuracy['test']} on the {len(rows) - split} rows "
                        f"it held out, where the market has turned (from "
                        f"{bars[rows[split]].timestamp:%Y-%m-%d %H:%M}): not below "
                        f"{MOSTLY_WRONG}, as if tested on rows like those it trained on")
    return problems


def earned_problems(market: MarketData, answer: KnownAnswer, costs: Costs,
                    results: dict[str, Any]) -> list[str]:
    """How the backtest's metrics differ from what its reported trades earn on the seeded
    bars at the costs it was asked for (a ledger too short to prove anything is one)."""
    trades = results.get("trades")
    if not isinstance(trades, list) or len(trades) < MIN_KNOWN_ANSWER_TRADES:
        return [f"the backtest reports {len(trades) if isinstance(trades, list) else 'no'} "
                f"trades; at least {MIN_KNOWN_ANSWER_TRADES} are needed to check its metrics"]
    bars = oracle.seeded_bars(market, answer.market, "1h", answer.period)
    expected, problems = oracle.expected_metrics(bars, STRATEGY_INPUTS[answer.model.strategy],
                                                 trades, costs)
    return problems + oracle.metric_problems(results.get("metrics") or {}, results, expected)
