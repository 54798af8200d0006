"""Allure results that stand on their own: environment, categories, executor, labels, history.

allure-behave writes one `*-result.json` per scenario. Around it, this module:
- empties the results directory before a run (keeping the carried history), so a report shows
  this run and nothing stale;
- after the run, writes `environment.properties`, `categories.json`, `executor.json`;
- labels each result with its epic (the area of the product), story and severity;
- turns a set-up error (no scenario ran) into a "broken" result, so infrastructure problems show
  in the report and its categories instead of vanishing;
- keeps `history/` between local runs (reports/allure-history), so Allure shows trends.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from canaryspec.run_record import AREAS, RunRecord

EPIC_LABEL, STORY_LABEL, SEVERITY_LABEL = "epic", "story", "severity"
HISTORY_STORE = "allure-history"
HISTORY_RUNS_KEPT = 20

# First match wins (Allure's rule). Messages are matched whole, hence the (?s).* around them.
INFRASTRUCTURE = (r"(?s).*(Docker engine|DOCKER_HOST|EngineUnavailable|ImageUnavailable|"
                  r"ComposeUnavailable|PortInUse|CanaryStartFailed|build of \S+ failed|"
                  r"not on this engine|already in use|compose .*failed|Compose v2|"
                  r"canary failed to start).*")
TEST_DATA = (r"(?s).*(No market data|Strategy file not found|Model not found|"
             r"usable bars in the date range|is the data volume seeded).*")
CATEGORIES: list[dict[str, Any]] = [
    {"name": "Infrastructure problems (engine, build, Compose, ports)",
     "description": "The canary could not be built or started; nothing about the product was "
                    "judged. Fix the machine or the build, then re-run.",
     "matchedStatuses": ["broken", "failed"], "messageRegex": INFRASTRUCTURE},
    {"name": "Test-data problems (strategies, market data, models)",
     "description": "The data a job needs was missing or unusable in the canary.",
     "matchedStatuses": ["broken", "failed"], "messageRegex": TEST_DATA},
    {"name": "Suite errors (a bug in canaryspec)",
     "description": "A step crashed instead of asserting: fix the suite, not the product.",
     "matchedStatuses": ["broken"]},
    {"name": "Product defects",
     "description": "The platform did not behave as the scenario requires.",
     "matchedStatuses": ["failed"]},
]
SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")


def prepare(results_dir: Path, reports_dir: Path) -> None:
    """Empty the results of earlier runs; bring back the history carried between runs."""
    if results_dir.exists():
        shutil.rmtree(results_dir)
    results_dir.mkdir(parents=True)
    store = reports_dir / HISTORY_STORE
    if store.is_dir():
        shutil.copytree(store, results_dir / "history")


def _results(results_dir: Path) -> Iterable[tuple[Path, dict[str, Any]]]:
    for path in sorted(results_dir.glob("*-result.json")):
        yield path, json.loads(path.read_text())


def _template_story(name: str) -> str:
    """An outline's example name without its "-- @1.2 Examples" suffix."""
    return name.split(" -- @", 1)[0]


def label_results(results_dir: Path) -> int:
    """Epic from the area tag, story from the scenario, severity from a tag (else normal)."""
    labelled = 0
    for path, result in _results(results_dir):
        labels = result.setdefault("labels", [])
        tags = {label["value"] for label in labels if label["name"] == "tag"}
        names = {label["name"] for label in labels}
        area = next((a for t, a in AREAS.items() if t in tags), "Other")
        if EPIC_LABEL not in names:
            labels.append({"name": EPIC_LABEL, "value": area})
        if STORY_LABEL not in names:
            labels.append({"name": STORY_LABEL, "value": _template_story(result["name"])})
        if SEVERITY_LABEL not in names:
            labels.append({"name": SEVERITY_LABEL, "value": "normal"})
        path.write_text(json.dumps(result))
        labelled += 1
    return labelled


def write_setup_failure(results_dir: Path, error: dict[str, Any]) -> Path:
    """A set-up error as a broken result: it shows in the report under its category."""
    now = int(time.time() * 1000)
    test_uuid = str(uuid.uuid4())
    result = {
        "uuid": test_uuid, "historyId": "canaryspec-setup", "testCaseId": "canaryspec-setup",
        "name": "The canary can be set up", "fullName": "Set-up: the canary can be set up",
        "status": "broken", "stage": "finished", "start": now, "stop": now,
        "statusDetails": {"message": f"{error['kind']}: {error['message']}"},
        "labels": [{"name": "feature", "value": "Set-up"}, {"name": EPIC_LABEL, "value": "Set-up"},
                   {"name": SEVERITY_LABEL, "value": "blocker"},
                   {"name": "framework", "value": "canaryspec"}],
        "steps": [], "attachments": [], "parameters": []}
    path = results_dir / f"{test_uuid}-result.json"
    path.write_text(json.dumps(result))
    return path


