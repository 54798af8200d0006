"""What a run leaves for its reports: scenario outcomes, image facts, timings, environment.

behave's hooks fill a RunRecord while the run goes (images, jobs, phases); after behave returns,
`python -m canaryspec` judges every selected scenario (canaryspec.outcomes), adds how the run
ended and writes it as `run.json`. The summary, JUnit and the Allure extras are rendered from
that record, so they agree with each other and can be re-rendered (and tested) without running
anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from allure_behave.utils import scenario_history_id

from canaryspec.outcomes import (
    BLOCKED_BY_DEFECT,
    CATEGORIES,
    IMAGE_MISSING,
    MISSING_IMAGE_TEXT,
    Outcome,
    RunEnd,
    Verdict,
    clean_text,
    headline,
    is_finding,
    is_selected,
    judge,
    mask_volatile,
)

RUN_RECORD = "run.json"
# The area each feature tag stands for, in report order (Allure's epic, the summary's rows).
AREAS = {"images": "Images", "migrations": "Database migrations", "workers": "Workers",
         "dispatch": "Dispatch", "training": "Training", "backtest": "Backtesting",
         "security": "Hostile input", "gpu": "GPU host"}


@dataclass
class ScenarioRecord:
    feature: str
    feature_file: str
    name: str
    tags: list[str]
    status: str            # its Outcome: passed, failed, broken, skipped, aborted
    seconds: float
    reason: str = ""       # why it did not pass (whole), or why it was skipped
    category: str = ""     # the Category key of a scenario that did not pass
    history_id: str = ""   # Allure's id of this scenario (outline rows included)
    steps: list[dict[str, str]] = field(default_factory=list)  # keyword, name, status
    # What stopped it (canaryspec.outcomes.root_cause_of): the same for every scenario the
    # same defect stopped; "" for one that passed or was skipped.
    root_cause: str = ""
    kind: str = ""         # the class name of what stopped it, when known (an exception type)

    @property
    def area(self) -> str:
        for tag, area in AREAS.items():
            if tag in self.tags:
                return area
        return "Other"

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.status)

    @property
    def headline(self) -> str:
        """The reason in one line, keeping its decisive line."""
        return headline(self.reason)

    def brief(self, limit: int) -> str:
        """The headline in at most `limit` characters, cut at a word boundary."""
        return headline(self.reason, limit)

    @property
    def is_finding(self) -> bool:
        """Whether its root cause is one of the run's findings (a product defect)."""
        return is_finding(self.outcome, self.category)

    @property
    def cause(self) -> str:
        """Its root cause, or (a record written before root causes) its headline."""
        return self.root_cause or self.headline

    @property
    def problem(self) -> str:
        """A problem outside the product in one line, the same for every scenario it stopped:
        for a missing image, what is missing and how to build it (not the step that met it)."""
        if self.kind == IMAGE_MISSING and MISSING_IMAGE_TEXT in self.reason:
            return headline(self.reason[self.reason.index(MISSING_IMAGE_TEXT):])
        return self.headline

    @property
    def finding_detail(self) -> str:
        """What a finding's scenario adds to its root cause: the Given a blocked one stopped
        at; a failed one's own headline when it says more (the step, the operation)."""
        if self.category == BLOCKED_BY_DEFECT.key:
            return f"blocked at: {self.failed_step or 'a precondition'}"
        # Its own words when they say more than the cause: the figures the cause masks too.
        return self.headline if self.headline and self.headline not in self.cause else ""

    @property
    def message(self) -> str:
        """One line for a CI gate or a report: a finding's root cause first, then what its
        scenario adds; any other problem, its headline."""
        if not self.is_finding:
            return self.headline
        detail = self.finding_detail
        return f"{self.cause} — {detail}" if detail else self.cause

    @property
    def failed_step(self) -> str:
        """The step that did not pass ("" when none did: a hook, or never run)."""
        return next((f"{s['keyword']} {s['name']}" for s in self.steps
                     if s["status"] not in {"passed", "skipped", "untested"}), "")

    @property
    def category_name(self) -> str:
        return next((c.name for c in CATEGORIES if c.key == self.category), "")


def size_reduction_percent(smaller_mb: float, larger_mb: float) -> float:
    """How much smaller (in %) the first image is than the second: the split's promise, as the
    images feature, the summary and `compare` all judge it."""
    return 100.0 * (1 - smaller_mb / larger_mb)


@dataclass
class ImageRecord:
    role: str
    tag: str
    image_id: str
    size_mb: float
    user: str
    torch: str = "not checked"
    # Where the static checks' answers came from: "probed now", "cached from run X", or both.
    facts_from: str = "not probed"


