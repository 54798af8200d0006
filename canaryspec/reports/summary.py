"""`reports/summary.md`: the run's verdict, readable without any Allure tool.

It regenerates the four tables of the handoff this project started from, with this run's
figures, then results by area, image facts, job durations and phase timings. Markdown only, so
it can be a CI job summary as it is.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from canaryspec.outcomes import OUTCOME_ORDER, PRODUCT, Outcome, cut
from canaryspec.reports.record import AREAS, RunRecord, ScenarioRecord, size_reduction_percent

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
    return size_reduction_percent(a.size_mb, b.size_mb)


def _failed_note(found: list[ScenarioRecord]) -> str:
    """A FAIL row's note: the root causes of its scenarios that did not pass, and the first."""
    failed = [s for s in found if s.outcome in NOT_PASSED]
    causes = "; ".join(dict.fromkeys(s.cause for s in failed))
    return cut(f"{causes} ({failed[0].name})", 240) if failed else ""


def _not_run_note(found: list[ScenarioRecord]) -> str:
    """A NOT RUN row's note: which of its scenarios did not run, and why the first did not."""
    if not found:
        return "not run: no scenario of this row was selected"
    unrun = [s for s in found if s.outcome is not Outcome.PASSED]
    why = f" — {unrun[0].brief(120)}" if unrun[0].reason else ""
    return f"not run: {len(unrun)} of {len(found)} scenario(s), e.g. {unrun[0].name}{why}"


def note(result: str, found: list[ScenarioRecord], passed_note: str) -> str:
    """The note a row's verdict allows: what was seen only when it passed; the root cause when
    it failed; what was not run when it was not run (a note never contradicts its verdict)."""
    if result == PASS:
        return passed_note
    return _failed_note(found) if result == FAIL else _not_run_note(found)


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
    return ["### Image sizes", "", *table(["Image", "Size", "Torch", "Static checks answered"], [
        [img.tag, size_text(record, role), img.torch, img.facts_from]
        for role, img in record.images.items()])]


# canaryspec.canaries names the shared canary's Compose project canary-<run>-shared-<hex>
# (its purpose, `SHARED`); reports/ reads files only, so the word is repeated here.
SHARED_PURPOSE = re.compile(r"-shared-")


def shared_project(record: RunRecord) -> str:
    """The shared canary's Compose project: as the run named it, else the one named for the
    shared purpose, else the first one recorded ("" when no canary started)."""
    if record.shared_project in record.ports:
        return record.shared_project
    return next((p for p in record.ports if SHARED_PURPOSE.search(p)), next(iter(record.ports),
                                                                              ""))


def shared_backend(record: RunRecord) -> str:
    """Where the shared canary's backend answered on the host (only that canary's)."""
    project = shared_project(record)
    bound = [address for service, address in record.ports.get(project, {}).items()
             if service.split(":", 1)[0] == "backend"]
    return f"{', '.join(bound)} in {project}" if bound else "port not recorded"


def e2e_table(record: RunRecord) -> list[str]:
    """Handoff task 4.4: the canary on the split images."""
    backtests = job_durations(record, "backtest")
    rows = [("API Health Check", [BACKEND_HEALTH],
             f"backend answered on its canary's own port ({shared_backend(record)})"),
            ("Worker Registration", [REGISTERS],
             f"{len(record.workers)} workers ({' + '.join(record.workers) or 'none seen'})"),
            ("Backend→Worker Dispatch", DISPATCH, "each job ran on a worker of its own type"),
            ("Backtest Completion", BACKTEST,
             f"median {_median(backtests)} over {len(backtests)} backtest(s); data seeded in the "
             "canary's own volume")]
    cells = []
    for label, evidence, passed_note in rows:
        result, found = verdict(record, evidence)
        cells.append([label, result, note(result, found, passed_note)])
    return ["### E2E test results (handoff task 4.4, split)", "",
            *table(["Test", "Result", "Notes"], cells)]


def _validation(record: RunRecord, evidence: list[Evidence], figures: str,
                passed_note: str = "") -> str:
    """An optimisation row: its verdict, the measured figures, and the note its verdict allows
    (a claim of success only when it passed)."""
    result, found = verdict(record, evidence)
    said = note(result, found, passed_note)
    if result == PASS:
        return " ".join(filter(None, [result, "; ".join(filter(None, [figures, said]))]))
    return " ".join(filter(None, [result, figures])) + f" — {said}"


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}%"


def optimisation_table(record: RunRecord) -> list[str]:
    """The handoff's "container optimisation validated" table (split)."""
    backend_torch = record.images["backend"].torch if "backend" in record.images else "?"
    worker = record.images.get("worker-cpu")
    return ["### Container optimisation validated", "", *table(["Validation", "Result"], [
        ["Backend has NO torch", _validation(
            record, NO_TORCH, f"{size_text(record, 'backend')} image, torch: {backend_torch}")],
        ["Workers HAVE torch", _validation(
            record, [HAS_TORCH], f"{size_text(record, 'worker-cpu')}, torch "
                                 f"{worker.torch if worker else '?'}")],
        ["Backend→Worker communication", _validation(
            record, [REACHES, *DISPATCH], "", "health reached over the canary network; jobs "
                                              "dispatched and completed")],
        [f"≥ {record.size_reduction_promised:g}% size reduction (the handoff: ~20%)", _validation(
            record, SMALLER, f"CPU worker {_percent(reduction(record, 'worker-cpu', 'monolith'))}"
                             f" smaller than the monolith, backend "
                             f"{_percent(reduction(record, 'backend', 'monolith'))} smaller")]])]


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


