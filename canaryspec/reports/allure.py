"""Allure results that stand on their own: environment, categories, executor, labels, history.

allure-behave writes one `*-result.json` per scenario. Around it, this module:
- empties the results directory before a run (keeping the carried history), so a report shows
  this run and nothing stale;
- after the run, makes every result say what the run record says (one result per selected
  scenario, with its outcome, reason and category; written here when allure-behave left none:
  blocked, aborted before it started, skipped by an active tag);
- writes `environment.properties`, `categories.json` (one category per root cause of a product
  defect, and the fixed ones for everything else), `executor.json`;
- labels each result with its epic (the area of the product), story and severity;
- keeps `history/` between local runs (reports/allure-history), so Allure shows trends.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from allure_commons.utils import md5

from canaryspec.outcomes import ALLURE_STATUS, CATEGORIES, Outcome, root_cause_slug
from canaryspec.reports.record import AREAS, RunRecord, ScenarioRecord

EPIC_LABEL, STORY_LABEL, SEVERITY_LABEL = "epic", "story", "severity"
HISTORY_STORE = "allure-history"
HISTORY_RUNS_KEPT = 20
RESULTS_DIR = "allure-results"
# The first line of a result's trace names its category (canaryspec.outcomes decides it, once);
# categories.json matches on it, so each result lands in exactly one category, the one the
# summary and JUnit give it.
CATEGORY_MARKER = "canaryspec-category: "
# A finding's result is filed by its root cause instead: its trace starts with this marker and
# the cause's slug, which only that cause's category matches (the fixed ones match only a trace
# that starts with CATEGORY_MARKER).
ROOT_CAUSE_MARKER = "canaryspec-root-cause: "
ALLURE_STEP_STATUS = {"passed": "passed", "failed": "failed", "error": "broken",
                      "undefined": "broken", "hook_error": "broken", "skipped": "skipped",
                      "untested": "skipped"}
CATEGORIES_JSON: list[dict[str, Any]] = [
    {"name": c.name, "description": c.description, "matchedStatuses": ["failed", "broken"],
     "traceRegex": f"(?s){CATEGORY_MARKER}{c.key}\\b.*"} for c in CATEGORIES]
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


def _markers(scenario: ScenarioRecord) -> str:
    """The trace's first lines: the root cause's marker for a finding, then the category's."""
    category = f"{CATEGORY_MARKER}{scenario.category}"
    if scenario.is_finding:
        return f"{ROOT_CAUSE_MARKER}{root_cause_slug(scenario.cause)}\n{category}"
    return category


def _details(scenario: ScenarioRecord, trace: str = "") -> dict[str, str]:
    """The root cause first (a finding's), then the whole cleaned reason: Allure shows all of
    it, not the summary's cut."""
    message = scenario.message
    if scenario.reason.strip() and scenario.reason.strip() != message:
        message += "\n\n" + scenario.reason
    details = {"message": message}
    if scenario.category:
        details["trace"] = f"{_markers(scenario)}\n\n{trace}".rstrip()
    return details


def synthesize(scenario: ScenarioRecord, now_ms: int) -> dict[str, Any]:
    """An Allure result for a scenario allure-behave never saw (blocked by a hook or a set-up
    problem, aborted before it started, skipped by an active tag)."""
    full_name = f"{scenario.feature}: {scenario.name.split(' -- @', 1)[0]}"
    labels = [{"name": "feature", "value": scenario.feature},
              {"name": "framework", "value": "behave"},
              *({"name": "tag", "value": t} for t in scenario.tags)]
    severity = next((t for t in scenario.tags if t in SEVERITIES), None)
    if severity:
        labels.append({"name": SEVERITY_LABEL, "value": severity})
    return {"uuid": str(uuid.uuid4()), "historyId": scenario.history_id or md5(full_name),
            "testCaseId": md5(full_name), "fullName": full_name, "name": scenario.name,
            "status": ALLURE_STATUS[scenario.outcome], "stage": "finished",
            "start": now_ms, "stop": now_ms, "labels": labels, "attachments": [],
            "parameters": [],
            "steps": [{"name": f"{s['keyword']} {s['name']}",
                       "status": ALLURE_STEP_STATUS.get(s["status"], "skipped"),
                       "stage": "finished", "start": now_ms, "stop": now_ms}
                      for s in scenario.steps]}


