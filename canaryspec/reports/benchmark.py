"""`make benchmark`: this run's phase timings and job durations beside the previous run's.

Every benchmark appends one line to reports/benchmarks.jsonl (when, which commit, how loaded the
machine was, the phases, the jobs); reports/benchmark.md shows this run next to the one before,
phase by phase, so a slowdown shows where it happened. A figure is only comparable with one
measured on the same machine at a similar load: both are printed.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HISTORY = "benchmarks.jsonl"
REPORT = "benchmark.md"


@dataclass
class Measurement:
    """One `make benchmark` run."""

    when: str                                   # ISO time, UTC
    commit: str                                 # the run record's git revision
    exit_code: int
    wall_seconds: float
    load_before: float                          # 1-min load average at start and at end
    load_after: float
    scenarios: int
    phases: dict[str, float] = field(default_factory=dict)   # phase -> seconds (summed)
    jobs: dict[str, list[float]] = field(default_factory=dict)  # "job strategy" -> seconds

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measurement:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def phases_of(record_phases: list[dict[str, Any]]) -> dict[str, float]:
    """The run record's phases, in order, a repeated phase summed."""
    totals: dict[str, float] = {}
    for phase in record_phases:
        totals[phase["phase"]] = totals.get(phase["phase"], 0.0) + float(phase["seconds"])
    return totals


def jobs_of(record_jobs: list[dict[str, Any]]) -> dict[str, list[float]]:
    grouped: dict[str, list[float]] = {}
    for job in record_jobs:
        key = f"{job['job']} {job.get('strategy', '')}".strip()
        grouped.setdefault(key, []).append(float(job["seconds"]))
    return grouped


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return -1.0


def previous(history: Path) -> Measurement | None:
    """The last measurement recorded, or None (no history yet, or an unreadable last line)."""
    if not history.is_file():
        return None
    lines = [line for line in history.read_text().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return Measurement.from_json(json.loads(lines[-1]))
    except (ValueError, TypeError):
        return None


def append(history: Path, measurement: Measurement) -> None:
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a") as out:
        out.write(json.dumps(asdict(measurement)) + "\n")


def _change(now: float, before: float | None) -> str:
    if before is None:
        return "new"
    delta = now - before
    if before > 0:
        return f"{delta:+.1f} s ({delta / before:+.0%})"
    return f"{delta:+.1f} s"


def render(now: Measurement, before: Measurement | None) -> str:
    def seconds(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    then = before.phases if before else {}
    lines = ["# canaryspec benchmark", "",
             f"This run: {now.when}, commit {now.commit or '?'}, exit code {now.exit_code}, "
             f"{now.scenarios} scenarios, wall time {now.wall_seconds:.1f} s, load average "
             f"{now.load_before:.2f} → {now.load_after:.2f}."]
    if before:
        lines.append(f"Previous: {before.when}, commit {before.commit or '?'}, exit code "
                     f"{before.exit_code}, {before.scenarios} scenarios, wall time "
                     f"{before.wall_seconds:.1f} s, load average {before.load_before:.2f} → "
                     f"{before.load_after:.2f}.")
    else:
        lines.append("Previous: none recorded (reports/benchmarks.jsonl starts with this run).")
    lines += ["", "| phase | this run s | previous s | change |", "|---|---:|---:|---|"]
    for phase in list(now.phases) + [p for p in then if p not in now.phases]:
        value, old = now.phases.get(phase), then.get(phase)
        change = "gone" if value is None else _change(value, old)
        lines.append(f"| {phase} | {seconds(value)} | {seconds(old)} | {change} |")
    lines.append(f"| **wall time** | {now.wall_seconds:.1f} | "
                 f"{seconds(before.wall_seconds if before else None)} | "
                 f"{_change(now.wall_seconds, before.wall_seconds if before else None)} |")
    lines += ["", "| job | runs | median s | max s | previous median s |",
              "|---|---:|---:|---:|---:|"]
    old_jobs = before.jobs if before else {}
    for job, runs in sorted(now.jobs.items()):
        old_runs = old_jobs.get(job)
        lines.append(f"| {job} | {len(runs)} | {statistics.median(runs):.1f} | {max(runs):.1f} |"
                     f" {seconds(statistics.median(old_runs) if old_runs else None)} |")
    return "\n".join(lines) + "\n"


def write(reports_dir: Path, now: Measurement) -> str:
    """Render this run beside the previous one into benchmark.md, then record it."""
    history = reports_dir / HISTORY
    text = render(now, previous(history))
    (reports_dir / REPORT).write_text(text)
    append(history, now)
    return text
