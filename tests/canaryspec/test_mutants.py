"""The mutation sample's bookkeeping, without an engine: which sites exist, the same sample for
the same seed, the equivalent list, how a run's record becomes a mutant's fate, the report."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from canaryspec import mutants
from canaryspec.mutants import (
    Fate,
    Mutant,
    MutantResult,
    Site,
    enumerate_sites,
    image_role_of,
    judge_mutant,
    load_equivalent,
    make_mutant,
    mutated_files,
    render,
    sample_sites,
    sites_in,
    tags_for,
)
from canaryspec.reports.record import RunRecord, ScenarioRecord
from canaryspec.settings import PROJECT_ROOT
from canaryspec.verdicts import Trial

SOURCE = '''from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def price(bars: list[float] | None, *, fee: float = 0.5) -> float | None:
    log.info("pricing %s bars", len(bars) + 1)
    if not bars or len(bars) < 2:
        return None
    try:
        return bars[-1] - fee
    except IndexError:
        return None
'''


def _operators_at(sites: list[Site], line: int) -> set[str]:
    return {s.operator.removeprefix("core/") for s in sites if s.line == line}


def test_sites_are_cosmic_rays_mutations_of_running_code_only():
    sites = sites_in("tradelab/ml/price.py", SOURCE)
    assert "ReplaceComparisonOperator_Lt_GtE" in _operators_at(sites, 10)
    assert "NumberReplacer" in _operators_at(sites, 10)
    assert "ReplaceBinaryOperator_Sub_Add" in _operators_at(sites, 13)
    assert "ExceptionReplacer" in _operators_at(sites, 14)
    assert not _operators_at(sites, 9)   # a logging call
    # the annotations and the keyword-only `*` (its "mutants" do not compile) are not sites
    assert not [s for s in sites if s.line == 8 and "BinaryOperator" in s.operator]
    assert len({s.id for s in sites}) == len(sites)
    assert sites == sites_in("tradelab/ml/price.py", SOURCE)  # a stable order


def test_a_site_keeps_its_id_when_lines_are_added_above_it():
    before = {(s.operator, s.occurrence): s.id for s in sites_in("f.py", SOURCE)}
    moved = sites_in("f.py", SOURCE.replace("import logging\n", "import logging\nimport os\n"))
    assert {s.id for s in moved} == set(before.values())
    assert all(s.line > 1 for s in moved)


def test_the_mutated_files_are_backend_workers_and_ml_code_without_entry_points():
    files = mutated_files()
    assert "tradelab/backend/routes/jobs.py" in files
    assert "tradelab/workers/training.py" in files and "tradelab/ml/backtest.py" in files
    assert not [f for f in files if f.endswith(("__init__.py", "__main__.py"))]
    assert not [f for f in files if f.startswith(("tradelab/db", "tradelab/migrations"))]
    assert files == sorted(files)


def test_every_mutated_file_has_an_area_and_an_image():
    for file in mutated_files():
        assert tags_for(file) and image_role_of(file) in ("backend", "worker-cpu"), file
    assert tags_for("tradelab/workers/backtesting.py") == "@backtest"
    assert "@migrations" in tags_for("tradelab/backend/routes/health.py")
    assert "@migrations" not in tags_for("tradelab/backend/dispatch.py")
    assert image_role_of("tradelab/backend/dispatch.py") == "backend"
    assert image_role_of("tradelab/ml/model.py") == "worker-cpu"


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> list[Site]:
    root = tmp_path_factory.mktemp("tree")
    for name in ("a", "b", "c"):
        path = root / "tradelab" / "ml" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SOURCE)
    return enumerate_sites(root)


def test_the_same_seed_draws_the_same_sample(population):
    first = sample_sites(population, 10, seed=7)
    assert first == sample_sites(population, 10, seed=7)
    assert len(first) == 10 and len(set(first)) == 10
    assert first != sample_sites(population, 10, seed=8)
    order = [population.index(s) for s in first]
    assert order == sorted(order)  # reported in enumeration order


def test_a_sample_larger_than_the_population_is_all_of_it(population):
    assert sample_sites(population, len(population) + 5, seed=1) == population


def test_a_mutant_is_the_file_with_one_change_and_its_one_line_diff():
    sites = sites_in("tradelab/ml/price.py", SOURCE)
    site = next(s for s in sites if s.operator == "core/ReplaceBinaryOperator_Sub_Add")
    mutant = make_mutant(site, SOURCE)
    assert (mutant.removed, mutant.added) == ("return bars[-1] - fee", "return bars[-1] + fee")
    assert mutant.diff == "- return bars[-1] - fee  + return bars[-1] + fee"
    assert mutant.code == SOURCE.replace("bars[-1] - fee", "bars[-1] + fee")


def test_an_exception_replacer_mutant_defines_the_exception_it_catches():
    site = next(s for s in sites_in("tradelab/ml/price.py", SOURCE)
                if s.operator == "core/ExceptionReplacer")
    mutant = make_mutant(site, SOURCE)
    assert "except CosmicRayTestingException:" in mutant.code
    namespace: dict = {}
    exec(compile(mutant.code, "price.py", "exec"), namespace)  # the images lack cosmic-ray
    assert issubclass(namespace["CosmicRayTestingException"], Exception)
    assert namespace["price"]([1.0, 2.0]) == 1.5


def test_the_projects_equivalent_list_names_real_mutants_with_a_reason():
    data = tomllib.loads(mutants.EQUIVALENT_FILE.read_text())
    assert data, "the list is kept even when short"
    for site_id, entry in data.items():
        assert entry["why"].strip() and "\n" not in entry["why"]
        file = entry["where"].split(":", 1)[0]
        ids = {s.id for s in sites_in(file, (PROJECT_ROOT / file).read_text())}
        assert site_id in ids, f"{site_id} is no longer a mutant of {file}: update the list"


def test_an_equivalent_file_maps_ids_to_why(tmp_path: Path):
    path = tmp_path / "eq.toml"
    path.write_text('[abc123]\nwhere = "x.py:1"\nwhy = "the value is capped either way"\n')
    assert load_equivalent(path) == {"abc123": "the value is capped either way"}
    assert load_equivalent(tmp_path / "missing.toml") == {}


def _record(*scenarios: tuple[str, str, str, str]) -> RunRecord:
    record = RunRecord(run_id="r", profile="tradelab")
    record.scenarios = [ScenarioRecord("Training", "training", name, ["training"], status, 1.0,
                                       reason, category)
                        for name, status, reason, category in scenarios]
    return record


def test_a_failed_scenario_kills_the_mutant_and_says_why():
    fate, reason = judge_mutant(_record(
        ("A training completes", "passed", "", ""),
        ("A backtest completes", "failed", "Then ...: expected trades >= 1, got 0",
         "product-defect")))
    assert fate is Fate.KILLED
    assert reason.startswith("A backtest completes (failed): ") and "trades" in reason


def test_a_canary_that_does_not_come_up_is_build_or_boot_broken():
    fate, reason = judge_mutant(_record(
        ("A training completes", "broken",
         "blocked by: canary c did not come up: backend exited (1)", "canary-down")))
    assert fate is Fate.BUILD_OR_BOOT_BROKEN and fate.killed
    assert "did not come up" in reason


def test_all_passed_is_a_survivor_and_a_set_up_problem_is_not_judged():
    assert judge_mutant(_record(("A", "passed", "", ""), ("B", "skipped", "", "")))[0] \
        is Fate.SURVIVED
    stopped = _record()
    stopped.setup_error = {"kind": "EngineUnavailable", "message": "no engine"}
    assert judge_mutant(stopped) == (Fate.NOT_JUDGED,
                                     "set-up problem (EngineUnavailable): no engine")
    assert judge_mutant(_record(("A", "skipped", "", "")))[0] is Fate.NOT_JUDGED


def _mutant(site_id: str = "0123456789", line: int = 10) -> Mutant:
    site = Site("tradelab/ml/backtest.py", "core/ReplaceComparisonOperator_Lt_Gt", 2, line, 8,
                site_id)
    return Mutant(site, "code", "if n < 2:", "if n > 2:")


def test_check_mutant_builds_the_files_image_and_runs_its_areas_features(monkeypatch, tmp_path):
    calls = {}

    def fake_trial(client, settings, **kwargs):
        calls.update(kwargs)
        tree = tmp_path / "tree"
        (tree / "tradelab/ml").mkdir(parents=True)
        kwargs["change"](tree)
        calls["written"] = (tree / "tradelab/ml/backtest.py").read_text()
        return Trial(record=_record(("A backtest completes", "passed", "", "")), exit_code=0,
                     seconds=42.0)

    monkeypatch.setattr(mutants, "run_trial", fake_trial)
    result = mutants.check_mutant(None, None, _mutant(), tmp_path)  # type: ignore[arg-type]
    assert (calls["tag"], calls["rebuild"], calls["tags"]) == (
        "mutant-0123456789", ("worker-cpu",), "@backtest")
    assert calls["written"] == "code" and calls["reports"] == tmp_path / "0123456789"
    assert (result.fate, result.seconds, result.exit_code) == (Fate.SURVIVED, 42.0, 0)


def test_an_image_that_does_not_build_is_build_or_boot_broken(monkeypatch, tmp_path):
    monkeypatch.setattr(mutants, "run_trial", lambda *a, **k: Trial(
        problem="ImageUnavailable: build failed", build_failed=True))
    result = mutants.check_mutant(None, None, _mutant(), tmp_path)  # type: ignore[arg-type]
    assert result.fate is Fate.BUILD_OR_BOOT_BROKEN
    assert result.reason == "the image did not build: ImageUnavailable: build failed"


def test_the_report_gives_each_mutant_and_the_kill_rate_without_equivalents():
    results = [MutantResult(_mutant("aaaaaaaaaa"), Fate.KILLED, "A backtest (failed): 0 trades",
                            "@backtest", 61.0),
               MutantResult(_mutant("bbbbbbbbbb"), Fate.BUILD_OR_BOOT_BROKEN,
                            "A (broken): blocked by: canary did not come up", "@backtest", 30.0),
               MutantResult(_mutant("cccccccccc", 20), Fate.SURVIVED, "all 5 scenarios passed",
                            "@backtest", 70.0),
               MutantResult(_mutant("dddddddddd"), Fate.EQUIVALENT, "capped either way")]
    text = render(results, sample=4, seed=3, population=1800, total_seconds=161.0)
    assert text.startswith("# Mutants: kill rate 2/3 = 67%")
    assert "SAMPLE=4 SEED=3: 4 of 1800 sites" in text
    assert "killed 1, build-or-boot-broken 1, survived 1, equivalent 1, not judged 0" in text
    row = next(line for line in text.splitlines() if "`aaaaaaaaaa`" in line)
    assert "`tradelab/ml/backtest.py:10`" in row and "ReplaceComparisonOperator_Lt_Gt #2" in row
    assert "`- if n < 2:  + if n > 2:`" in row and "| killed |" in row and "0 trades" in row
    survivors = text.split("## Survivors", 1)[1]
    assert "`cccccccccc` `tradelab/ml/backtest.py:20`" in survivors
    assert "aaaaaaaaaa" not in survivors


def test_the_reports_are_written_as_markdown_and_json(tmp_path: Path):
    import json

    results = [MutantResult(_mutant(), Fate.KILLED, "A (failed): boom", "@backtest", 5.0, 1)]
    path = mutants.write_reports(results, sample=1, seed=1, population=9, total_seconds=5.0,
                                 reports_dir=tmp_path)
    assert path == tmp_path / "mutants.md"
    data = json.loads((tmp_path / "mutants.json").read_text())
    assert (data["killed"], data["judged"], data["population"]) == (1, 1, 9)
    assert {"id": "0123456789", "line": 10, "fate": "killed", "removed": "if n < 2:",
            "added": "if n > 2:"}.items() <= data["mutants"][0].items()


def test_a_scenario_that_fails_unmutated_too_kills_nothing():
    record = _record(("A backtest profits on planted data", "failed", "expected a profit",
                      "product-defect"),
                     ("A training completes", "passed", "", ""))
    assert judge_mutant(record, {"A backtest profits on planted data"})[0] is Fate.SURVIVED
    assert judge_mutant(record)[0] is Fate.KILLED   # the record itself is left as it was
    assert mutants.not_passing(record) == {"A backtest profits on planted data"}


def test_a_mutants_run_stops_at_its_first_finding(monkeypatch, tmp_path):
    calls = {}

    def fake_trial(client, settings, **kwargs):
        calls.update(kwargs)
        return Trial(record=_record(("A", "passed", "", "")), exit_code=0, seconds=1.0)

    monkeypatch.setattr(mutants, "run_trial", fake_trial)
    mutants.check_mutant(None, None, _mutant(), tmp_path)  # type: ignore[arg-type]
    assert "stop_at_first_finding=true" in calls["extra_settings"]


def test_a_kill_before_the_stop_is_judged_by_that_finding_not_by_the_skipped_rest():
    fate, reason = judge_mutant(_record(
        ("A backtest completes", "failed", "Then ...: expected trades >= 1, got 0",
         "product-defect"),
        ("A training completes", "skipped",
         "not run: the run stopped at its first finding (A backtest completes; "
         "stop_at_first_finding=true)", "")))
    assert fate is Fate.KILLED and reason.startswith("A backtest completes (failed)")
