"""The self-check's bookkeeping: the catalogue is sound and a variant is judged caught only when
every declared scenario did not pass for the declared reason."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from behave.parser import parse_file

from canaryspec.reports.record import RunRecord, ScenarioRecord
from canaryspec.settings import PROJECT_ROOT
from canaryspec.verdicts import (
    Variant,
    judge_variant,
    load_catalog,
    render,
    scratch_copy,
    template,
)
from canaryspec.vocabulary import IMAGE_ROLES

CATALOG = load_catalog()
REQUIRED = {"torch-in-backend", "no-alembic-in-backend", "worker-never-registers",
            "unknown-strategy-accepted", "model-never-saved", "backtest-ignores-model",
            "sweeper-never-fails-orphans", "health-blind-to-schema", "self-migrating-backend",
            "cancel-never-reaches-worker", "backtests-to-training-workers", "bad-input-persisted",
            "worker-ignores-sigterm", "progress-only-at-start-and-end"}


def _scenario_names() -> set[str]:
    names = set()
    for path in (PROJECT_ROOT / "features").glob("*.feature"):
        for scenario in parse_file(str(path)).walk_scenarios():
            names.add(template(scenario.name))
    return names


def test_the_catalogue_covers_every_required_break():
    assert {v.name for v in CATALOG} >= REQUIRED
    assert len(CATALOG) >= 12


@pytest.mark.parametrize("variant", CATALOG, ids=lambda v: v.name)
def test_each_variant_names_real_scenarios_and_images(variant: Variant):
    names = _scenario_names()
    for scenario in (*variant.catches, *variant.may_also_fail, *variant.blocked):
        assert scenario == "*" or scenario in names, scenario
    assert set(variant.rebuild) <= set(IMAGE_ROLES)
    assert variant.patch.is_file()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return scratch_copy(tmp_path_factory.mktemp("scratch"))


@pytest.mark.parametrize("variant", CATALOG, ids=lambda v: v.name)
def test_each_patch_applies_to_the_current_tree(variant: Variant, tree):
    check = subprocess.run(["git", "apply", "--check", str(variant.patch)], cwd=tree,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


VARIANT = Variant(name="health-blind", breaks="health says ok", patch=PROJECT_ROOT,
                  rebuild=("backend",), tags="@migrations",
                  catches=("The backend's health reports an unmigrated schema",),
                  says="says ok on an unmigrated schema",
                  may_also_fail=("Upgrading a second time changes nothing",))


def _record(*scenarios: tuple[str, str, str]) -> RunRecord:
    record = RunRecord(run_id="r", profile="tradelab")
    record.scenarios = [ScenarioRecord("Database migrations", "migrations", name, [], status,
                                       1.0, reason) for name, status, reason in scenarios]
    return record


def test_a_variant_is_caught_when_its_scenario_fails_for_the_declared_reason():
    judgement = judge_variant(VARIANT, _record(
        ("The backend's health reports an unmigrated schema", "failed",
         "Then ...: backend health says ok on an unmigrated schema: 200 {...}"),
        ("Upgrading a second time changes nothing", "broken", "collateral"),
        ("Upgrading brings the schema to the head revision", "passed", "")))
    assert judgement.caught and judgement.clean


def test_a_variant_whose_scenario_passes_is_missed():
    judgement = judge_variant(VARIANT, _record(
        ("The backend's health reports an unmigrated schema", "passed", "")))
    assert not judgement.caught
    assert "passed" in judgement.missed_by[0]


def test_failing_for_another_reason_is_not_catching():
    judgement = judge_variant(VARIANT, _record(
        ("The backend's health reports an unmigrated schema", "broken",
         "KeyError: 'database'")))
    assert not judgement.caught


def test_a_declared_scenario_that_did_not_run_is_a_miss():
    assert not judge_variant(VARIANT, _record()).caught


def test_an_undeclared_failure_is_reported_as_unexpected():
    judgement = judge_variant(VARIANT, _record(
        ("The backend's health reports an unmigrated schema", "failed",
         "says ok on an unmigrated schema"),
        ("Upgrading brings the schema to the head revision", "failed", "schema at None")))
    assert judgement.caught and not judgement.clean
    assert [s.name for s in judgement.unexpected] == [
        "Upgrading brings the schema to the head revision"]
    assert "❌" not in render([judgement], 1.0).splitlines()[6]
    assert render([judgement], 1.0).startswith("# Verdicts: FAILED")


BLOCKING = Variant(name="no-backtests", breaks="every backtest fails", patch=PROJECT_ROOT,
                   rebuild=("worker-cpu",), tags="@backtest",
                   catches=("A backtest reports sane metrics",), says="Model not found",
                   blocked=("A finished backtest is listed",))


def _blocking_record(listed_status: str, listed_reason: str, listed_cause: str) -> RunRecord:
    record = RunRecord(run_id="r", profile="tradelab")
    record.scenarios = [
        ScenarioRecord("Backtesting", "backtest", "A backtest reports sane metrics", [],
                       "failed", 1.0, "Then ...: Model not found: /app/models/x.pt",
                       root_cause="backtest ends failed: Model not found: /app/models/…"),
        ScenarioRecord("Backtesting", "backtest", "A finished backtest is listed", [],
                       listed_status, 1.0, listed_reason, root_cause=listed_cause)]
    return record


def test_a_precondition_the_break_defeats_must_be_blocked_by_the_same_finding():
    cause = "backtest ends failed: Model not found: /app/models/…"
    judgement = judge_variant(BLOCKING, _blocking_record("broken", f"blocked by: {cause}", cause))
    assert judgement.caught and judgement.clean


@pytest.mark.parametrize(("status", "reason", "cause"), [
    pytest.param("failed", "Given ...: Model not found", "backtest ends failed: Model not found: "
                 "/app/models/…", id="failed-on-its-own-account"),
    pytest.param("broken", "blocked by: the canary did not come up", "canary down",
                 id="blocked-by-something-else"),
    pytest.param("passed", "", "", id="not-blocked-at-all"),
])
def test_a_blocked_scenario_that_fails_on_its_own_account_or_another_cause_is_a_miss(
        status, reason, cause):
    judgement = judge_variant(BLOCKING, _blocking_record(status, reason, cause))
    assert not judgement.caught
    assert "A finished backtest is listed" in judgement.missed_by[0]


def test_a_trial_run_does_not_inherit_the_settings_it_sets(tmp_path, monkeypatch):
    from canaryspec import verdicts

    seen = {}

    def fake_run(command, **kwargs):
        seen.update(command=command, env=kwargs["env"])
        return 0

    monkeypatch.setenv("CANARYSPEC_REPORTS_DIR", "/elsewhere")
    monkeypatch.setenv("CANARYSPEC_IMAGE_TAG", "other")
    monkeypatch.setenv("CANARYSPEC_SLOW_HOST_FACTOR", "2")
    monkeypatch.setattr(verdicts.TRIAL_RUNS, "run", fake_run)
    verdicts.run_suite_on("variant-x", "@images", tmp_path / "x")
    assert "CANARYSPEC_REPORTS_DIR" not in seen["env"]
    assert "CANARYSPEC_IMAGE_TAG" not in seen["env"]
    assert seen["env"]["CANARYSPEC_SLOW_HOST_FACTOR"] == "2"
    assert f"reports_dir={tmp_path / 'x'}" in seen["command"]


def test_a_signal_to_the_self_check_reaches_its_runs_and_starts_no_other(tmp_path):
    import signal
    import threading

    from canaryspec.verdicts import TrialRuns, TrialsStopped
    runs = TrialRuns()
    started = tmp_path / "started"
    # A run that says it started, then waits for its signal as the suite does.
    script = (f"import pathlib, signal, time; pathlib.Path({str(started)!r}).touch(); "
              "signal.signal(signal.SIGTERM, lambda *_: exit(143)); time.sleep(60)")
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(runs.run([sys.executable, "-c",
                                                                     script])))
    worker.start()
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # poll: the child's own start
    runs.stop(signal.SIGTERM)
    worker.join(timeout=20)
    assert codes == [143]
    assert runs.stopped_by == "SIGTERM"
    with pytest.raises(TrialsStopped, match="interrupted by SIGTERM"):
        runs.run([sys.executable, "-c", "pass"])
