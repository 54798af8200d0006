"""reports/summary.md: the handoff's tables, regenerated from a run record."""

from pathlib import Path

from behave.parser import parse_file

from canaryspec.reports import summary
from canaryspec.reports.record import ImageRecord, RunRecord, ScenarioRecord
from canaryspec.settings import PROJECT_ROOT

FEATURES = PROJECT_ROOT / "features"


def _scenario_names() -> list[ScenarioRecord]:
    found = []
    for path in sorted(FEATURES.glob("*.feature")):
        feature = parse_file(str(path))
        for scenario in feature.walk_scenarios():
            found.append(ScenarioRecord(feature.name, Path(path).stem, scenario.name,
                                        sorted(str(t) for t in scenario.effective_tags),
                                        "passed", 1.0))
    return found


def _record(status_of=lambda name: "passed") -> RunRecord:
    record = RunRecord(run_id="r1", profile="tradelab")
    record.scenarios = [ScenarioRecord(s.feature, s.feature_file, s.name, s.tags,
                                       status_of(s.name), 1.0,
                                       "" if status_of(s.name) == "passed" else "Then it cannot "
                                       'import "torch": backend contains torch')
                        for s in _scenario_names()]
    record.images = {
        "backend": ImageRecord("backend", "tradelab-backend:test", "a1", 268.7, "10001", "none"),
        "worker-cpu": ImageRecord("worker-cpu", "tradelab-worker-cpu:test", "b2", 1138.8,
                                  "10001", "1.13.0a0"),
        "monolith": ImageRecord("monolith", "tradelab-monolith:test", "c3", 1428.2,
                                  "10001"),
    }
    record.jobs = [{"job": "training", "strategy": "v3_minimal", "seconds": 2.0},
                   {"job": "training", "strategy": "v3_minimal", "seconds": 4.0},
                   {"job": "training", "strategy": "v3_multi_symbol", "seconds": 15.0},
                   {"job": "backtest", "strategy": "v3_minimal", "seconds": 1.0}]
    record.phases = [{"phase": "canary up", "seconds": 8.4}]
    record.workers = ["backtesting-worker-1a2b3c4d", "training-worker-5e6f7a8b"]
    return record


def test_every_cited_scenario_exists_in_the_features():
    scenarios = _scenario_names()
    for evidence in summary.ALL_EVIDENCE:
        assert any(evidence.matches(s) for s in scenarios), evidence


def test_a_green_run_reproduces_the_four_handoff_tables_with_its_figures():
    text = summary.render(_record())
    assert text.startswith("# Canary verdict: PASSED")
    for row in ["| API Health Check | ✅ PASS |", "| Backtest Completion | ✅ PASS |",
                "| tradelab-worker-cpu:test | 1.14 GB | 1.13.0a0 | not probed |",
                "| Worker Registration | ✅ PASS | 2 workers (backtesting-worker-1a2b3c4d + "
                "training-worker-5e6f7a8b) |",
                "| Backend has NO torch | ✅ PASS 269 MB image, torch: none |",
                "| ≥ 15% size reduction (the handoff: ~20%) | ✅ PASS CPU worker 20% smaller "
                "than the monolith, "
                "backend 81% smaller |",
                "| training | v3_minimal | 2 | 3.0 s | 4.0 s |",
                "| training | v3_multi_symbol | 1 | 15.0 s | 15.0 s |", "| canary up | 8.4 |"]:
        assert row in text, row


def test_a_failed_row_says_fail_and_why_first():
    failing = "The backend image does not contain torch"
    text = summary.render(_record(lambda name: "failed" if name == failing else "passed"))
    total = len(_scenario_names())
    assert text.startswith(f"# Canary verdict: FAILED — 1 finding (root cause); {total - 1} "
                           f"passed, 1 failed, 0 broken, 0 skipped, 0 aborted (of {total} "
                           "selected)")
    assert text.index("## Why it did not pass") < text.index("## Scenarios by area")
    assert "backend contains torch" in text
    assert "| Backend has NO torch | ❌ FAIL 269 MB image" in text


def test_rows_whose_scenarios_did_not_run_say_so():
    record = _record()
    record.scenarios = [s for s in record.scenarios if s.feature_file == "images"]
    text = summary.render(record)
    assert "| Backtest Completion | ⏭ NOT RUN |" in text


