"""`python -m canaryspec run|compare|build|benchmark|clean|verdicts|mutants [behave args]`.

run        the acceptance suite (behave with the project's configuration), reports in reports/
build      build (or find) the images only
benchmark  the suite, then reports/benchmark.md: its phase timings beside the previous run's
clean      remove canaries kept with keep=true (or the one named) and dead runs' leftovers
verdicts   break the platform on purpose (variants/catalog.toml) and check the suite notices
mutants    a seeded sample of machine-made mutants of the platform: which the suite kills
           (`mutants [--sample N] [--seed S]`, defaults 30 and 1; reports/mutants.md)
compare    the baseline (the canary on the monolith), then the split, side by side

Exit codes of `run`: 0 every selected scenario passed; 1 one failed or was broken; 3 nothing was
judged (no scenario selected, or all skipped); 4-9 a set-up problem (see canaryspec.errors);
130/143 interrupted by SIGINT/SIGTERM (the canaries are torn down, the reports say ABORTED).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

from canaryspec.errors import CanaryspecError, ConfigError
from canaryspec.settings import PROJECT_ROOT, Settings

# behave's own modes that run no suite: handed to behave as they are, no reports written.
_BEHAVE_ONLY_MODES = ("dry_run", "version", "tags_help", "lang_list", "lang_help",
                      "steps_catalog")


def _behave_load_errors() -> tuple[type[BaseException], ...]:
    from behave.exception import (
        ClassNotFoundError,
        ConstraintError,
        InvalidClassError,
        InvalidFileLocationError,
        InvalidFilenameError,
    )
    from behave.exception import (
        ConfigError as BehaveConfigError,
    )
    from behave.parser import ParserError

    return (BehaveConfigError, ParserError, ClassNotFoundError, ConstraintError,
            InvalidClassError, InvalidFileLocationError, InvalidFilenameError, ImportError,
            FileNotFoundError)


_BEHAVE_LOAD_ERRORS = _behave_load_errors()


def _configuration(args: list[str]):  # type: ignore[no-untyped-def]
    from behave.configuration import Configuration

    return Configuration(command_args=args)


def _settings(config) -> Settings:  # type: ignore[no-untyped-def]
    """The run's settings from the userdata behave will see, checked before it starts."""
    from canaryspec.settings import load_settings

    settings = load_settings(config.userdata)
    if not settings.attached:  # an attached run starts nothing from a compose file
        settings.canary_compose_file  # noqa: B018 -- missing compose file: ConfigError now
    return settings


def _fallback_reports_dir(config) -> Path:  # type: ignore[no-untyped-def]
    """Where to say that the settings were wrong (they may name the reports_dir)."""
    userdata = getattr(config, "userdata", None) or {}
    # The variable outranks -D, as in the settings (the runner image sets it).
    raw = os.environ.get("CANARYSPEC_REPORTS_DIR") or \
        str(userdata.get("reports_dir", "reports") or "reports")
    return (PROJECT_ROOT / raw).resolve()


def _write_reports(record, reports: Path) -> None:  # type: ignore[no-untyped-def]
    """run.json, phases.json, JUnit, Allure extras and summary.md: all from one record."""
    import json

    from canaryspec.reports import allure, junit, summary

    record.write(reports)
    (reports / "phases.json").write_text(json.dumps(record.phases, indent=2) + "\n")
    junit.write(record, reports)
    allure.finish(reports / allure.RESULTS_DIR, reports, record)
    summary.write(record, reports)


def _clear_stale(reports: Path) -> Path:
    """Remove the last run's verdict files, so a run that stops early leaves no old verdict;
    return the emptied Allure results directory."""
    from canaryspec.reports import allure
    from canaryspec.reports.record import RUN_RECORD

    for stale in (RUN_RECORD, "summary.md", "comparison.md", "benchmark.md", "phases.json"):
        (reports / stale).unlink(missing_ok=True)
    results_dir = reports / allure.RESULTS_DIR
    allure.prepare(results_dir, reports)
    return results_dir


