"""`make benchmark` keeps every run and shows this one beside the previous, phase by phase."""

from __future__ import annotations

from pathlib import Path

from canaryspec.reports import benchmark


def measurement(**changes: object) -> benchmark.Measurement:
    fields: dict[str, object] = dict(
        when="2026-12-07T03:00:00+00:00", commit="abc1234", exit_code=0, wall_seconds=90.0,
        load_before=0.3, load_after=1.9, scenarios=125,
        phases={"images (build or find)": 2.0, "feature: Training": 40.0},
        jobs={"training v3_minimal": [10.0, 12.0, 30.0]})
    fields.update(changes)
    return benchmark.Measurement(**fields)  # type: ignore[arg-type]


def test_phases_of_sums_a_repeated_phase_in_order() -> None:
    phases = [{"phase": "canary up", "seconds": 20.0}, {"phase": "feature: Images", "seconds": 3},
              {"phase": "canary up", "seconds": 5.5}]
    assert benchmark.phases_of(phases) == {"canary up": 25.5, "feature: Images": 3.0}


def test_jobs_are_grouped_by_job_and_strategy() -> None:
    jobs = [{"job": "training", "strategy": "v3_minimal", "seconds": 10},
            {"job": "training", "strategy": "v3_minimal", "seconds": 12},
            {"job": "backtest", "seconds": 4}]
    assert benchmark.jobs_of(jobs) == {"training v3_minimal": [10.0, 12.0], "backtest": [4.0]}


def test_the_first_run_says_there_is_nothing_to_compare_with(tmp_path: Path) -> None:
    text = benchmark.write(tmp_path, measurement())
    assert "Previous: none recorded" in text
    assert "| feature: Training | 40.0 | — | new |" in text
    assert (tmp_path / "benchmark.md").read_text() == text


def test_a_second_run_shows_each_phase_beside_the_previous_one(tmp_path: Path) -> None:
    benchmark.write(tmp_path, measurement())
    slower = measurement(commit="def5678", wall_seconds=120.0,
                         phases={"images (build or find)": 2.0, "feature: Training": 70.0,
                                 "feature: Faults": 9.0})
    text = benchmark.write(tmp_path, slower)
    assert "Previous: 2026-12-07T03:00:00+00:00, commit abc1234" in text
    assert "| feature: Training | 70.0 | 40.0 | +30.0 s (+75%) |" in text
    assert "| feature: Faults | 9.0 | — | new |" in text
    assert "| **wall time** | 120.0 | 90.0 | +30.0 s (+33%) |" in text
    assert "| training v3_minimal | 3 | 12.0 | 30.0 | 12.0 |" in text
    assert len((tmp_path / "benchmarks.jsonl").read_text().splitlines()) == 2


def test_a_phase_the_previous_run_had_and_this_one_lacks_is_shown_gone(tmp_path: Path) -> None:
    benchmark.write(tmp_path, measurement())
    text = benchmark.write(tmp_path, measurement(phases={"feature: Training": 38.0}))
    assert "| images (build or find) | — | 2.0 | gone |" in text


def test_an_unreadable_history_line_is_no_previous_run(tmp_path: Path) -> None:
    (tmp_path / "benchmarks.jsonl").write_text("not json\n")
    assert benchmark.previous(tmp_path / "benchmarks.jsonl") is None
