"""`python -m canaryspec run|build|benchmark [behave args]`.

run        the acceptance suite (behave with the project's configuration), reports in reports/
build      build (or find) the images only
benchmark  the suite, then reports/benchmark.md with the phase timings of that run
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from canaryspec.errors import CanaryspecError
from canaryspec.settings import Settings


def allure_results_dir() -> Path:
    """Where allure-behave writes: pyproject's `outfiles`, which behave resolves from the
    working directory."""
    return Path("reports", "allure-results").resolve()



def _behave(args: list[str]) -> int:
    """The suite, then the reports rendered from what it recorded."""
    from behave.__main__ import main as behave_main

    from canaryspec import allure_results, summary
    from canaryspec.errors import take_setup_error
    from canaryspec.run_record import RUN_RECORD, RunRecord

    try:
        settings = _settings(args)
    except CanaryspecError as error:
        print(f"canaryspec: set-up problem ({type(error).__name__}): {error}", file=sys.stderr)
        return error.exit_code
    reports = settings.reports_dir
    take_setup_error()  # a previous run's, if it was interrupted
    for stale in (reports / RUN_RECORD, reports / "summary.md", reports / "benchmark.md",
                  *Path("reports", "junit").glob("*.xml")):
        stale.unlink(missing_ok=True)
    results_dir = allure_results_dir()
    allure_results.prepare(results_dir, reports)
    code = int(behave_main(args) or 0)
    setup_error = take_setup_error()
    record = RunRecord.read(reports) or RunRecord(run_id="-", profile=settings.profile.name)
    if setup_error is not None:
        record.setup_error = setup_error
    allure_results.finish(results_dir, reports, record)
    written = summary.write(record, reports)
    if setup_error is not None:
        print(f"canaryspec: set-up problem ({setup_error['kind']}): {setup_error['message']}",
              file=sys.stderr)
        return int(setup_error["exit_code"])
    print(f"canaryspec: verdict in {written}; Allure results in {results_dir}; JUnit XML "
          f"in {reports / 'junit'}", flush=True)
    return code


def _settings(args: list[str]) -> Settings:
    """The run's settings from the same userdata behave will see, checked before it starts."""
    from behave.configuration import Configuration

    from canaryspec.settings import load_settings

    return load_settings(Configuration(command_args=args).userdata)


def _build(args: list[str]) -> int:
    from canaryspec.run import Run

    try:
        settings = _settings(args)
        run = Run.start(settings)
        with run.clock.phase("images (build or find)"):
            images = run.prepare_images()
    except CanaryspecError as error:
        print(f"canaryspec: {error}", file=sys.stderr)
        return error.exit_code
    for facts in images.values():
        print(f"{facts.tag:32} {facts.short_id}  {facts.size_mb:8.1f} MB")
    return 0


def _benchmark(args: list[str]) -> int:
    """The suite, then reports/benchmark.md: phase timings and job durations of that run."""
    import statistics

    from canaryspec.run_record import RunRecord

    started = time.monotonic()
    code = _behave(args)
    total = time.monotonic() - started
    try:
        reports = _settings(args).reports_dir
    except CanaryspecError:
        return code
    record = RunRecord.read(reports)
    phases = record.phases if record else []
    lines = ["# canaryspec benchmark", "", f"Exit code {code}; wall time {total:.1f} s.", "",
             "| phase | seconds |", "|---|---:|"]
    lines += [f"| {p['phase']} | {p['seconds']:.1f} |" for p in phases]
    lines += ["", "| job | strategy | runs | median s | max s |", "|---|---|---:|---:|---:|"]
    jobs = record.jobs if record else []
    for job, strategy in sorted({(j["job"], j.get("strategy", "")) for j in jobs}):
        seconds = [j["seconds"] for j in jobs
                   if (j["job"], j.get("strategy", "")) == (job, strategy)]
        lines.append(f"| {job} | {strategy} | {len(seconds)} | {statistics.median(seconds):.1f} | "
                     f"{max(seconds):.1f} |")
    out = reports / "benchmark.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return code


COMMANDS = {"run": _behave, "build": _build, "benchmark": _benchmark}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
