"""What a run leaves for its reports: scenario outcomes, image facts, timings, environment.

behave's hooks fill a RunRecord while the run goes; after_all writes it as `reports/run.json`;
the summary and the Allure extras are rendered from that file, so they can be re-rendered (and
tested) without running anything.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from canaryspec.settings import PROJECT_ROOT

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
    status: str
    seconds: float
    reason: str = ""

    @property
    def area(self) -> str:
        for tag, area in AREAS.items():
            if tag in self.tags:
                return area
        return "Other"


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
    setup_error: dict[str, Any] | None = None

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

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "skipped": 0, "other": 0}
        for s in self.scenarios:
            out[s.status if s.status in out else "other"] += 1
        return out


def failure_reason(scenario: Any) -> str:
    """The first paragraph of what failed in a behave scenario: the reason, not a traceback."""
    for step in list(getattr(scenario, "background_steps", []) or []) + list(scenario.steps):
        if getattr(step.status, "name", "") in {"failed", "error", "undefined"}:
            if step.status.name == "undefined":
                return f"undefined step: {step.keyword} {step.name}"
            text = str(step.exception or step.error_message or "").strip()
            paragraph = text.split("\n\n", 1)[0]
            return f"{step.keyword} {step.name}: {paragraph}"[:600]
    return ""


def record_scenario(scenario: Any) -> ScenarioRecord:
    return ScenarioRecord(
        feature=scenario.feature.name,
        feature_file=Path(scenario.feature.filename).stem,
        name=scenario.name,
        tags=sorted({str(tag) for tag in scenario.effective_tags}),
        status=scenario.status.name,
        seconds=round(float(scenario.duration or 0.0), 2),
        reason=failure_reason(scenario) if scenario.status.name != "passed" else "")


def _command_output(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=20,
                                cwd=PROJECT_ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip().splitlines()[0] if result.returncode == 0 and \
        result.stdout.strip() else "unknown"


def describe_environment(engine_version: str, compose: list[str] | None) -> dict[str, str]:
    """Where the run happened: engine, Compose, git revision, host Python."""
    revision = _command_output(["git", "rev-parse", "--short", "HEAD"])
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "docker.engine": engine_version,
        "compose": _command_output([*compose, "version", "--short"]) if compose else
        "not used in this run",
        "git.revision": revision + ("+local changes" if dirty not in {"unknown", ""} else ""),
        "python": platform.python_version(),
    }
