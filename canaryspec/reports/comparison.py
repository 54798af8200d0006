"""The handoff's method as a report: the same canary on the monolith (the baseline) and on the
split images, side by side (`python -m canaryspec compare`, `reports/comparison.md`).

Parity: every scenario's outcome on both. The split regresses when a scenario that passes on the
monolith does not pass on it; the verdict is PASSED only without regressions and without
scenarios failing on both or failing split-only checks. What the split bought: image sizes, memory, start-up and job times.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from canaryspec.outcomes import IMAGE_MISSING, Outcome
from canaryspec.reports.record import RunRecord, ScenarioRecord
from canaryspec.reports.summary import (
    reduction,
    size_text,
    table,
    baseline_table,
    e2e_table,
    image_sizes_table,
    optimisation_table,
)

NOT_PASSED = {Outcome.FAILED.value, Outcome.BROKEN.value, Outcome.ABORTED.value}
REGRESSION, BOTH, IMPROVEMENT, SPLIT_ONLY, SPLIT_ONLY_FAILS, SAME = (
    "regression", "fails on both", "improvement", "split only", "split only: fails", "")


@dataclass(frozen=True)
class ParityRow:
    """One scenario on both deployments."""

    feature: str
    scenario: str
    monolith: str     # its outcome, or "not run"
    split: str
    note: str         # one of the notes above


def _key(s: ScenarioRecord) -> tuple[str, str]:
    return s.feature_file, s.name


def parity(monolith: RunRecord, split: RunRecord) -> list[ParityRow]:
    """Every scenario of either run, the split's order first."""
    on_monolith = {_key(s): s for s in monolith.scenarios}
    on_split = {_key(s): s for s in split.scenarios}
    rows = []
    for key in dict.fromkeys([*on_split, *on_monolith]):
        scenario = on_split.get(key) or on_monolith[key]
        m = on_monolith[key].status if key in on_monolith else "not run"
        t = on_split[key].status if key in on_split else "not run"
        rows.append(ParityRow(scenario.feature, scenario.name, m, t, _note(m, t)))
    return rows


def _note(monolith: str, split: str) -> str:
    if monolith == Outcome.PASSED.value and split != Outcome.PASSED.value:
        return REGRESSION
    if monolith in NOT_PASSED and split in NOT_PASSED:
        return BOTH
    if monolith in NOT_PASSED and split == Outcome.PASSED.value:
        return IMPROVEMENT
    if monolith in {Outcome.SKIPPED.value, "not run"} and split == Outcome.PASSED.value:
        return SPLIT_ONLY
    if split in NOT_PASSED:
        return SPLIT_ONLY_FAILS  # a check the monolith did not run (torch-free backend, sizes)
    return SAME


def verdict(rows: list[ParityRow]) -> tuple[str, int]:
    """(the verdict line, the exit code)."""
    regressions = [r for r in rows if r.note == REGRESSION]
    split_only = [r for r in rows if r.note == SPLIT_ONLY_FAILS]
    both = [r for r in rows if r.note == BOTH]
    if regressions:
        return (f"REGRESSION — {len(regressions)} scenario(s) pass on the monolith and not on "
                f"the split: {'; '.join(r.scenario for r in regressions)}"), 1
    if split_only:
        return (f"FAILED — the split fails {len(split_only)} of its own check(s), which the "
                f"monolith does not run: {'; '.join(r.scenario for r in split_only)}"), 1
    if both:
        return (f"FAILS ON BOTH — no regression, but {len(both)} scenario(s) pass on neither: "
                f"{'; '.join(r.scenario for r in both)}"), 1
    judged = sum(r.monolith == r.split == Outcome.PASSED.value for r in rows)
    return (f"PASSED — the split does everything the monolith did ({judged} scenarios pass on "
            f"both)"), 0


def _spread(values: list[float]) -> str:
    if not values:
        return "not run"
    return (f"{statistics.median(values):.1f} s (n={len(values)}, {min(values):.1f} to "
            f"{max(values):.1f} s)")


