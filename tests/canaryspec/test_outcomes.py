"""One verdict per scenario, the same in the console, summary.md, run.json, JUnit, Allure and the
exit code.

outcome_fixture/ is a behave project (no Docker) whose scenarios end in every outcome; it runs
through the real `python -m canaryspec run` pipeline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from canaryspec.outcomes import (
    Outcome,
    RunEnd,
    category_for,
    decisive_line,
    exit_code,
    headline,
)

FIXTURE = Path(__file__).parent / "outcome_fixture"
SIGNAL_CODES = {"SIGINT": 130, "SIGTERM": 143}


def _run(tmp_path: Path, *tags: str) -> tuple[subprocess.CompletedProcess, Path]:
    reports = tmp_path / "reports"
    args = [a for tag in tags for a in ("--tags", tag)]
    completed = subprocess.run(
        [sys.executable, "-m", "canaryspec", "run", *args, "-D", f"reports_dir={reports}"],
        cwd=FIXTURE, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(FIXTURE.parents[2])})
    return completed, reports


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    completed, reports = _run(tmp_path_factory.mktemp("outcomes"), "not @interrupt",
                              "not @wip")
    return completed, reports, json.loads((reports / "run.json").read_text())


def _by_name(record: dict) -> dict[str, dict]:
    return {s["name"]: s for s in record["scenarios"]}


EXPECTED = {
    "A scenario that passes": ("passed", ""),
    "A scenario whose assertion fails": ("failed", "product-defect"),
    "A scenario whose step crashes": ("broken", "suite-error"),
    "A scenario blocked by a canary that did not come up": ("broken", "canary-down"),
    "A scenario with an undefined step": ("broken", "suite-error"),
    "A scenario only another profile promises": ("skipped", ""),
    "A scenario its feature's hook blocked": ("broken", "suite-error"),
    "A scenario whose precondition fails on a product defect": ("broken", "blocked-by-defect"),
    "A scenario whose own check fails on the same product defect": ("failed", "product-defect"),
}
MODEL_PATH_REWRITE = "backtest ends failed: Model not found at /app/models/…"


def test_every_selected_scenario_has_exactly_one_outcome_and_category(judged):
    _, _, record = judged
    scenarios = _by_name(record)
    assert set(scenarios) == set(EXPECTED)  # the @wip one was not selected: not listed
    for name, (outcome, category) in EXPECTED.items():
        assert (scenarios[name]["status"], scenarios[name]["category"]) == (outcome, category), name


def test_reasons_say_why(judged):
    scenarios = _by_name(judged[2])
    assert "503 {'status': 'degraded'}" in scenarios["A scenario whose assertion fails"]["reason"]
    assert "KeyError" in scenarios["A scenario whose step crashes"]["reason"]
    assert "No module named 'alembic'" in \
        scenarios["A scenario blocked by a canary that did not come up"]["reason"]
    assert "could not start its database" in \
        scenarios["A scenario its feature's hook blocked"]["reason"]
    assert "undefined step" in scenarios["A scenario with an undefined step"]["reason"]
    assert "profile" in scenarios["A scenario only another profile promises"]["reason"]


def test_a_precondition_that_fails_on_a_defect_blocks_and_names_its_root_cause(judged):
    scenarios = _by_name(judged[2])
    blocked = scenarios["A scenario whose precondition fails on a product defect"]
    failed = scenarios["A scenario whose own check fails on the same product defect"]
    assert blocked["reason"].startswith(f"blocked by: {MODEL_PATH_REWRITE}\n"
                                        "Given a model the platform trained: operation op_")
    assert blocked["root_cause"] == failed["root_cause"] == MODEL_PATH_REWRITE
    assert "\x1b" not in blocked["reason"] + failed["reason"]
    assert scenarios["A scenario that passes"]["root_cause"] == ""


def test_a_failed_or_broken_scenario_makes_the_exit_code_1(judged):
    assert judged[0].returncode == 1, judged[0].stdout + judged[0].stderr


def test_the_summary_headline_counts_every_outcome(judged):
    summary = (judged[1] / "summary.md").read_text()
    assert summary.startswith("# Canary verdict: FAILED — 2 findings (root causes); 1 passed, "
                              "2 failed, 5 broken, 1 skipped, 0 aborted (of 9 selected)")
    assert f"- **{MODEL_PATH_REWRITE}** — Product defects — 1 failed, 1 blocked" in summary
    for reason in ("No module named 'alembic'", "KeyError", "could not start its database"):
        assert reason in summary


def test_the_console_ends_with_the_same_verdict_and_each_reason(judged):
    out = judged[0].stdout
    assert "canaryspec: verdict FAILED — 2 findings (root causes); 1 passed, 2 failed, 5 broken, " \
           "1 skipped, 0 aborted" in out
    assert "[Blocked: the canary did not come up]" in out
    assert f"{MODEL_PATH_REWRITE} — Product defects — 1 failed, 1 blocked" in out
    assert "    - Every outcome: A scenario whose precondition fails on a product defect — " \
           "broken: blocked at: Given a model the platform trained" in out


def test_junit_has_a_failure_errors_and_a_skip_and_no_bare_case(judged):
    cases, messages = {}, {}
    for path in (judged[1] / "junit").glob("*.xml"):
        for case in ET.parse(path).getroot().iter("testcase"):
            cases[case.get("name")] = [child.tag for child in case if child.tag != "system-out"]
            messages[case.get("name")] = [child.get("message") for child in case
                                          if child.tag != "system-out"]
    for finding in ("A scenario whose own check fails on the same product defect",
                    "A scenario whose precondition fails on a product defect"):
        assert messages[finding][0].startswith(f"{MODEL_PATH_REWRITE} — "), finding
    assert cases["A scenario that passes"] == []
    assert cases["A scenario whose assertion fails"] == ["failure"]
    assert cases["A scenario whose own check fails on the same product defect"] == ["failure"]
    assert cases["A scenario whose precondition fails on a product defect"] == ["error"]
    for broken in ("A scenario whose step crashes", "A scenario with an undefined step",
                   "A scenario blocked by a canary that did not come up",
                   "A scenario its feature's hook blocked"):
        assert cases[broken] == ["error"], broken
    assert cases["A scenario only another profile promises"] == ["skipped"]


def _allure(reports: Path) -> dict[str, dict]:
    results = [json.loads(p.read_text())
               for p in (reports / "allure-results").glob("*-result.json")]
    return {r["name"]: r for r in results}


def _allure_category(result: dict, reports: Path) -> list[str]:
    """The categories Allure itself would file this result under (its matching rules)."""
    trace = (result.get("statusDetails") or {}).get("trace")
    categories = json.loads((reports / "allure-results" / "categories.json").read_text())
    return [c["name"] for c in categories
            if result["status"] in c["matchedStatuses"] and trace is not None
            and re.fullmatch(c["traceRegex"], trace, re.DOTALL)]


def test_allure_has_one_result_per_scenario_with_its_status_and_one_category(judged):
    results = _allure(judged[1])
    assert set(results) == set(EXPECTED)
    statuses = {"passed": "passed", "failed": "failed", "broken": "broken", "skipped": "skipped"}
    for name, (outcome, _) in EXPECTED.items():
        assert results[name]["status"] == statuses[outcome], name
        expected = [] if outcome in {"passed", "skipped"} else [1]
        assert len(_allure_category(results[name], judged[1])) == len(expected), name
    blocked = results["A scenario its feature's hook blocked"]
    assert "could not start its database" in blocked["statusDetails"]["message"]
    for name in ("A scenario whose precondition fails on a product defect",
                 "A scenario whose own check fails on the same product defect"):
        assert _allure_category(results[name], judged[1]) == [MODEL_PATH_REWRITE], name
        assert results[name]["statusDetails"]["message"].startswith(MODEL_PATH_REWRITE), name


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_an_interrupted_run_is_aborted_everywhere_with_its_own_exit_code(tmp_path, signal_name):
    feature = FIXTURE / "features" / "interrupted.feature"
    text = feature.read_text().replace('"SIGTERM"', f'"{signal_name}"')
    scratch = tmp_path / "project"
    subprocess.run(["cp", "-r", str(FIXTURE), str(scratch)], check=True)
    (scratch / "features" / "interrupted.feature").write_text(text)
    reports = tmp_path / "reports"
    completed = subprocess.run(
        [sys.executable, "-m", "canaryspec", "run", "--tags", "@interrupt",
         "-D", f"reports_dir={reports}"], cwd=scratch, capture_output=True, text=True,
        timeout=120)
    assert completed.returncode == SIGNAL_CODES[signal_name], completed.stdout
    record = json.loads((reports / "run.json").read_text())
    outcomes = {s["name"]: s["status"] for s in record["scenarios"]}
    assert outcomes == {"A scenario that passes before the signal": "passed",
                        "A scenario running when the signal comes": "aborted",
                        "A scenario after the signal": "aborted"}
    summary = (reports / "summary.md").read_text()
    assert summary.startswith(f"# Canary verdict: ABORTED by {signal_name} — 1 passed, 0 failed,"
                              " 0 broken, 0 skipped, 2 aborted")
    results = _allure(reports)
    assert _allure_category(results["A scenario after the signal"], reports) == \
        ["Aborted runs (interrupted)"]
    errors = [c for p in (reports / "junit").glob("*.xml")
              for c in ET.parse(p).getroot().iter("error")]
    assert len(errors) == 2


def test_a_selection_that_matches_nothing_is_not_a_pass(tmp_path):
    completed, reports = _run(tmp_path, "@no-such-tag")
    assert completed.returncode == 3
    assert (reports / "summary.md").read_text().startswith(
        "# Canary verdict: NOT RUN — no scenario was judged")


# --- the mapping itself ----------------------------------------------------------------------
@pytest.mark.parametrize(("outcomes", "end", "code"), [
    ([Outcome.PASSED, Outcome.SKIPPED], RunEnd(), 0),
    ([Outcome.PASSED, Outcome.FAILED], RunEnd(), 1),
    ([Outcome.PASSED, Outcome.BROKEN], RunEnd(), 1),
    ([Outcome.SKIPPED], RunEnd(), 3),
    ([], RunEnd(), 3),
    ([Outcome.PASSED, Outcome.BROKEN], RunEnd(setup_error={"kind": "ComposeFailed",
                                                           "message": "x", "exit_code": 9}), 9),
    ([Outcome.PASSED, Outcome.ABORTED], RunEnd(interrupted_by="SIGTERM"), 143),
    ([Outcome.ABORTED], RunEnd(interrupted_by="SIGINT"), 130),
])
def test_exit_codes(outcomes, end, code):
    assert exit_code(outcomes, end, SIGNAL_CODES) == code


def test_each_outcome_that_did_not_pass_has_one_category_and_passes_have_none():
    assert category_for(Outcome.PASSED, "") is None
    assert category_for(Outcome.SKIPPED, "only on ktrdr") is None
    assert category_for(Outcome.ABORTED, "").key == "aborted"
    assert category_for(Outcome.BROKEN, "blocked by: x", "ComposeFailed").key == "infrastructure"
    assert category_for(Outcome.BROKEN, "x", "CanaryUnavailable").key == "canary-down"
    assert category_for(Outcome.FAILED, "No market data for NOPE 1h").key == "test-data"
    assert category_for(Outcome.FAILED, "expected 200").key == "product-defect"
    assert category_for(Outcome.BROKEN, "KeyError: 'x'", "KeyError").key == "suite-error"


def test_a_reason_keeps_its_decisive_line():
    traceback = ("Traceback (most recent call last):\n  File \"/app/x.py\", line 3, in <module>\n"
                 "    import alembic\nModuleNotFoundError: No module named 'alembic'")
    assert headline(traceback) == "ModuleNotFoundError: No module named 'alembic'"
    wrapped = "`alembic upgrade head` failed (exit 1):\n" + traceback
    assert headline(wrapped).endswith("ModuleNotFoundError: No module named 'alembic'")
    assert headline(wrapped).startswith("`alembic upgrade head` failed")
    assert decisive_line("INFO starting\nERROR: relation \"x\" does not exist\nINFO bye") == \
        'ERROR: relation "x" does not exist'
    assert headline("one line") == "one line"


def test_every_kind_of_set_up_problem_is_infrastructure_never_a_product_defect():
    for kind in ("ConfigError", "EngineUnavailable", "ImageUnavailable", "ComposeUnavailable",
                 "PortInUse", "ComposeFailed", "CanaryspecError"):
        assert category_for(Outcome.BROKEN, "x", kind).key == "infrastructure", kind
