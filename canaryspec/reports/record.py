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

from canaryspec.outcomes import CATEGORIES, Outcome, RunEnd, Verdict, headline, is_selected, judge

RUN_RECORD = "run.json"
# The area each feature tag stands for, in report order (Allure's epic, the summary's rows).
AREAS = {"images": "Images", "migrations": "Database migrations", "workers": "Workers",
         "dispatch": "Dispatch", "training": "Training", "backtest": "Backtesting",
         "gpu": "GPU host"}


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

    @property
    def category_name(self) -> str:
        return next((c.name for c in CATEGORIES if c.key == self.category), "")


@dataclass
class ImageRecord:
    role: str
    tag: str
    image_id: str
    size_mb: float
    user: str
    torch: str = "not checked"


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
    setup_error: dict[str, Any] | None = None
    interrupted_by: str | None = None     # the signal that aborted the run
    exit_code: int | None = None

    @property
    def end(self) -> RunEnd:
        return RunEnd(self.interrupted_by, self.setup_error)

    def write(self, reports_dir: Path) -> Path:
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
        reason=verdict.reason[:4000],
        category=category.key if category else "",
        history_id=scenario_history_id(scenario),
        steps=[{"keyword": step.keyword, "name": step.name, "status": step.status.name}
               for step in scenario.all_steps])
