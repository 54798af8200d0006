"""Split vs monolith: the parity verdict and the tables, from two run records."""

from canaryspec.reports import comparison
from canaryspec.reports.record import ImageRecord, RunRecord, ScenarioRecord


def _run(deployment: str, outcomes: dict[str, str], **extra) -> RunRecord:
    record = RunRecord(run_id=deployment[:4], profile="tradelab", deployment=deployment)
    record.scenarios = [ScenarioRecord("Backtesting", "backtest", name, [], status, 1.0)
                        for name, status in outcomes.items()]
    for key, value in extra.items():
        setattr(record, key, value)
    return record


SAME = {"A backtest reports sane metrics": "passed", "A finished backtest is listed": "passed"}


def test_a_scenario_that_passes_on_the_monolith_and_not_on_the_split_is_a_regression():
    rows = comparison.parity(_run("monolith", SAME),
                             _run("split", {**SAME, "A backtest reports sane metrics": "failed"}))
    line, code = comparison.verdict(rows)
    assert code == 1
    assert line.startswith("REGRESSION — 1 scenario(s) pass on the monolith and not on the "
                           "split: A backtest reports sane metrics")
    assert [r.note for r in rows] == ["regression", ""]


def test_a_scenario_broken_on_the_split_is_a_regression_too():
    rows = comparison.parity(_run("monolith", SAME),
                             _run("split", {**SAME, "A finished backtest is listed": "broken"}))
    assert comparison.verdict(rows)[1] == 1
    assert rows[1].note == "regression"


def test_failing_on_both_is_flagged_and_is_not_a_pass():
    broken = {**SAME, "A backtest reports sane metrics": "failed"}
    rows = comparison.parity(_run("monolith", broken), _run("split", broken))
    line, code = comparison.verdict(rows)
    assert (code, rows[0].note) == (1, "fails on both")
    assert line.startswith("FAILS ON BOTH — no regression, but 1 scenario(s) pass on neither")


def test_parity_passes_and_split_only_checks_are_named():
    split = {**SAME, "The backend image does not contain torch": "passed"}
    monolith = {**SAME, "The backend image does not contain torch": "skipped"}
    rows = comparison.parity(_run("monolith", monolith), _run("split", split))
    line, code = comparison.verdict(rows)
    assert code == 0 and line.startswith("PASSED — the split does everything the monolith did "
                                         "(2 scenarios pass on both)")
    assert rows[2].note == "split only"


def test_a_monolith_failure_the_split_fixes_is_an_improvement_not_a_failure():
    rows = comparison.parity(
        _run("monolith", {**SAME, "A finished backtest is listed": "failed"}), _run("split", SAME))
    assert comparison.verdict(rows)[1] == 0
    assert rows[1].note == "improvement"


def test_the_report_shows_sizes_memory_start_up_and_jobs_of_both():
    images = {"backend": ImageRecord("backend", "b:t", "1", 268.8, "10001", "none"),
              "worker-cpu": ImageRecord("worker-cpu", "w:t", "2", 1138.8, "10001", "1.13"),
              "monolith": ImageRecord("monolith", "m:t", "3", 1428.3, "10001", "1.13")}
    monolith = _run("monolith", SAME, memory={"idle": {"backend": 140.0}},
                    startup={"backend ready": 9.0},
                    jobs=[{"job": "training", "strategy": "v3_minimal", "seconds": 2.0}])
    split = _run("split", SAME, images=images, memory={"idle": {"backend": 70.0}},
                 startup={"backend ready": 6.0},
                 jobs=[{"job": "training", "strategy": "v3_minimal", "seconds": 1.0},
                       {"job": "training", "strategy": "v3_minimal", "seconds": 3.0}])
    text = comparison.render(monolith, split, comparison.parity(monolith, split), 15)
    for row in ["| backend | 269 MB | 1.43 GB | 81% |", "| CPU worker | 1.14 GB | 1.43 GB | 20% |",
                "at least 15% smaller than the monolith: met",
                "| idle | backend | 140 | 70 | 50% |", "| backend ready | 9.0 | 6.0 |",
                "| training | v3_minimal | 2.0 s (n=1, 2.0 to 2.0 s) | 2.0 s (n=2, 1.0 to 3.0 s) |",
                "### Baseline test results (handoff task 4.1, monolith)",
                "### E2E test results (handoff task 4.4, split)"]:
        assert row in text, row


def test_the_comparison_lands_in_the_split_runs_record(tmp_path):
    split = _run("split", SAME)
    path, line, code = comparison.write(_run("monolith", SAME), split, tmp_path, 15)
    assert path.read_text().startswith("# Split vs monolith: PASSED")
    stored = RunRecord.read(tmp_path)
    assert stored.comparison["verdict"] == line and stored.comparison["exit_code"] == code == 0
    assert len(stored.comparison["parity"]) == 2


def test_a_split_only_check_failing_on_the_split_fails_the_comparison_and_says_so():
    split = {**SAME, "The backend image does not contain torch": "failed"}
    monolith = {**SAME, "The backend image does not contain torch": "skipped"}
    rows = comparison.parity(_run("monolith", monolith), _run("split", split))
    line, code = comparison.verdict(rows)
    assert (code, rows[2].note) == (1, "split only: fails")
    assert line == ("FAILED — the split fails 1 of its own check(s), which the monolith does not "
                    "run: The backend image does not contain torch")