def _say_verdict(record, reports: Path) -> None:  # type: ignore[no-untyped-def]
    from canaryspec.reports import summary

    out = sys.__stdout__ or sys.stdout
    reasons = summary.why_not_passed(record)
    if reasons:
        print(f"canaryspec: {len(reasons)} reason(s) the run did not pass:", file=out)
        for line in reasons:
            print(f"  - {line.replace('**', '')}", file=out)
    print(f"canaryspec: verdict {summary.verdict_line(record)}; exit code {record.exit_code}",
          file=out)
    print(f"canaryspec: summary {reports / 'summary.md'}; Allure results "
          f"{reports / 'allure-results'}; JUnit {reports / 'junit'}", file=out, flush=True)
    if record.setup_error:
        print(f"canaryspec: set-up problem ({record.setup_error['kind']}): "
              f"{record.setup_error['message']}", file=sys.stderr, flush=True)


def _stopped_before_any_scenario(error: CanaryspecError, config,  # type: ignore[no-untyped-def]
                                 reports: Path | None = None) -> int:
    """A run that could not start: its reports still say so (NOT RUN, the reason, one broken
    result for Allure and JUnit), so no earlier run's verdict is left to be read as this one's."""
    from canaryspec.reports.record import RunRecord

    reports = reports or _fallback_reports_dir(config)
    _clear_stale(reports)
    profile = str(getattr(config, "userdata", {}).get("profile", "?")) if config else "?"
    record = RunRecord(run_id="-", profile=profile, setup_error=error.as_record(),
                       exit_code=error.exit_code)
    _write_reports(record, reports)
    _say_verdict(record, reports)
    return error.exit_code


def _run_behave(config):  # type: ignore[no-untyped-def]
    """behave's run, in this process, with its runner kept: the model is judged afterwards."""
    from canaryspec.ordering import StaticFirstRunner

    if not config.format:
        config.format = [config.default_format]
    elif "format" in config.defaults and len(config.format) == len(config.defaults["format"]):
        config.format.append(config.default_format)  # behave's console output, as behave does
    runner = StaticFirstRunner(config)
    # A signal outside what behave guards (loading, formatting) still ends in an aborted run.
    with contextlib.suppress(KeyboardInterrupt):
        try:
            runner.run()
        except _BEHAVE_LOAD_ERRORS as error:
            # The features, steps or environment could not be loaded: nothing was run.
            raise ConfigError(f"behave could not load the suite: {type(error).__name__}: "
                              f"{error}") from None
    return runner


def _behave(args: list[str]) -> int:
    """The suite, then every report rendered from one judged record."""
    from behave.__main__ import run_behave
    from behave.textutil import text as behave_text

    from canaryspec import interrupts
    from canaryspec.outcomes import exit_code
    from canaryspec.reports.record import RunRecord, scenario_records

    try:
        config = _configuration(args)
    except Exception as error:  # behave's own ConfigError / TagExpressionError
        return _stopped_before_any_scenario(
            ConfigError(f"behave refused its arguments: {behave_text(error)}"), None)
    if any(getattr(config, mode, False) for mode in _BEHAVE_ONLY_MODES) or \
            "help" in (config.format or []):
        return int(run_behave(config) or 0)
    try:
        settings = _settings(config)
    except CanaryspecError as error:
        return _stopped_before_any_scenario(error, config)

    reports = settings.reports_dir
    results_dir = _clear_stale(reports)
    _point_allure_at(config, results_dir)
    config.junit = False  # JUnit is written from the judged record (canaryspec.reports.junit)
    config.reporters = [r for r in config.reporters if type(r).__name__ != "JUnitReporter"]

    interrupts.STATE.install()
    try:
        try:
            runner = _run_behave(config)
        except ConfigError as error:
            return _stopped_before_any_scenario(error, config, settings.reports_dir)
        with interrupts.shielded():
            run = getattr(runner.context, "run", None) if runner.context else None
            if run is not None:
                run.close()  # already done by behave's clean-up, unless it was cut short
            record = run.finish_record() if run else RunRecord(run_id="-",
                                                               profile=settings.profile.name)
            record.interrupted_by = interrupts.STATE.received
            record.scenarios = scenario_records(runner.features, config, record.end)
            record.exit_code = exit_code(record.outcomes(), record.end, interrupts.EXIT_CODES,
                                         images_missing=record.images_missing())
            _write_reports(record, reports)
            _say_verdict(record, reports)
    finally:
        interrupts.STATE.uninstall()
    return record.exit_code