def reconcile(results_dir: Path, record: RunRecord) -> int:
    """Make the Allure results say what the record says: one result per selected scenario
    (written when allure-behave left none), with its outcome, reason and category."""
    existing = {result.get("historyId"): (path, result) for path, result in _results(results_dir)}
    now = int(time.time() * 1000)
    for scenario in record.scenarios:
        path, result = existing.pop(scenario.history_id, (None, None))
        if result is None:
            result = synthesize(scenario, now)
            path = results_dir / f"{result['uuid']}-result.json"
        result["status"] = ALLURE_STATUS[scenario.outcome]
        if scenario.outcome is not Outcome.PASSED:
            trace = (result.get("statusDetails") or {}).get("trace", "")
            result["statusDetails"] = _details(scenario, trace)
        path.write_text(json.dumps(result))
    if not record.scenarios and record.setup_error:
        write_setup_failure(results_dir, record.setup_error)
    return len(record.scenarios)


def write_setup_failure(results_dir: Path, error: dict[str, Any]) -> Path:
    """A set-up error before any scenario could be listed, as one broken result."""
    now = int(time.time() * 1000)
    test_uuid = str(uuid.uuid4())
    result = {
        "uuid": test_uuid, "historyId": "canaryspec-setup", "testCaseId": "canaryspec-setup",
        "name": "The canary can be set up", "fullName": "Set-up: the canary can be set up",
        "status": "broken", "stage": "finished", "start": now, "stop": now,
        "statusDetails": {"message": f"{error['kind']}: {error['message']}",
                          "trace": f"{CATEGORY_MARKER}infrastructure"},
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


def root_cause_categories(record: RunRecord) -> list[dict[str, Any]]:
    """One Allure category per root cause of the run's findings, named by the cause."""
    out = []
    for cause, scenarios in record.findings().items():
        failed = sum(s.outcome is Outcome.FAILED for s in scenarios)
        out.append({"name": cause, "matchedStatuses": ["failed", "broken"],
                    "description": f"A product defect, one root cause: {failed} scenario(s) "
                                   f"failed on it, {len(scenarios) - failed} blocked by it.",
                    "traceRegex": f"(?s){ROOT_CAUSE_MARKER}{root_cause_slug(cause)}(?:\\n.*)?"})
    return out


def write_categories(results_dir: Path, record: RunRecord) -> Path:
    """This run's categories: one per root cause it found, then the fixed ones."""
    path = results_dir / "categories.json"
    path.write_text(json.dumps([*root_cause_categories(record), *CATEGORIES_JSON], indent=2))
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


def finish(results_dir: Path, reports_dir: Path, record: RunRecord) -> None:
    """Everything Allure needs beside the per-scenario results, after behave has returned."""
    results_dir.mkdir(parents=True, exist_ok=True)
    reconcile(results_dir, record)
    label_results(results_dir)
    build_order = update_history(results_dir, reports_dir)
    write_categories(results_dir, record)
    write_executor(results_dir, build_order)
    write_environment(results_dir, record)


def write_comparison(results_dir: Path, verdict_line: str, passed: bool, markdown: str) -> Path:
    """The split-vs-monolith comparison as a result of its own, its tables attached."""
    now = int(time.time() * 1000)
    test_uuid, attachment = str(uuid.uuid4()), f"{uuid.uuid4()}-attachment.md"
    (results_dir / attachment).write_text(markdown)
    result = {
        "uuid": test_uuid, "historyId": "canaryspec-comparison",
        "testCaseId": "canaryspec-comparison", "name": "The split does everything the monolith did",
        "fullName": "Comparison: the split does everything the monolith did",
        "status": "passed" if passed else "failed", "stage": "finished", "start": now,
        "stop": now, "statusDetails": {"message": verdict_line} if not passed else {},
        "labels": [{"name": "feature", "value": "Split vs monolith"},
                   {"name": EPIC_LABEL, "value": "Comparison"},
                   {"name": SEVERITY_LABEL, "value": "blocker"},
                   {"name": "framework", "value": "canaryspec"}],
        "steps": [], "parameters": [],
        "attachments": [{"name": "comparison.md", "source": attachment,
                         "type": "text/markdown"}]}
    if not passed:
        result["statusDetails"]["trace"] = f"{CATEGORY_MARKER}product-defect"
    path = results_dir / f"{test_uuid}-result.json"
    path.write_text(json.dumps(result))
    return path