def write_environment(results_dir: Path, record: RunRecord) -> Path:
    props = {"target.profile": record.profile, "run.id": record.run_id,
             **{f"image.{role}": f"{img.tag} ({img.image_id}, {img.size_mb:.0f} MB)"
                for role, img in record.images.items()},
             **record.environment}
    path = results_dir / "environment.properties"
    # Allure reads Java properties: one key=value per line, '=' and ':' in keys escaped.
    path.write_text("".join(f"{k.replace('=', '_').replace(':', '_')}={v}\n"
                            for k, v in props.items()))
    return path


def write_categories(results_dir: Path) -> Path:
    path = results_dir / "categories.json"
    path.write_text(json.dumps(CATEGORIES, indent=2))
    return path


def executor_info(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Who ran the suite: a CI system when its variables say so, else this machine."""
    env = dict(os.environ if environ is None else environ)
    if env.get("GITHUB_ACTIONS") == "true":
        base = f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}"
        return {"name": "GitHub Actions", "type": "github",
                "buildName": f"{env.get('GITHUB_WORKFLOW', 'canary')} "
                             f"#{env.get('GITHUB_RUN_NUMBER', '')}",
                "buildUrl": f"{base}/actions/runs/{env.get('GITHUB_RUN_ID', '')}",
                "reportName": "canaryspec canary"}
    if env.get("GITLAB_CI") == "true":
        return {"name": "GitLab CI", "type": "gitlab",
                "buildName": f"pipeline {env.get('CI_PIPELINE_ID', '')}",
                "buildUrl": env.get("CI_JOB_URL", ""), "reportName": "canaryspec canary"}
    if env.get("CI"):
        return {"name": "CI", "type": "ci", "buildName": env.get("CI_BUILD_ID", "ci run"),
                "reportName": "canaryspec canary"}
    return {"name": "local run", "type": "local", "buildName": "local",
            "reportName": "canaryspec canary"}


def write_executor(results_dir: Path, build_order: int) -> Path:
    path = results_dir / "executor.json"
    path.write_text(json.dumps({**executor_info(), "buildOrder": build_order}, indent=2))
    return path


def update_history(results_dir: Path, reports_dir: Path) -> int:
    """Fold this run's results into the carried history (Allure's history.json and
    history-trend.json formats); return this run's build order."""
    store = reports_dir / HISTORY_STORE
    store.mkdir(parents=True, exist_ok=True)
    trend_path, history_path = store / "history-trend.json", store / "history.json"
    trend = json.loads(trend_path.read_text()) if trend_path.exists() else []
    history = json.loads(history_path.read_text()) if history_path.exists() else {}
    build_order = (trend[0].get("buildOrder", len(trend)) if trend else 0) + 1
    counts = {"failed": 0, "broken": 0, "skipped": 0, "passed": 0, "unknown": 0}
    for _, result in _results(results_dir):
        status = result.get("status", "unknown")
        status = status if status in counts else "unknown"
        counts[status] += 1
        entry = history.setdefault(result.get("historyId") or result["name"], {
            "statistic": {**dict.fromkeys(counts, 0), "total": 0}, "items": []})
        entry["statistic"][status] += 1
        entry["statistic"]["total"] += 1
        start, stop = result.get("start", 0), result.get("stop", 0)
        entry["items"] = [{"uid": result["uuid"], "status": status,
                           "statusDetails": (result.get("statusDetails") or {}).get("message"),
                           "time": {"start": start, "stop": stop, "duration": stop - start}},
                          *entry["items"]][:HISTORY_RUNS_KEPT]
    trend.insert(0, {"buildOrder": build_order, "reportName": "canaryspec canary",
                     "data": {**counts, "total": sum(counts.values())}})
    trend_path.write_text(json.dumps(trend[:HISTORY_RUNS_KEPT], indent=2))
    history_path.write_text(json.dumps(history))
    return build_order


def finish(results_dir: Path, reports_dir: Path, record: RunRecord | None) -> None:
    """Everything Allure needs beside the per-scenario results, after behave has returned."""
    results_dir.mkdir(parents=True, exist_ok=True)
    if record is not None and record.setup_error:
        write_setup_failure(results_dir, record.setup_error)
    label_results(results_dir)
    build_order = update_history(results_dir, reports_dir)
    write_categories(results_dir)
    write_executor(results_dir, build_order)
    if record is not None:
        write_environment(results_dir, record)


def category_of(status: str, message: str) -> str | None:
    """Which category Allure will file a result under (the same rules, for tests and the
    summary)."""
    for category in CATEGORIES:
        if status not in category["matchedStatuses"]:
            continue
        regex = category.get("messageRegex")
        if regex is None or re.fullmatch(regex, message or ""):
            return category["name"]
    return None
