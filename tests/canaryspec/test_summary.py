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
        "worker-gpu": ImageRecord("worker-gpu", "tradelab-worker-gpu:test", "c3", 1428.2,
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
                "| tradelab-worker-cpu:test | 1.14 GB | 1.13.0a0 |",
                "| Worker Registration | ✅ PASS | 2 workers (backtesting-worker-1a2b3c4d + "
                "training-worker-5e6f7a8b) |",
                "| Backend has NO torch | ✅ PASS 269 MB image, torch: none |",
                "| ~20% size reduction | ✅ PASS CPU worker 20% smaller than the monolith, "
                "backend 81% smaller |",
                "| training | v3_minimal | 2 | 3.0 s | 4.0 s |",
                "| training | v3_multi_symbol | 1 | 15.0 s | 15.0 s |", "| canary up | 8.4 |"]:
        assert row in text, row


def test_a_failed_row_says_fail_and_why_first():
    failing = "The backend image does not contain torch"
    text = summary.render(_record(lambda name: "failed" if name == failing else "passed"))
    total = len(_scenario_names())
    assert text.startswith(f"# Canary verdict: FAILED — {total - 1} passed, 1 failed, 0 broken, "
                           f"0 skipped, 0 aborted (of {total} selected)")
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