def test_renaming_every_scenario_leaves_the_handoff_tables_as_they_were():
    record = _record()
    before = summary.seed_tables(record)
    for number, scenario in enumerate(record.scenarios):
        scenario.name = f"renamed scenario {number}"
    assert summary.seed_tables(record) == before


def test_every_handoff_row_is_backed_by_a_tagged_scenario_and_every_tag_is_a_row():
    tagged = {t for s in _scenario_names() for t in s.tags if t.startswith("handoff.")}
    assert tagged == {e.tag for e in summary.ALL_EVIDENCE}


def test_a_split_run_shows_no_baseline_it_did_not_measure():
    text = summary.render(_record())
    assert "Baseline test results" not in text
    assert "The baseline (handoff task 4.1: the same canary on the monolith) was not run" in text


def test_a_monolith_run_shows_the_baseline_and_not_the_split_tables():
    record = _record()
    record.deployment = "monolith"
    text = summary.render(record)
    assert "| Backend Health | ✅ PASS |" in text and "| Training Lifecycle | ✅ PASS |" in text
    assert "E2E test results" not in text and "Container optimisation" not in text


# --- findings, root causes and rows that agree with their verdict ----------------------------
REWRITE = "backtest ends failed: Model not found at /app/models/…"
GRACE = "training ends failed: worker killed by SIGKILL (137)"
LIFECYCLE = "A backtest with a trained model reports sane metrics"
DISPATCHED = "A backtest runs on a backtesting worker"


def _with(record: RunRecord, name: str, status: str, category: str, root_cause: str,
          reason: str) -> ScenarioRecord:
    scenario = next(s for s in record.scenarios if s.name == name)
    scenario.status, scenario.category, scenario.root_cause, scenario.reason = \
        status, category, root_cause, reason
    return scenario


def _one_defect_many_scenarios() -> RunRecord:
    """The model-path rewrite met by two failed scenarios and blocking a third in its Given;
    a second defect; and a canary that did not come up (not a finding)."""
    record = _record()
    _with(record, LIFECYCLE, "failed", "product-defect", REWRITE,
          "Then the backtest completes: operation op_1 ended failed: Model not found at "
          "/app/models/v3_minimal/1.pt")
    _with(record, DISPATCHED, "failed", "product-defect", REWRITE,
          "Then it completed: operation op_2 ended failed: Model not found at "
          "/app/models/v3_minimal/2.pt")
    blocked = _with(record, "The same model backtested twice on the same market gives the same "
                            "result", "broken", "blocked-by-defect", REWRITE,
                    f"blocked by: {REWRITE}\nGiven a trained model: operation op_3 ended failed")
    blocked.steps = [{"keyword": "Given", "name": 'a trained model for "v3_minimal"',
                      "status": "failed"}]
    _with(record, "A training worker stopped mid-run cancels its training and keeps a checkpoint",
          "failed", "product-defect", GRACE, "Then it exited on its own: exit code 137")
    _with(record, "The backend is healthy", "broken",
          "canary-down", "canary did not come up",
          "blocked by: canary canary-a1b2c3-shared-0f0f did not come up: training-worker "
          "unhealthy")
    return record


def test_the_headline_counts_findings_not_scenarios():
    line = summary.verdict_line(_one_defect_many_scenarios())
    total = len(_scenario_names())
    assert line == (f"FAILED — 2 findings (root causes); {total - 5} passed, 3 failed, 2 broken, "
                    f"0 skipped, 0 aborted (of {total} selected)")


def test_a_run_without_a_product_defect_counts_no_finding():
    record = _record()
    _with(record, LIFECYCLE, "broken", "canary-down", "canary did not come up",
          "blocked by: canary did not come up")
    assert summary.verdict_line(record).startswith("FAILED — ")
    assert "finding" not in summary.verdict_line(record)


def test_why_it_did_not_pass_groups_by_root_cause():
    reasons = summary.why_not_passed(_one_defect_many_scenarios())
    rewrite = reasons[0].splitlines()
    assert rewrite[0] == f"**{REWRITE}** — Product defects — 2 failed, 1 blocked"
    assert rewrite[1].startswith(f"    - Backtesting: {LIFECYCLE} — failed: Then the backtest "
                                 "completes: operation op_1")
    assert rewrite[3] == ("    - Backtesting: The same model backtested twice on the same market "
                          "gives the same result — broken: blocked at: Given a trained model "
                          'for "v3_minimal"')
    assert reasons[1].startswith(f"**{GRACE}** — Product defects — 1 failed, 0 blocked")
    # Not a finding: grouped as before, after the findings.
    assert reasons[2].startswith("**broken** [Blocked: the canary did not come up]")
    assert len(reasons) == 3