def _point_allure_at(config, results_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """allure-behave writes where reports_dir says, not where pyproject's `outfiles` points:
    two runs with different reports_dir share nothing."""
    from behave.formatter.base import StreamOpener

    for index, name in enumerate(config.format or []):
        if "allure" in name.lower():
            while len(config.outputs) <= index:
                config.outputs.append(StreamOpener(stream=sys.stdout))
            config.outputs[index] = StreamOpener(filename=str(results_dir))


def _build(args: list[str]) -> int:
    from canaryspec.run import Run

    try:
        run = Run(_settings(_configuration(args)))
        with run.clock.phase("images (build or find)"):
            run.images.build()
        images = [run.images.get(role) for role in run.settings.profile.image_names]
    except CanaryspecError as error:
        print(f"canaryspec: {error}", file=sys.stderr)
        return error.exit_code
    for facts in images:
        print(f"{facts.tag:32} {facts.short_id}  {facts.size_mb:8.1f} MB")
    return 0


def _benchmark(args: list[str]) -> int:
    """The suite, then reports/benchmark.md: this run's phases and jobs beside the previous
    benchmark's (reports/benchmarks.jsonl keeps them all)."""
    from datetime import UTC, datetime

    from canaryspec.reports import benchmark
    from canaryspec.reports.record import RunRecord

    when, load_before = datetime.now(UTC).isoformat(timespec="seconds"), benchmark.load_average()
    started = time.monotonic()
    code = _behave(args)
    total = time.monotonic() - started
    try:
        reports = _settings(_configuration(args)).reports_dir
    except CanaryspecError:
        return code
    record = RunRecord.read(reports)
    measurement = benchmark.Measurement(
        when=when, commit=record.environment.get("git.revision", "") if record else "",
        exit_code=code,
        wall_seconds=round(total, 1), load_before=load_before,
        load_after=benchmark.load_average(),
        scenarios=len(record.scenarios) if record else 0,
        phases=benchmark.phases_of(record.phases if record else []),
        jobs=benchmark.jobs_of(record.jobs if record else []))
    print(benchmark.write(reports, measurement))
    return code


def _clean(args: list[str]) -> int:
    """Remove kept canaries (all, or the project named) and what dead runs left."""
    from canaryspec.images import connect_engine
    from canaryspec.owners import remove_kept, sweep_dead_runs

    try:
        client = connect_engine()
    except CanaryspecError as error:
        print(f"canaryspec: {error}", file=sys.stderr)
        return error.exit_code
    for leftovers in sweep_dead_runs(client):
        print(f"canaryspec: removed what a dead run left: {leftovers.describe()}")
    projects = args or [None]
    for project in projects:
        removed = remove_kept(client, project)
        what = project or "kept canaries"
        print(f"canaryspec: {what}: removed {len(removed)} resource(s)"
              + (f" ({', '.join(removed)})" if removed else ""))
    return 0


def _verdicts(args: list[str]) -> int:
    """Break the platform on purpose, variant by variant; fail when a variant is missed.
    `--jobs N` (default 2, or CANARYSPEC_VERDICT_JOBS) judges N variants at once: each has its
    own scratch copy, image tag, canary and reports, so they never meet."""
    from concurrent.futures import ThreadPoolExecutor

    from canaryspec import verdicts
    from canaryspec.images import connect_engine

    jobs = int(os.environ.get("CANARYSPEC_VERDICT_JOBS", "2"))
    if "--jobs" in args:
        at = args.index("--jobs")
        jobs, args = int(args[at + 1]), args[:at] + args[at + 2:]
    only = set(args)
    variants = [v for v in verdicts.load_catalog() if not only or v.name in only]
    unknown = only - {v.name for v in variants}
    if unknown:
        print(f"canaryspec: no variant named {', '.join(sorted(unknown))}; the catalogue has "
              f"{', '.join(v.name for v in verdicts.load_catalog())}", file=sys.stderr)
        return ConfigError.exit_code
    try:
        settings = _settings(_configuration([]))
        connect_engine()
    except CanaryspecError as error:
        print(f"canaryspec: set-up problem ({type(error).__name__}): {error}", file=sys.stderr)
        return error.exit_code
    reports = settings.reports_dir / "verdicts"
    shutil.rmtree(reports, ignore_errors=True)
    started = time.monotonic()

    def judge(variant: verdicts.Variant) -> verdicts.Judgement:
        print(f"canaryspec: variant {variant.name}: {variant.breaks} ...", flush=True)
        judgement = verdicts.check_variant(connect_engine(), settings, variant, reports)
        outcome = "caught" if judgement.caught else "MISSED"
        extra = f", {len(judgement.unexpected)} unexpected failure(s)" if judgement.unexpected \
            else ""
        print(f"canaryspec: variant {variant.name}: {outcome}{extra} in "
              f"{judgement.seconds:.0f} s", flush=True)
        return judgement

    verdicts.TRIAL_RUNS.stop_on_signals()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        # Started longest first (what starts last sets when all are done), reported in
        # catalogue order.
        started_jobs = {v.name: pool.submit(judge, v) for v in verdicts.longest_first(variants)}
        judgements = [started_jobs[v.name].result() for v in variants]
    path = verdicts.write_reports(judgements, time.monotonic() - started, settings.reports_dir)
    print(path.read_text())
    if verdicts.TRIAL_RUNS.stopped_by:
        return _stopped(verdicts.TRIAL_RUNS.stopped_by)
    return 0 if all(j.clean for j in judgements) else 1


def _stopped(signal_name: str) -> int:
    """The self-check or the mutants were interrupted: each run under way tore its canary
    down; what was not judged says so in the report. The shell's code for the signal."""
    from canaryspec.interrupts import EXIT_CODES

    print(f"canaryspec: interrupted by {signal_name}: what was under way was stopped and "
          "cleaned up; the rest was not judged", file=sys.stderr)
    return EXIT_CODES[signal_name]


def _mutants(args: list[str]) -> int:
    """A seeded sample of cosmic-ray's mutants of the platform, each run like a variant; exit 1
    only when one could not be judged (a survivor is a finding, not a failure of the run)."""
    import argparse
    from concurrent.futures import ThreadPoolExecutor

    from canaryspec import mutants, verdicts
    from canaryspec.images import connect_engine

    parser = argparse.ArgumentParser(prog="python -m canaryspec mutants")
    parser.add_argument("--sample", type=int, default=30, help="how many mutants (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="the sample's seed (default 1)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="mutants judged at once, each with its own copy, images and canary "
                             "(default 2)")
    options = parser.parse_args(args)
    try:
        settings = _settings(_configuration([]))
        connect_engine()  # no engine: a set-up problem before anything is drawn
    except CanaryspecError as error:
        print(f"canaryspec: set-up problem ({type(error).__name__}): {error}", file=sys.stderr)
        return error.exit_code
    started = time.monotonic()
    sites = mutants.enumerate_sites()
    sample = mutants.sample_sites(sites, options.sample, options.seed)
    equivalent = mutants.load_equivalent()
    print(f"canaryspec: mutants: {len(sample)} of {len(sites)} sites (seed {options.seed}), "
          f"enumerated in {time.monotonic() - started:.0f} s", flush=True)
    verdicts.TRIAL_RUNS.stop_on_signals()
    reports = settings.reports_dir / "mutants"
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
    to_run = [site for site in sample if site.id not in equivalent]
    areas = " or ".join(sorted({f"({mutants.tags_for(site.file)})" for site in to_run}))
    failing_unmutated: set[str] = set()
    if areas:
        print(f"canaryspec: mutants: the unmutated images first ({areas}) ...", flush=True)
        try:
            failing_unmutated = mutants.run_baseline(settings, areas, reports / "baseline")
        except RuntimeError as error:
            if verdicts.TRIAL_RUNS.stopped_by:
                return _stopped(verdicts.TRIAL_RUNS.stopped_by)
            print(f"canaryspec: mutants: {error}", file=sys.stderr)
            return 1
        print(f"canaryspec: mutants: {len(failing_unmutated)} scenario(s) do not pass unmutated"
              f" and are not counted: {'; '.join(sorted(failing_unmutated)) or 'none'}",
              flush=True)
    def judge(numbered: tuple[int, mutants.Site]) -> mutants.MutantResult:
        number, site = numbered
        mutant = mutants.make_mutant(site, (PROJECT_ROOT / site.file).read_text())
        print(f"canaryspec: mutant {number}/{len(sample)} {site.id} {site.where} "
              f"{site.operator}: {mutant.diff} ...", flush=True)
        if site.id in equivalent:
            result = mutants.MutantResult(mutant, mutants.Fate.EQUIVALENT, equivalent[site.id])
        else:
            result = mutants.check_mutant(connect_engine(), settings, mutant, reports,
                                          failing_unmutated)
        print(f"canaryspec: mutant {site.id}: {result.fate.value} in {result.seconds:.0f} s"
              f"{': ' + result.reason[:200] if result.reason else ''}", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        results = list(pool.map(judge, enumerate(sample, 1)))  # in sample order
    path = mutants.write_reports(results, sample=options.sample, seed=options.seed,
                                 population=len(sites), total_seconds=time.monotonic() - started,
                                 reports_dir=settings.reports_dir,
                                 failing_unmutated=failing_unmutated)
    print(path.read_text())
    print(f"canaryspec: mutants: {mutants.rate_line(results)}; {path}", flush=True)
    if verdicts.TRIAL_RUNS.stopped_by:
        return _stopped(verdicts.TRIAL_RUNS.stopped_by)
    return 1 if any(r.fate is mutants.Fate.NOT_JUDGED for r in results) else 0


def _compare(args: list[str]) -> int:
    """The handoff's method: the canary on the monolith (baseline), then on the split images,
    compared side by side in reports/comparison.md."""
    from canaryspec.outcomes import IMAGE_MISSING_EXIT
    from canaryspec.reports import allure, comparison
    from canaryspec.reports.record import RunRecord

    try:
        settings = _settings(_configuration(args))
    except CanaryspecError as error:
        print(f"canaryspec: set-up problem ({type(error).__name__}): {error}", file=sys.stderr)
        return error.exit_code
    reports, baseline = settings.reports_dir, settings.reports_dir / "baseline-monolith"
    out = sys.__stdout__ or sys.stdout
    print("canaryspec: compare: the baseline, on the monolith ...", file=out, flush=True)
    code = _behave([*args, "-D", "deployment=monolith", "-D", f"reports_dir={baseline}"])
    baseline_incomplete = code == IMAGE_MISSING_EXIT
    if code >= 3 and not baseline_incomplete:  # a set-up stop or an interrupt: nothing to do
        return code
    print("canaryspec: compare: the split images ...", file=out, flush=True)
    code = _behave([*args, "-D", "deployment=split", "-D", f"reports_dir={reports}"])
    monolith, split = RunRecord.read(baseline), RunRecord.read(reports)
    if baseline_incomplete and monolith is not None:
        # The split was still judged; only the side-by-side needs the baseline's image.
        path, line = comparison.write_not_compared(monolith, reports)
        print(f"canaryspec: comparison {line}; {path}", file=out, flush=True)
        return code if code in (1, IMAGE_MISSING_EXIT) else IMAGE_MISSING_EXIT
    if code >= 3 or monolith is None or split is None:
        return code if code >= 3 else 1
    path, line, verdict_code = comparison.write(monolith, split, reports,
                                                settings.min_size_reduction_percent)
    allure.write_comparison(reports / allure.RESULTS_DIR, line, verdict_code == 0,
                            path.read_text())
    print(f"canaryspec: comparison {line}; {path}", file=out, flush=True)
    return verdict_code


COMMANDS = {"run": _behave, "compare": _compare, "build": _build, "benchmark": _benchmark,
            "clean": _clean, "verdicts": _verdicts, "mutants": _mutants}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