@dataclass
class RunRecord:
    run_id: str
    profile: str
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(
        timespec="seconds"))
    scenarios: list[ScenarioRecord] = field(default_factory=list)
    images: dict[str, ImageRecord] = field(default_factory=dict)
    phases: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    deployment: str = "split"
    # The workers the shared canary had registered when it was ready (worker ids).
    workers: list[str] = field(default_factory=list)
    # The shared canary's start-up: seconds from `compose up` to each service ready, and to
    # each worker type registered.
    startup: dict[str, float] = field(default_factory=dict)
    # Resident memory (MB) of each service, by moment ("idle", "during a training").
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    # A split-vs-monolith comparison (python -m canaryspec compare), when this run was one.
    comparison: dict[str, Any] | None = None
    # Where each canary's services were published on the host: {project: {service:port: addr}}.
    ports: dict[str, dict[str, str]] = field(default_factory=dict)
    # The shared canary's Compose project, when the run names it (else the summary tells it
    # from the project names).
    shared_project: str = ""
    # The platform's own timers the waits were derived from: name -> "60 s (SOURCE)".
    platform_timers: dict[str, str] = field(default_factory=dict)
    # How much smaller than the monolith the CPU worker must be (settings'
    # min_size_reduction_percent): the scenario, the summary and `compare` all judge by it.
    size_reduction_promised: float = 15.0
    # The suite's deadlines as this run used them (scaled for the host): name -> seconds.
    deadlines: dict[str, float] = field(default_factory=dict)
    setup_error: dict[str, Any] | None = None
    interrupted_by: str | None = None     # the signal that aborted the run
    exit_code: int | None = None

    @property
    def end(self) -> RunEnd:
        return RunEnd(self.interrupted_by, self.setup_error)

    def write(self, reports_dir: Path) -> Path:
        if self.setup_error:
            # Kept for people: the message is read in the summary, the console and Allure.
            self.setup_error = {**self.setup_error,
                                "message": clean_text(str(self.setup_error["message"]))}
        reports_dir.mkdir(parents=True, exist_ok=True)
        path = reports_dir / RUN_RECORD
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, reports_dir: Path) -> RunRecord | None:
        path = reports_dir / RUN_RECORD
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        data["scenarios"] = [ScenarioRecord(**s) for s in data.get("scenarios", [])]
        data["images"] = {k: ImageRecord(**v) for k, v in data.get("images", {}).items()}
        return cls(**data)

    def counts(self) -> dict[Outcome, int]:
        """Scenarios by outcome, every outcome present (zero included)."""
        out = dict.fromkeys(Outcome, 0)
        for s in self.scenarios:
            out[s.outcome] += 1
        return out

    def outcomes(self) -> list[Outcome]:
        return [s.outcome for s in self.scenarios]

    def images_missing(self) -> bool:
        """Whether a scenario was not judged because the engine lacks an image it needs."""
        return any(s.kind == IMAGE_MISSING for s in self.scenarios)

    def findings(self) -> dict[str, list[ScenarioRecord]]:
        """The run's findings: each distinct root cause of a failed or blocked-by-defect
        scenario, with the scenarios it affects; the one that affects most first."""
        found: dict[str, list[ScenarioRecord]] = {}
        for scenario in self.scenarios:
            if scenario.is_finding:
                found.setdefault(scenario.cause, []).append(scenario)
        return dict(sorted(found.items(), key=lambda item: -len(item[1])))


def scenario_records(features: Iterable[Any], config: Any, end: RunEnd) -> list[ScenarioRecord]:
    """One record per scenario the run selected (outline rows each), judged after the run."""
    records = []
    for feature in features:
        for scenario in feature.walk_scenarios():
            if is_selected(scenario, config):
                records.append(record_scenario(scenario, judge(scenario, end)))
    return records


def record_scenario(scenario: Any, verdict: Verdict) -> ScenarioRecord:
    category = verdict.category
    return ScenarioRecord(
        feature=scenario.feature.name,
        feature_file=Path(scenario.feature.filename).stem,
        name=scenario.name,
        tags=sorted({str(tag) for tag in scenario.effective_tags}),
        status=verdict.outcome.value,
        seconds=round(float(scenario.duration or 0.0), 2),
        reason=clean_text(verdict.reason)[:4000],
        category=category.key if category else "",
        history_id=scenario_history_id(scenario),
        steps=[{"keyword": step.keyword, "name": step.name, "status": step.status.name}
               for step in scenario.all_steps],
        root_cause=clean_text(verdict.root_cause),
        kind=verdict.kind)