def test_a_row_s_note_never_contradicts_its_verdict():
    text = summary.render(_one_defect_many_scenarios())
    dispatch = next(line for line in text.splitlines()
                    if line.startswith("| Backend→Worker communication |"))
    assert dispatch.startswith("| Backend→Worker communication | ❌ FAIL — ")
    assert REWRITE in dispatch and "dispatched and completed" not in dispatch
    backtest = next(line for line in text.splitlines()
                    if line.startswith("| Backtest Completion |"))
    assert backtest.startswith(f"| Backtest Completion | ❌ FAIL | {REWRITE}")
    assert "median" not in backtest


def test_a_row_not_run_says_what_was_not_run():
    record = _record()
    for scenario in record.scenarios:
        if "handoff.backtest_lifecycle" in scenario.tags:
            scenario.status, scenario.reason = "skipped", "not checked on this target"
    text = summary.render(record)
    row = next(line for line in text.splitlines() if line.startswith("| Backtest Completion |"))
    assert row.startswith("| Backtest Completion | ⏭ NOT RUN | not run: ")
    assert "not checked on this target" in row and "median" not in row


def test_the_health_row_names_only_the_shared_canary_s_backend():
    record = _record()
    record.ports = {
        "canary-a1b2c3-migrations-1a2b": {"backend:8000/tcp": "127.0.0.1:49001",
                                          "db:5432/tcp": "127.0.0.1:49002"},
        "canary-a1b2c3-shared-3c4d": {"backend:8000/tcp": "127.0.0.1:49100",
                                      "training-worker:5002/tcp": "127.0.0.1:49101"}}
    row = next(line for line in summary.render(record).splitlines()
               if line.startswith("| API Health Check |"))
    assert "127.0.0.1:49100 in canary-a1b2c3-shared-3c4d" in row
    assert "49001" not in row and "49101" not in row
    record.shared_project = "canary-a1b2c3-migrations-1a2b"
    assert summary.shared_backend(record) == "127.0.0.1:49001 in canary-a1b2c3-migrations-1a2b"


def test_the_deadlines_used_are_printed_with_their_source():
    record = _record()
    assert "## Deadlines used" not in summary.render(record)
    record.platform_timers = {"orphan timeout": "60 s (KTRDR_ORPHAN_TIMEOUT_SECONDS)",
                              "worker grace period": "30 s"}
    record.deadlines = {"ready": 180.0}
    text = summary.render(record)
    assert "| orphan timeout | 60 s | KTRDR_ORPHAN_TIMEOUT_SECONDS |" in text
    assert "| worker grace period | 30 s |  |" in text
    assert "| ready | 180 s | the suite's deadline (settings, scaled for the host) |" in text


def test_a_record_keeps_its_new_fields_through_run_json(tmp_path):
    record = _one_defect_many_scenarios()
    record.platform_timers = {"orphan timeout": "60 s (KTRDR_ORPHAN_TIMEOUT_SECONDS)"}
    record.setup_error = {"kind": "ComposeFailed", "message": "\x1b[31mno\x1b[0m", "exit_code": 9}
    record.write(tmp_path)
    again = RunRecord.read(tmp_path)
    assert again.findings().keys() == record.findings().keys() == {REWRITE, GRACE}
    assert again.platform_timers == record.platform_timers
    assert again.setup_error["message"] == "no"


def test_what_was_not_run_is_counted_by_why_and_a_full_run_says_nothing():
    assert "## Not run here" not in summary.render(_record())
    record = _record(lambda name: "skipped" if "image" in name else "passed")
    for scenario in record.scenarios:
        if scenario.status == "skipped":
            scenario.reason = "not run on an attached deployment: needs the images themselves"
    skipped = sum(s.status == "skipped" for s in record.scenarios)
    text = summary.render(record)
    assert (f"## Not run here\n\n- {skipped} scenarios: not run on an attached deployment: "
            "needs the images themselves") in text
