"""Training and backtest jobs as the suite sees them: the requests it sends, the cases of bad
input, what it started, and operations read as typed values.

No HTTP and no Docker here: the canary handle (canaryspec.handle) sends and waits; this module
says what to send and how to read the answers.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from canaryspec.api import Reply
from canaryspec.responses import Responses
from canaryspec.vocabulary import JOBS, JobKind

TERMINAL = {"completed", "failed", "cancelled"}

# The seed's canary trained on EURUSD 1h; half a year keeps a run in seconds.
TRAINING_RANGE = ("2024-01-01", "2024-07-01")
BACKTEST_RANGE = ("2024-07-01", "2024-10-01")
# Two years of hourly bars: with a fuller strategy (v3_multi_symbol) long enough to watch
# progress, find the worker busy, and cancel mid-run.
LONG_TRAINING = {"start_date": "2023-01-02", "end_date": "2024-12-31"}
# Where the suite puts a file that is not a model (the models volume, writable by the worker).
CORRUPT_MODEL = "/mnt/ktrdr_data/models/corrupt/not-a-model.pt"


@dataclass(frozen=True)
class BadRequest:
    """A request the platform must refuse: what is sent, the 4xx expected, and where."""

    job: JobKind
    body: dict[str, Any] | str
    status: int


def _bad(job: str, body: dict[str, Any] | str, status: int) -> BadRequest:
    return BadRequest(JOBS[job], body, status)


# Named as the feature's Examples name them (a typed step parameter: an unknown case is an
# undefined step). The valid remainder of each body is a request that would be accepted, so the
# refusal is about the one thing wrong with it.
BAD_REQUESTS: dict[str, BadRequest] = {
    "an unknown strategy": _bad("training", {"strategy_name": "neuro_mean_reversion"}, 400),
    "an empty list of symbols": _bad(
        "training", {"strategy_name": "v3_minimal", "symbols": []}, 422),
    "an empty list of timeframes": _bad(
        "training", {"strategy_name": "v3_minimal", "timeframes": []}, 422),
    "an unreadable start date": _bad(
        "training", {"strategy_name": "v3_minimal", "start_date": "first of May",
                     "end_date": "2024-06-01"}, 422),
    "an end date before its start date": _bad(
        "backtest", {"strategy_name": "v3_minimal", "start_date": "2024-06-01",
                     "end_date": "2024-01-01"}, 422),
    "a symbol that has no market data": _bad(
        "training", {"strategy_name": "v3_minimal", "symbols": ["NOPE"]}, 400),
    "a backtest without an end date": _bad(
        "backtest", {"strategy_name": "v3_minimal", "start_date": "2024-01-01"}, 422),
    "malformed JSON": _bad("training", '{"strategy_name": "v3_minimal",', 422),
}


def training_request(strategy: str, *, long: bool = False, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"strategy_name": strategy, "start_date": TRAINING_RANGE[0],
                               "end_date": TRAINING_RANGE[1]}
    if long:
        request.update(LONG_TRAINING)
    return {**request, **overrides}


def backtest_request(strategy: str, **overrides: Any) -> dict[str, Any]:
    return {"strategy_name": strategy, "symbol": "EURUSD", "timeframe": "1h",
            "start_date": BACKTEST_RANGE[0], "end_date": BACKTEST_RANGE[1], **overrides}


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

    @classmethod
    def of(cls, body: dict[str, Any]) -> Operation:
        progress = body.get("progress") or {}
        return cls(str(body.get("operation_id", "")), str(body.get("status", "?")),
                   float(progress.get("percentage") or 0), str(progress.get("current_step") or ""),
                   str(body.get("error_message") or ""), dict(body.get("result_summary") or {}),
                   body)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def describe(self) -> str:
        text = f"status {self.status}, {self.percentage:g}% ({self.current_step or 'no step'})"
        return text + (f", error: {self.error_message}" if self.error_message else "")


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


@dataclass(frozen=True)
class ProgressSample:
    status: str
    percentage: float
    current_step: str


def rising_readings(samples: list[ProgressSample]) -> list[ProgressSample]:
    """In-between readings of a running job (0 < p < 100, naming a step), each higher than the
    one before it."""
    between = [s for s in samples
               if s.status == "running" and 0 < s.percentage < 100 and s.current_step]
    return [b for a, b in itertools.pairwise(between) if b.percentage > a.percentage]


def went_backwards(samples: list[ProgressSample]) -> bool:
    running = [s.percentage for s in samples if s.status == "running"]
    return running != sorted(running)


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