def findings_count(record: RunRecord) -> str:
    """"3 findings (root causes); " — nothing when the run found no product defect."""
    found = len(record.findings())
    if not found:
        return ""
    return f"{found} finding{'s' if found != 1 else ''} (root cause{'s' if found != 1 else ''}); "


def verdict_line(record: RunRecord) -> str:
    """The run's verdict in one line: its findings (distinct root causes of product defects),
    then every outcome counted (the summary's headline, the console's last line)."""
    counts = record.counts()
    total = len(record.scenarios)
    tally = ", ".join(f"{counts[o]} {o.value}" for o in OUTCOME_ORDER)
    if record.interrupted_by:
        word = f"ABORTED by {record.interrupted_by}"
    elif record.setup_error:
        word = f"NOT RUN — set-up problem ({record.setup_error['kind']})"
    elif record.images_missing() and not counts[Outcome.FAILED]:
        word = "INCOMPLETE — an image is missing (what needs it was not judged)"
    elif any(counts[o] for o in NOT_PASSED):
        word = "FAILED"
    elif not counts[Outcome.PASSED]:
        word = "NOT RUN — no scenario was judged"
    else:
        word = "PASSED"
    return f"{word} — {findings_count(record)}{tally} (of {total} selected)"


NESTED = "\n    - "  # a list nested under an entry, in Markdown and on the console alike


def _affected(scenario: ScenarioRecord) -> str:
    detail = scenario.finding_detail
    return f"{scenario.feature}: {scenario.name} — {scenario.status}" + \
        (f": {cut(detail, 200)}" if detail else "")


def finding_entry(root_cause: str, scenarios: list[ScenarioRecord]) -> str:
    """One root cause, its category and counts, the scenarios it affects nested beneath (those
    that failed on it first, then those it blocked)."""
    failed = [s for s in scenarios if s.outcome is Outcome.FAILED]
    blocked = [s for s in scenarios if s.outcome is not Outcome.FAILED]
    category = failed[0].category_name if failed else PRODUCT.name
    line = f"**{root_cause}** — {category} — {len(failed)} failed, {len(blocked)} blocked"
    return line + "".join(NESTED + _affected(s) for s in [*failed, *blocked])


def problem_entries(record: RunRecord) -> list[str]:
    """What did not pass for a reason outside the product (infrastructure, suite errors, a
    canary down, an interrupt): one line per scenario, or per group with the same reason."""
    lines: list[str] = []
    groups: dict[tuple[str, str], list[ScenarioRecord]] = {}
    for s in record.scenarios:
        if s.outcome in NOT_PASSED and not s.is_finding:
            groups.setdefault((s.status, s.problem), []).append(s)
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


def why_not_passed(record: RunRecord) -> list[str]:
    """One entry per root cause of a product defect (the scenarios it affects nested beneath),
    then the other problems, grouped as before."""
    return [*(finding_entry(cause, scenarios) for cause, scenarios in record.findings().items()),
            *problem_entries(record)]


def _figure_and_source(text: str) -> tuple[str, str]:
    """"60 s (KTRDR_ORPHAN_TIMEOUT_SECONDS)" -> ("60 s", "KTRDR_ORPHAN_TIMEOUT_SECONDS")."""
    match = re.fullmatch(r"(.*?)\s*\((.*)\)", text.strip())
    return (match.group(1), match.group(2)) if match else (text, "")


def deadlines_table(record: RunRecord) -> list[str]:
    """The platform's own timers the waits were derived from, and the suite's deadlines as
    this run used them; nothing when the run recorded neither."""
    rows = [[name, *_figure_and_source(text)] for name, text in record.platform_timers.items()]
    rows += [[name, f"{seconds:g} s", "the suite's deadline (settings, scaled for the host)"]
             for name, seconds in record.deadlines.items()]
    return ["## Deadlines used", "", *table(["Name", "Figure", "Source"], rows)] if rows else []


def startup_table(record: RunRecord) -> list[str]:
    """How long the shared canary took to come up, step by step (from `compose up`)."""
    rows = [[step, f"{seconds:.1f}"] for step, seconds in
            sorted(record.startup.items(), key=lambda item: item[1])]
    return ["## Start-up of the shared canary", "",
            *table(["Step (seconds after `compose up`)", "Seconds"], rows)] if rows else []


def not_run_here(record: RunRecord) -> list[str]:
    """The skipped scenarios, counted by why (what the target does not promise, or what an
    attached run would need to run them, and how to give it), the most first."""
    reasons = Counter(s.reason or "skipped" for s in record.scenarios
                      if s.outcome is Outcome.SKIPPED)
    if not reasons:
        return []
    return ["## Not run here", "", *(f"- {count} scenario{'s' if count > 1 else ''}: {reason}"
                                     for reason, count in reasons.most_common()), ""]


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
    out += not_run_here(record)
    out += seed_tables(record)
    out += startup_table(record)
    out += deadlines_table(record)
    out += ["## Phase timings", ""]
    out += table(["Phase", "Seconds"], [[p["phase"], f"{p['seconds']:.1f}"]
                                         for p in record.phases])
    return "\n".join(out)


def write(record: RunRecord, reports_dir: Path) -> Path:
    path = reports_dir / "summary.md"
    path.write_text(render(record) + "\n")
    return path
