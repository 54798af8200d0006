"""One verdict per scenario, read off behave's model after the run, and what it becomes everywhere.

behave knows many statuses (passed, failed, error, hook_error, untested, undefined, skipped, ...)
and leaves a scenario `untested` when a hook, a fixture or an interrupt stopped it: CI gates read
an untested JUnit case as passed. Here every selected scenario gets exactly one outcome:

  passed   every step passed
  failed   a step's assertion failed: the platform did not behave
  broken   it could not be judged: set-up, hook or fixture failure, a step that crashed, an
           undefined step, or blocked by another failure (a canary that did not come up, or a
           precondition, a Given, that failed on a product defect another finding owns)
  skipped  deliberately, by an active tag (e.g. a check only one profile promises)
  aborted  the run was interrupted (SIGINT, SIGTERM) before or while it ran

and each outcome has one category (whose problem it is), one Allure status, one JUnit element
and one part in the exit code. Scenarios the run's tags or names did not select are not listed.

A scenario that did not pass also gets a root cause: a short sentence, the same for every
scenario the same defect stopped (volatile parts such as ids, ports and timings masked), so a
report can count and group findings by cause rather than by scenario. Every text a report keeps
is cleaned first (`clean_text`: no ANSI colour codes, no carriage-return redraws).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from canaryspec.errors import CanaryspecError, CanaryUnavailable, WrongRefusal


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    BROKEN = "broken"
    SKIPPED = "skipped"
    ABORTED = "aborted"


# Report order: the headline and tables count them in this order.
OUTCOME_ORDER = (Outcome.PASSED, Outcome.FAILED, Outcome.BROKEN, Outcome.SKIPPED, Outcome.ABORTED)
# Allure has no "aborted": an interrupted scenario was not judged, which Allure calls broken;
# its category says it was an interrupt.
ALLURE_STATUS = {Outcome.PASSED: "passed", Outcome.FAILED: "failed", Outcome.BROKEN: "broken",
                 Outcome.SKIPPED: "skipped", Outcome.ABORTED: "broken"}
# JUnit: a failed assertion is a <failure>; anything not judged is an <error>, never a bare case.
JUNIT_ELEMENT = {Outcome.PASSED: None, Outcome.FAILED: "failure", Outcome.BROKEN: "error",
                 Outcome.SKIPPED: "skipped", Outcome.ABORTED: "error"}


@dataclass(frozen=True)
class Category:
    """Whose problem a scenario that did not pass is: the key is written into the report."""

    key: str
    name: str
    description: str


ABORTED = Category("aborted", "Aborted runs (interrupted)",
                   "The run was stopped (SIGINT or SIGTERM) before this scenario could be "
                   "judged. Nothing is known about the product; run again.")
INFRASTRUCTURE = Category("infrastructure", "Infrastructure problems (engine, images, Compose)",
                          "The run could not be set up: no engine, an image missing or not "
                          "building, Compose missing or refusing, a port in use. Fix the "
                          "machine or the build, then re-run.")
CANARY_DOWN = Category("canary-down", "Blocked: the canary did not come up",
                       "A service of the canary exited or never became healthy, so these "
                       "scenarios could not be judged. The message names the service and its "
                       "decisive log line: the product's image, or the machine.")
TEST_DATA = Category("test-data", "Test-data problems (strategies, market data, models)",
                     "The data a job needs was missing or unusable in the canary.")
SUITE_ERROR = Category("suite-error", "Suite errors (a bug in canaryspec)",
                       "A step or hook crashed instead of asserting, or a step is undefined: "
                       "fix the suite, not the product.")
BLOCKED_BY_DEFECT = Category("blocked-by-defect", "Blocked by a product defect",
                             "A precondition (a Given) failed on a product defect, so this "
                             "scenario's own property was not judged. The reason names the "
                             "owning finding (its root cause), which the run counts once.")
PRODUCT = Category("product-defect", "Product defects",
                   "The platform did not behave as the scenario requires.")
CATEGORIES = (ABORTED, INFRASTRUCTURE, CANARY_DOWN, TEST_DATA, SUITE_ERROR, BLOCKED_BY_DEFECT,
              PRODUCT)

# A failure whose cause is the data the canary was given, not the platform's logic.
TEST_DATA_CAUSE = re.compile(r"No market data|Strategy file not found|usable bars in the date "
                             r"range|is the data volume seeded")


def _class_names(root: type) -> set[str]:
    """`root`'s name and its subclasses', looked up when judging, not at import: a module
    imported later may define one (images.ImageMissing is a CanaryUnavailable)."""
    return {root.__name__}.union(*(_class_names(sub) for sub in root.__subclasses__()))


# Set-up problems (canaryspec.errors) that stop a run, by class name (as run.json records them):
# every CanaryspecError, so a new kind of set-up problem is never filed as a product defect.
def _infrastructure(kind: str) -> bool:
    return kind in _class_names(CanaryspecError)


# A canary (or what it needs) that could not be brought up: broken, never a product's failure.
def _canary_down(kind: str) -> bool:
    return kind in _class_names(CanaryUnavailable)


# An image the run looks for (build=false) and the engine lacks (canaryspec.images.ImageMissing):
# what needs it is broken, the rest of the run goes on, and the run exits with IMAGE_MISSING_EXIT.
IMAGE_MISSING = "ImageMissing"
MISSING_IMAGE_TEXT = "not on this engine: "  # how its message begins
IMAGE_MISSING_EXIT = 6

BLOCKED_PREFIX = "blocked by: "
# The kind of a scenario whose Given failed on a product defect (broken, blocked by it).
PRECONDITION_FAILED = "PreconditionFailed"


def is_finding(outcome: Outcome, category_key: str) -> bool:
    """Whether a scenario's root cause counts toward the run's findings: it failed, or a
    precondition failed on a product defect (a defect seen only in Givens is a finding too).
    Infrastructure, suite errors, a canary down and interrupts are problems, not findings."""
    return outcome is Outcome.FAILED or category_key == BLOCKED_BY_DEFECT.key


def category_for(outcome: Outcome, reason: str, kind: str = "") -> Category | None:
    """The one category of a scenario that did not pass (None for passed and skipped).

    `kind` is the class name of what stopped it, when known (an exception type).
    """
    if outcome in (Outcome.PASSED, Outcome.SKIPPED):
        return None
    if outcome is Outcome.ABORTED:
        return ABORTED
    if _infrastructure(kind) or kind == IMAGE_MISSING:
        return INFRASTRUCTURE
    if _canary_down(kind):
        return CANARY_DOWN
    if TEST_DATA_CAUSE.search(reason) and kind not in _class_names(WrongRefusal):
        return TEST_DATA
    if kind == PRECONDITION_FAILED:
        return BLOCKED_BY_DEFECT
    if outcome is Outcome.BROKEN:
        return SUITE_ERROR
    return PRODUCT


# --- text for people ------------------------------------------------------------------------
# Terminal escapes a log or a tool's output may carry: CSI (colours, cursor moves), OSC (titles,
# hyperlinks; ended by BEL or ESC \, or by the end of the line when cut), and the short ones
# (ESC, intermediate bytes, a final byte: a character set, a keypad mode).
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
                   r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]")
# Control characters left once escapes and carriage returns are dealt with (tab, newline kept).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _last_drawing(line: str) -> str:
    """What a terminal shows of a line redrawn with carriage returns (a progress bar): the
    last drawing that is not blank."""
    drawings = [part for part in line.split("\r") if part.strip()]
    return drawings[-1] if drawings else ""


def clean_text(text: str) -> str:
    """The text as a person would read it on a terminal: no ANSI escapes, no carriage-return
    redraws, no stray control characters."""
    text = _ANSI.sub("", text or "").replace("\r\n", "\n")
    return _CONTROL.sub("", "\n".join(_last_drawing(line) for line in text.split("\n")))


# How decisive a line of a log or traceback is, most decisive last: the exception that ended a
# Python traceback says more than any log line around it, a fatal line more than an error line.
NOTHING, LAST_LINE, OTHER_MATCH, ERROR_LINE, FATAL_LINE, TRACEBACK_END = range(6)
_TRACEBACK = "Traceback (most recent call last):"
_FATAL = re.compile(r"\b(?:FATAL|CRITICAL|PANIC|Fatal|fatal|panic)\b")
_ERROR = re.compile(r"\b(?:ERROR|Error|error)\b|\b[A-Za-z_][\w.]*(?:Error|Exception)\b(?::|$)")
_OTHER = re.compile(r"^\s*(?:[A-Za-z_][\w.]*(?:Exit|Interrupt|Unavailable|Failed)\b|E\s)"
                    r"|\b(?:dependency failed to start|is unhealthy|exited \(\d+\))")


def _traceback_end(lines: list[str]) -> str:
    """The exception line that ends the last Python traceback in `lines` ("" if none): the
    first line after its header that is not an indented frame. A prefix the header carries (a
    log's `worker | `) is taken off the lines after it too."""
    starts = [i for i, line in enumerate(lines) if _TRACEBACK in line]
    if not starts:
        return ""
    header = lines[starts[-1]]
    prefix = header[:header.index(_TRACEBACK)]
    for line in lines[starts[-1] + 1:]:
        body = line[len(prefix):] if prefix and line.startswith(prefix) else line
        if body.strip() and not body[0].isspace():
            return body.strip()
    return ""


def _severity(line: str) -> int:
    if _FATAL.search(line):
        return FATAL_LINE
    if _ERROR.search(line):
        return ERROR_LINE
    return OTHER_MATCH if _OTHER.search(line) else LAST_LINE


def decisive(text: str) -> tuple[int, str]:
    """(how decisive, the line): the most severe line of `text`, the last of its severity."""
    lines = clean_text(text).splitlines()
    end = _traceback_end(lines)
    if end:
        return TRACEBACK_END, end
    best = (NOTHING, "")
    for line in filter(str.strip, lines):
        level = _severity(line)
        if level >= best[0]:  # within one severity, the later line is nearer the failure
            best = (level, line.strip())
    return best


def decisive_line(text: str) -> str:
    """The line that says why, chosen by severity, not position: the exception ending a Python
    traceback, else the last fatal line, else the last error line (or `...Error:` exception
    line), else the last other failure line, else the last non-empty line."""
    return decisive(text)[1]


def cut(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word boundary (never mid-word, unless one
    word is longer than the limit) and marked with "…"."""
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    if not text[limit - 1].isspace() and " " in head:
        head = head[:head.rindex(" ")]
    return head.rstrip(" ,;:—-") + "…"


def headline(reason: str, limit: int = 300) -> str:
    """A reason in one line: its first line, and the decisive line when that is elsewhere
    (a message that ends in a traceback keeps the `ModuleNotFoundError: ...`, not the
    `Traceback (most recent call last):`); cut at a word boundary."""
    # The rest keeps its indentation: it is how a traceback's frames are told from its end.
    first, _, rest = clean_text(reason).strip().partition("\n")
    if not first:
        return ""
    first = first.strip()
    level, line = decisive(rest)
    if first.startswith("Traceback") and line:
        text = line
    elif level > LAST_LINE and line not in first:
        text = f"{first} … {line}"
    else:
        text = first
    return cut(text, limit)


# --- root causes -----------------------------------------------------------------------------
ROOT_CAUSE_LIMIT = 200
# What changes between two sightings of one defect (ids, addresses, timings, the run's project
# names), masked so that the sightings read the same; what tells defects apart (a status code,
# an exit code, a date a job asked for, a file's folder) is kept. Applied in order.
_VOLATILE: tuple[tuple[re.Pattern[str], str], ...] = (
    # A wait's last observation (waiting.wait_until's wording) is where it happened to be when
    # the deadline passed, not what broke.
    (re.compile(r"( did not happen within \S+ s\.) Last observed:.*"), r"\1"),
    # canary.Canary names projects canary-<run>-<purpose>-<hex>; the purpose is kept.
    (re.compile(r"\b(canary(?:spec)?)-[0-9a-z]+-([a-z][a-z0-9_]*(?:-[a-z][a-z0-9_]*)*)"
                r"-[0-9a-f]{4}\b"), r"\1-…-\2"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
     "<uuid>"),
    (re.compile(r"\b(op|job|operation)_(?=[\w-]*\d)[\w-]+"), r"\1_<id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
     "<time>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b"), "<hex>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "<ip>"),
    # Absolute paths keep their first two folders: /app/models/v3/x.pt -> /app/models/…
    (re.compile(r"(?<![\w.:/~-])(/[\w.-]+/[\w.-]+)/[^\s'\",:;)\]}>]+"), r"\1/…"),
    # A figure with its unit (a duration, a size, a share): how long or big, not what broke.
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?=\s?(?:ms|s|sec|seconds|min|MB|MiB|GB|GiB|kB|KB|%)"
                r"(?!\w))"), "<n>"),
    # Decimals that are not part of a version (2.1.0), and integers of four digits or more
    # (ports, counts); three-digit ones above 599 (never an HTTP status or an exit code).
    (re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])"), "<n>"),
    (re.compile(r"(?<![\w.-])(?:\d{4,}|[6-9]\d\d)(?![\w.]|-\d)"), "<n>"),
)


def mask_volatile(text: str) -> str:
    """`text` with what differs between two sightings of the same defect masked."""
    for pattern, mask in _VOLATILE:
        text = pattern.sub(mask, text)
    return text


def stable_cause(text: str) -> str:
    """A short, stable sentence for what `text` (a message, a log, a platform's error) says
    went wrong: its decisive line, cleaned, volatile parts masked, cut at a word boundary."""
    return cut(mask_volatile(decisive_line(text)), ROOT_CAUSE_LIMIT)


def _first_line(text: str) -> str:
    return next((line.strip() for line in clean_text(text).splitlines() if line.strip()), "")


def root_cause_of(reason: str, message: str = "", exception: object = None) -> str:
    """The root cause of a scenario that did not pass, in order: the one the exception carries
    (`canaryspec.errors.Finding`, or any exception with a `root_cause` text); the decisive line
    of the message when it is an error line (not the step text: the same defect met by two
    steps is one cause); else the reason's first line, which names the step (a bare assertion
    says nothing without the property it judged). Volatile parts masked."""
    own = getattr(exception, "root_cause", "")
    if isinstance(own, str) and own.strip():
        return cut(clean_text(own).strip(), ROOT_CAUSE_LIMIT)
    level, line = decisive(message or reason)
    if level <= LAST_LINE:
        line = _first_line(reason)
    return cut(mask_volatile(line), ROOT_CAUSE_LIMIT)


def root_cause_slug(root_cause: str) -> str:
    """A marker-safe name for a root cause, unique to it (its words, and a hash for two causes
    whose words coincide once cut)."""
    words = re.sub(r"[^a-z0-9]+", "-", root_cause.lower()).strip("-")[:48].rstrip("-")
    return f"{words}-{hashlib.sha1(root_cause.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class RunEnd:
    """How the run as a whole ended, which decides what an unrun scenario was."""

    interrupted_by: str | None = None         # "SIGTERM", "SIGINT"
    setup_error: dict[str, Any] | None = None  # {"kind", "message", "exit_code"}


@dataclass(frozen=True)
class Verdict:
    """One scenario's outcome and why."""

    outcome: Outcome
    reason: str = ""
    kind: str = ""  # class name of what stopped it, when known
    root_cause: str = ""  # what stopped it, the same for every scenario the same defect stopped

    @property
    def category(self) -> Category | None:
        return category_for(self.outcome, self.reason, self.kind)


def _status(element: Any) -> str:
    status = getattr(element, "status", "")
    return getattr(status, "name", str(status))


def _step_text(step: Any) -> str:
    return f"{step.keyword} {step.name}"


def _exception_text(step: Any) -> str:
    exception = getattr(step, "exception", None)
    if exception is not None and str(exception).strip():
        return str(exception).strip()
    return (getattr(step, "error_message", "") or "").strip()


def _is_given(step: Any) -> bool:
    """A precondition step (behave resolves an And or But to the type of the step before)."""
    return getattr(step, "step_type", "") == "given"


def _step_verdict(step: Any, step_status: str, end: RunEnd) -> Verdict:
    """The outcome of a scenario whose `step` did not pass."""
    exception = getattr(step, "exception", None)
    where = _step_text(step)
    if isinstance(exception, KeyboardInterrupt):
        return Verdict(Outcome.ABORTED, f"{where}: interrupted by "
                                        f"{end.interrupted_by or 'the user'}", "Interrupted")
    if step_status == "undefined":
        return Verdict(Outcome.BROKEN, f"undefined step: {where}", "UndefinedStep")
    kind = type(exception).__name__ if exception is not None else ""
    text = _exception_text(step)
    if _infrastructure(kind) or _canary_down(kind):
        # The suite could not set up what the scenario needs: not judged, not failed.
        reason = text if text.startswith(BLOCKED_PREFIX) else f"{where}: {kind}: {text}"
        return Verdict(Outcome.BROKEN, reason, kind)
    asserted = step_status == "failed" and isinstance(exception, AssertionError)
    if not asserted:
        return Verdict(Outcome.BROKEN, f"{where}: {kind + ': ' if kind else ''}{text}", kind)
    root_cause = root_cause_of(f"{where}: {text}", text, exception)
    if _is_given(step):
        # The precondition met a product defect: this scenario's own property was not judged.
        return Verdict(Outcome.BROKEN, f"{BLOCKED_PREFIX}{root_cause}\n{where}: {text}",
                       PRECONDITION_FAILED, root_cause)
    return Verdict(Outcome.FAILED, f"{where}: {text}", kind, root_cause)


def scenario_is_finding(scenario: Any) -> bool:
    """Whether a scenario that just ran counts as a finding: it failed, or its precondition
    met a product defect (not a canary that did not come up, nor the suite's own error)."""
    verdict = judge(scenario, RunEnd())
    category = verdict.category
    return category is not None and is_finding(verdict.outcome, category.key)


def judge(scenario: Any, end: RunEnd) -> Verdict:
    """The outcome of one selected scenario, from its state after the run, with the root cause
    of one that did not pass."""
    verdict = _judge(scenario, end)
    if verdict.outcome in (Outcome.PASSED, Outcome.SKIPPED) or verdict.root_cause:
        return verdict
    return replace(verdict, root_cause=root_cause_of(verdict.reason))


def _judge(scenario: Any, end: RunEnd) -> Verdict:
    status = _status(scenario)
    if status == "passed":
        return Verdict(Outcome.PASSED)
    if status == "skipped" and getattr(scenario, "should_skip", False):
        return Verdict(Outcome.SKIPPED, getattr(scenario, "skip_reason", "") or "skipped")
    steps = list(getattr(scenario, "all_steps", []) or [])
    for step in steps:
        step_status = _status(step)
        if step_status in {"failed", "error", "undefined", "hook_error", "pending"}:
            return _step_verdict(step, step_status, end)
    # No step tells why: a hook or fixture failed, or the scenario never ran.
    hook_message = (getattr(scenario, "error_message", "") or "").strip()
    hook_failed = status in {"hook_error", "cleanup_error"} or getattr(scenario, "hook_failed",
                                                                        False)
    # behave records an interrupt inside a hook as a hook failure without a message.
    interrupted_in_hook = hook_failed and (not hook_message or "KeyboardInterrupt" in hook_message)
    if hook_failed and not (end.interrupted_by and interrupted_in_hook):
        return Verdict(Outcome.BROKEN, hook_message or f"a hook failed ({status})", "HookError")
    if end.interrupted_by:
        return Verdict(Outcome.ABORTED, f"not run: the run was interrupted by "
                                        f"{end.interrupted_by}", "Interrupted")
    if end.setup_error:
        return Verdict(Outcome.BROKEN, f"{BLOCKED_PREFIX}set-up problem "
                                       f"({end.setup_error['kind']}): "
                                       f"{end.setup_error['message']}",
                       str(end.setup_error["kind"]))
    feature = getattr(scenario, "feature", None)
    feature_message = (getattr(feature, "error_message", "") or "").strip()
    if feature is not None and getattr(feature, "hook_failed", False):
        cause = feature_message or "a feature hook failed"
        return Verdict(Outcome.BROKEN, f"{BLOCKED_PREFIX}{cause}", "HookError")
    return Verdict(Outcome.BROKEN, f"not run ({status}): nothing recorded why", "NotRun")


def is_selected(scenario: Any, config: Any) -> bool:
    """Whether the run's tag expression and name filters pick this scenario (an active-tag
    skip still counts as selected: it is reported as skipped, with its reason)."""
    tag_expression = getattr(config, "tag_expression", None)
    if tag_expression is not None and not scenario.should_run_with_tags(tag_expression):
        return False
    return bool(scenario.should_run_with_name_select(config))


def exit_code(outcomes: list[Outcome], end: RunEnd, signal_codes: dict[str, int], *,
              images_missing: bool = False) -> int:
    """0 all judged and passed; 1 any failed, or broken for another reason than a missing
    image; 6 (as a set-up stop for a missing image) when the only scenarios not judged needed an
    image the engine lacks; 3 nothing judged (nothing selected, or everything skipped); a
    set-up problem's own code; 128+N for an interrupt by signal N."""
    if end.interrupted_by:
        return signal_codes.get(end.interrupted_by, 130)
    if end.setup_error:
        return int(end.setup_error.get("exit_code", 3))
    if any(o is Outcome.FAILED for o in outcomes):
        return 1
    if images_missing:
        return IMAGE_MISSING_EXIT
    if any(o in (Outcome.BROKEN, Outcome.ABORTED) for o in outcomes):
        return 1
    if not any(o is Outcome.PASSED for o in outcomes):
        return 3
    return 0
