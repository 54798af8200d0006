"""`reports/summary.md`: the run's verdict, readable without any Allure tool.

It regenerates the four tables of the handoff this project started from, with this run's
figures, then results by area, image facts, job durations and phase timings. Markdown only, so
it can be a CI job summary as it is.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from canaryspec.outcomes import OUTCOME_ORDER, Outcome
from canaryspec.reports.record import AREAS, RunRecord, ScenarioRecord

PASS, FAIL, NOT_RUN = "✅ PASS", "❌ FAIL", "⏭ NOT RUN"
NOT_PASSED = (Outcome.FAILED, Outcome.BROKEN, Outcome.ABORTED)


@dataclass(frozen=True)
class Evidence:
    """The scenarios behind a row of the handoff's tables: those tagged `@handoff.<row>` (so a
    scenario can be renamed, or another added to a row, without touching this module)."""

    row: str

    @property
    def tag(self) -> str:
        return f"handoff.{self.row}"

    def matches(self, record: ScenarioRecord) -> bool:
        return self.tag in record.tags


BACKEND_HEALTH = Evidence("health")
REGISTERS = Evidence("registration")
REACHES = Evidence("reaches_workers")
TRAINING = [Evidence("training_lifecycle")]
BACKTEST = [Evidence("backtest_lifecycle")]
DISPATCH = [Evidence("dispatch")]
NO_TORCH = [Evidence("no_torch")]
HAS_TORCH = Evidence("has_torch")
SMALLER = [Evidence("size_reduction")]

# Every Evidence the summary cites (a unit test checks each names a real scenario).
ALL_EVIDENCE = [BACKEND_HEALTH, REGISTERS, REACHES, *TRAINING, *BACKTEST, *DISPATCH, *NO_TORCH,
                HAS_TORCH, *SMALLER]


def verdict(record: RunRecord, evidence: Iterable[Evidence]) -> tuple[str, list[ScenarioRecord]]:
    """PASS when every scenario behind a row ran and passed; FAIL when one did not pass
    (failed, broken or aborted); NOT RUN when some were not run or skipped."""
    evidence = list(evidence)
    found = [s for s in record.scenarios if any(e.matches(s) for e in evidence)]
    if any(s.outcome in NOT_PASSED for s in found):
        return FAIL, found
    ran = [s for s in found if s.outcome is Outcome.PASSED]
    if not ran or len(ran) < len(found):
        return NOT_RUN, found
    return PASS, found


def size_text(record: RunRecord, role: str) -> str:
    image = record.images.get(role)
    if image is None:
        return "?"
    return f"{image.size_mb / 1000:.2f} GB" if image.size_mb >= 1000 else f"{image.size_mb:.0f} MB"


def reduction(record: RunRecord, smaller: str, larger: str) -> float | None:
    a, b = record.images.get(smaller), record.images.get(larger)
    if a is None or b is None or not b.size_mb:
        return None
    return 100.0 * (1 - a.size_mb / b.size_mb)


def _failed_note(found: list[ScenarioRecord]) -> str:
    failed = [s for s in found if s.outcome in NOT_PASSED]
    return f"{failed[0].name}: {failed[0].headline[:160]}" if failed else ""


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows), ""]


def job_durations(record: RunRecord, job: str) -> list[float]:
    return [j["seconds"] for j in record.jobs if j["job"] == job]


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s" if values else "not run"


def baseline_table(record: RunRecord) -> list[str]:
    """Handoff task 4.1: the canary on the monolith (a monolith-deployment run's record)."""
    rows = [[label, verdict(record, evidence)[0]]
            for label, evidence in [("Backend Health", [BACKEND_HEALTH]),
                                    ("Workers Registered", [REGISTERS]),
                                    ("Training Lifecycle", TRAINING),
                                    ("Backtest Lifecycle", BACKTEST)]]
    return ["### Baseline test results (handoff task 4.1, monolith)", "",
            *table(["Test", "Result"], rows)]


def image_sizes_table(record: RunRecord) -> list[str]:
    return ["### Image sizes", "", *table(["Image", "Size", "Torch"], [
        [img.tag, size_text(record, role), img.torch] for role, img in record.images.items()])]


def e2e_table(record: RunRecord) -> list[str]:
    """Handoff task 4.4: the canary on the split images."""
    backtests = job_durations(record, "backtest")
    health, health_found = verdict(record, [BACKEND_HEALTH])
    registered, reg_found = verdict(record, [REGISTERS])
    dispatch, dispatch_found = verdict(record, DISPATCH)
    backtest, backtest_found = verdict(record, BACKTEST)
    return ["### E2E test results (handoff task 4.4, split)", "", *table(
        ["Test", "Result", "Notes"], [
            ["API Health Check", health, _failed_note(health_found) or
             f"backend answered on its canary's own port "
             f"({record.environment.get('ports', 'ports not recorded')})"],
            ["Worker Registration", registered, _failed_note(reg_found) or
             f"{len(record.workers)} workers ({' + '.join(record.workers) or 'none seen'})"],
            ["Backend→Worker Dispatch", dispatch, _failed_note(dispatch_found) or
             "each job ran on a worker of its own type"],
            ["Backtest Completion", backtest, _failed_note(backtest_found) or
             f"median {_median(backtests)} over {len(backtests)} backtest(s); data seeded in "
             "the canary's own volume"]])]


def optimisation_table(record: RunRecord) -> list[str]:
    """The handoff's "container optimisation validated" table (split)."""
    backend_torch = record.images["backend"].torch if "backend" in record.images else "?"
    worker = record.images.get("worker-cpu")
    cpu_cut = reduction(record, "worker-cpu", "worker-gpu")
    backend_cut = reduction(record, "backend", "worker-gpu")
    no_torch, no_torch_found = verdict(record, NO_TORCH)
    has_torch, has_torch_found = verdict(record, [HAS_TORCH])
    talks, talks_found = verdict(record, [REACHES, *DISPATCH])
    smaller, smaller_found = verdict(record, SMALLER)

    def why(result: str, found: list[ScenarioRecord]) -> str:
        return f" — {_failed_note(found)}" if result == FAIL else ""

    return ["### Container optimisation validated", "", *table(["Validation", "Result"], [
        ["Backend has NO torch", f"{no_torch} {size_text(record, 'backend')} image, torch: "
                                 f"{backend_torch}{why(no_torch, no_torch_found)}"],
        ["Workers HAVE torch", f"{has_torch} {size_text(record, 'worker-cpu')}, torch "
                               f"{worker.torch if worker else '?'}"
                               f"{why(has_torch, has_torch_found)}"],
        ["Backend→Worker communication", f"{talks} health reached over the canary network; "
                                         f"jobs dispatched and completed"
                                         f"{why(talks, talks_found)}"],
        ["~20% size reduction", f"{smaller} CPU worker "
                                f"{'?' if cpu_cut is None else f'{cpu_cut:.0f}%'} smaller than "
                                f"the monolith, backend "
                                f"{'?' if backend_cut is None else f'{backend_cut:.0f}%'} smaller"
                                f"{why(smaller, smaller_found)}"]])]


def job_table(record: RunRecord) -> list[str]:
    rows = []
    for job, strategy in sorted({(j["job"], j.get("strategy", "")) for j in record.jobs}):
        seconds = [j["seconds"] for j in record.jobs
                   if j["job"] == job and j.get("strategy", "") == strategy]
        rows.append([job, strategy, str(len(seconds)), _median(seconds), f"{max(seconds):.1f} s"])
    return ["### Job durations (request to observed completion)", "",
            *table(["Job", "Strategy", "Runs", "Median", "Slowest"], rows or [
                ["(no job completed in this run)", "", "", "", ""]])]


def seed_tables(record: RunRecord) -> list[str]:
    """The handoff's tables this run measured: the baseline (4.1) only from a monolith run, the
    split's (4.4, optimisation) only from a split run."""
    out = ["## The handoff's tables, from this run", ""]
    if record.deployment == "monolith":
        out += baseline_table(record)
        out += ["The split's tables (handoff task 4.4, container optimisation) come from a "
                "split run; `make compare` runs both.", ""]
    else:
        out += ["The baseline (handoff task 4.1: the same canary on the monolith) was not run "
                "here; `make compare` runs it, then this split, and compares them "
                "(`reports/comparison.md`).", ""]
    out += image_sizes_table(record)
    if record.deployment != "monolith":
        out += e2e_table(record) + optimisation_table(record)
    out += job_table(record)
    return out


def verdict_line(record: RunRecord) -> str:
    """The run's verdict in one line, every outcome counted (the summary's headline, the
    console's last line)."""
    counts = record.counts()
    total = len(record.scenarios)
    tally = ", ".join(f"{counts[o]} {o.value}" for o in OUTCOME_ORDER)
    if record.interrupted_by:
        word = f"ABORTED by {record.interrupted_by}"
    elif record.setup_error:
        word = f"NOT RUN — set-up problem ({record.setup_error['kind']})"
    elif any(counts[o] for o in NOT_PASSED):
        word = "FAILED"
    elif not counts[Outcome.PASSED]:
        word = "NOT RUN — no scenario was judged"
    else:
        word = "PASSED"
    return f"{word} — {tally} (of {total} selected)"


def why_not_passed(record: RunRecord) -> list[str]:
    """One line per scenario that did not pass, and one per group blocked by the same cause."""
    lines: list[str] = []
    groups: dict[tuple[str, str], list[ScenarioRecord]] = {}
    for s in record.scenarios:
        if s.outcome in NOT_PASSED:
            groups.setdefault((s.status, s.headline), []).append(s)
    for (status, reason), scenarios in groups.items():
        category = scenarios[0].category_name
        if len(scenarios) == 1:
            s = scenarios[0]
            lines.append(f"**{status}** [{category}] {s.feature}: {s.name} — {reason}")
        else:
            names = "; ".join(s.name for s in scenarios[:5]) + (" …" if len(scenarios) > 5 else "")
            lines.append(f"**{status}** [{category}] {len(scenarios)} scenarios ({names}) — "
                         f"{reason}")
    return lines


def render(record: RunRecord) -> str:
    out = [f"# Canary verdict: {verdict_line(record)}", "",
           f"Target `{record.profile}`, run `{record.run_id}`, started {record.started_at}, git "
           f"{record.environment.get('git.revision', '?')}, exit code "
           f"{record.exit_code if record.exit_code is not None else '?'}.", ""]
    if record.interrupted_by:
        out += [f"> The run was interrupted by {record.interrupted_by}: its canaries were torn "
                "down and the scenarios it had not judged are reported as aborted.", ""]
    if record.setup_error:
        out += [f"> {line}" for line in str(record.setup_error["message"]).splitlines()] + [""]
    reasons = why_not_passed(record)
    if reasons:
        out += ["## Why it did not pass", ""] + [f"- {line}" for line in reasons] + [""]

    out += ["## Scenarios by area", ""]
    rows = []
    for area in [*AREAS.values(), "Other"]:
        in_area = [s for s in record.scenarios if s.area == area]
        if in_area:
            rows.append([area, *(str(sum(s.outcome is o for s in in_area))
                                 for o in OUTCOME_ORDER)])
    out += table(["Area", *(o.value.capitalize() for o in OUTCOME_ORDER)], rows)
    out += seed_tables(record)
    out += ["## Phase timings", ""]
    out += table(["Phase", "Seconds"], [[p["phase"], f"{p['seconds']:.1f}"]
                                         for p in record.phases])
    return "\n".join(out)


def write(record: RunRecord, reports_dir: Path) -> Path:
    path = reports_dir / "summary.md"
    path.write_text(render(record) + "\n")
    return path