def _jobs(record: RunRecord) -> dict[tuple[str, str], list[float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for job in record.jobs:
        out.setdefault((job["job"], job.get("strategy", "")), []).append(job["seconds"])
    return out


def gains(monolith: RunRecord, split: RunRecord, min_reduction: float) -> list[str]:
    """What the split bought, in tables: sizes, memory, start-up, job times."""
    out = ["## What the split bought", "", "### Image sizes", ""]
    monolith_size = size_text(split, "monolith")
    rows = []
    for role, label in (("backend", "backend"), ("worker-cpu", "CPU worker")):
        cut = reduction(split, role, "monolith")
        rows.append([label, size_text(split, role), monolith_size,
                     "?" if cut is None else f"{cut:.0f}%"])
    out += table(["Split image", "Size", "Monolith", "Smaller by"], rows)
    cut = reduction(split, "worker-cpu", "monolith")
    out += [f"The CPU worker must be at least {min_reduction:g}% smaller than the monolith: "
            f"{'met' if cut is not None and cut >= min_reduction else 'NOT met'}.", ""]

    out += ["### Memory (resident, MB, from the engine's stats)", ""]
    rows = []
    for moment in ("idle", "during a training"):
        services = sorted(set(monolith.memory.get(moment, {})) | set(split.memory.get(moment, {})))
        for service in services:
            m, t = monolith.memory.get(moment, {}).get(service), split.memory.get(moment, {}).get(
                service)
            ratio = f"{100 * t / m:.0f}%" if m and t is not None else "?"
            rows.append([moment, service, _mb(m), _mb(t), ratio])
    out += table(["When", "Service", "Monolith", "Split", "Split / monolith"],
                  rows or [["(not measured)", "", "", "", ""]])

    out += ["### Start-up (seconds from `compose up`)", ""]
    steps = sorted(set(monolith.startup) | set(split.startup))
    out += table(["Service", "Monolith", "Split"], [
        [step, _s(monolith.startup.get(step)), _s(split.startup.get(step))] for step in steps]
        or [["(not measured)", "", ""]])

    out += ["### Job durations (request to observed completion)", ""]
    jobs_m, jobs_s = _jobs(monolith), _jobs(split)
    out += table(["Job", "Strategy", "Monolith", "Split"], [
        [job, strategy, _spread(jobs_m.get((job, strategy), [])),
         _spread(jobs_s.get((job, strategy), []))]
        for job, strategy in sorted(set(jobs_m) | set(jobs_s))] or [["(none)", "", "", ""]])
    return out


def _mb(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def _s(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def render(monolith: RunRecord, split: RunRecord, rows: list[ParityRow],
           min_reduction: float) -> str:
    line, _ = verdict(rows)
    out = [f"# Split vs monolith: {line}", "",
           f"Target `{split.profile}`. Baseline: run `{monolith.run_id}` (monolith in the "
           f"backend's and both workers' places); split: run `{split.run_id}`. The static image "
           "checks run once, with the split.", "", "## Parity", ""]
    out += table(["Feature", "Scenario", "Monolith", "Split", "Note"],
                  [[r.feature, r.scenario, r.monolith, r.split, r.note] for r in rows])
    out += gains(monolith, split, min_reduction)
    out += ["## The handoff's tables", ""]
    out += baseline_table(monolith) + image_sizes_table(split)
    out += e2e_table(split) + optimisation_table(split)
    return "\n".join(out) + "\n"


def as_data(monolith: RunRecord, split: RunRecord, rows: list[ParityRow]) -> dict[str, Any]:
    """The comparison for run.json."""
    line, code = verdict(rows)
    return {"verdict": line, "exit_code": code, "baseline_run": monolith.run_id,
            "split_run": split.run_id, "parity": [asdict(r) for r in rows],
            "memory": {"monolith": monolith.memory, "split": split.memory},
            "startup": {"monolith": monolith.startup, "split": split.startup},
            "jobs": {"monolith": monolith.jobs, "split": split.jobs}}


def write_not_compared(monolith: RunRecord, reports_dir: Path) -> tuple[Path, str]:
    """comparison.md when the baseline could not run for want of an image: what is missing
    and how to build it; returns (path, verdict line)."""
    missing = sorted({s.problem for s in monolith.scenarios if s.kind == IMAGE_MISSING})
    line = (f"NOT COMPARED — the baseline (the monolith) was not judged: "
            f"{'; '.join(missing) or 'an image is missing'}")
    path = reports_dir / "comparison.md"
    path.write_text(f"# Split vs monolith: {line}\n\nThe split images were judged on their "
                    "own (summary.md); the side-by-side needs the baseline's image.\n")
    return path, line


def write(monolith: RunRecord, split: RunRecord, reports_dir: Path,
          min_reduction: float) -> tuple[Path, str, int]:
    """comparison.md and the comparison in run.json; returns (path, verdict line, exit code)."""
    rows = parity(monolith, split)
    path = reports_dir / "comparison.md"
    path.write_text(render(monolith, split, rows, min_reduction))
    split.comparison = as_data(monolith, split, rows)
    split.write(reports_dir)
    line, code = verdict(rows)
    return path, line, code
