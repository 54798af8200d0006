"""`python -m canaryspec run|build|benchmark [behave args]`.

run        the acceptance suite (behave with the project's configuration), reports in reports/
build      build (or find) the images only
benchmark  the suite, then reports/benchmark.md with the phase timings of that run
"""

from __future__ import annotations

import json
import sys
import time

from canaryspec.errors import CanaryspecError


def _behave(args: list[str]) -> int:
    from behave.__main__ import main as behave_main

    from canaryspec.errors import take_setup_error

    take_setup_error()  # a previous run's, if it was interrupted
    code = int(behave_main(args) or 0)
    setup_error = take_setup_error()
    if setup_error is not None:
        print(f"canaryspec: set-up problem ({setup_error['kind']}): {setup_error['message']}",
              file=sys.stderr)
        return int(setup_error["exit_code"])
    return code


def _build(args: list[str]) -> int:
    from behave.configuration import Configuration

    from canaryspec.run import Run
    from canaryspec.settings import load_settings

    try:
        settings = load_settings(Configuration(command_args=args).userdata)
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
    from canaryspec.settings import PROJECT_ROOT

    started = time.monotonic()
    code = _behave(args)
    total = time.monotonic() - started
    phases_file = PROJECT_ROOT / "reports" / "phases.json"
    phases = json.loads(phases_file.read_text()) if phases_file.exists() else []
    lines = ["# canaryspec benchmark", "", f"Exit code {code}; wall time {total:.1f} s.", "",
             "| phase | seconds |", "|---|---:|"]
    lines += [f"| {p['phase']} | {p['seconds']:.1f} |" for p in phases]
    out = PROJECT_ROOT / "reports" / "benchmark.md"
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
