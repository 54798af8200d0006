"""One verdict per scenario, read off behave's model after the run, and what it becomes everywhere.

behave knows many statuses (passed, failed, error, hook_error, untested, undefined, skipped, ...)
and leaves a scenario `untested` when a hook, a fixture or an interrupt stopped it: CI gates read
an untested JUnit case as passed. Here every selected scenario gets exactly one outcome:

  passed   every step passed
  failed   a step's assertion failed: the platform did not behave
  broken   it could not be judged: set-up, hook or fixture failure, a step that crashed, an
           undefined step, or blocked by another failure (a canary that did not come up)
  skipped  deliberately, by an active tag (e.g. a check only one profile promises)
  aborted  the run was interrupted (SIGINT, SIGTERM) before or while it ran

and each outcome has one category (whose problem it is), one Allure status, one JUnit element
and one part in the exit code. Scenarios the run's tags or names did not select are not listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from canaryspec.errors import CanaryspecError


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
PRODUCT = Category("product-defect", "Product defects",
                   "The platform did not behave as the scenario requires.")
CATEGORIES = (ABORTED, INFRASTRUCTURE, CANARY_DOWN, TEST_DATA, SUITE_ERROR, PRODUCT)

# A failure whose cause is the data the canary was given, not the platform's logic.
TEST_DATA_CAUSE = re.compile(r"No market data|Strategy file not found|usable bars in the date "
                             r"range|is the data volume seeded")


def _class_names(root: type) -> set[str]:
    return {root.__name__}.union(*(_class_names(sub) for sub in root.__subclasses__()))


# Set-up problems (canaryspec.errors) that stop a run, by class name (as run.json records them):
# every CanaryspecError, so a new kind of set-up problem is never filed as a product defect.
INFRASTRUCTURE_KINDS = _class_names(CanaryspecError)
# What stops a scenario from being judged at all (canaryspec.errors): broken, whatever it is.
NOT_JUDGED_KINDS = INFRASTRUCTURE_KINDS | {"CanaryUnavailable"}
BLOCKED_PREFIX = "blocked by: "


def category_for(outcome: Outcome, reason: str, kind: str = "") -> Category | None:
    """The one category of a scenario that did not pass (None for passed and skipped).

    `kind` is the class name of what stopped it, when known (an exception type).
    """
    if outcome in (Outcome.PASSED, Outcome.SKIPPED):
        return None
    if outcome is Outcome.ABORTED:
        return ABORTED
    if kind in INFRASTRUCTURE_KINDS:
        return INFRASTRUCTURE
    if kind == "CanaryUnavailable":
        return CANARY_DOWN
    if TEST_DATA_CAUSE.search(reason):
        return TEST_DATA
    if outcome is Outcome.BROKEN:
        return SUITE_ERROR
    return PRODUCT


# The line of a log or traceback that says what went wrong: an exception, an error line.
_DECISIVE = re.compile(
    r"^\s*(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Unavailable|Failed)\b:?.*"
    r"|(?:E|ERROR|FATAL|Error|error|fatal|PANIC)\b[: ].*"
    r"|.*\b(?:dependency failed to start|is unhealthy|exited \(\d+\))\b.*)$",
    re.MULTILINE)


def decisive_line(text: str) -> str:
    """The line that says why: the last exception or error line, else the last non-empty one."""
    matches = [m.group(0).strip() for m in _DECISIVE.finditer(text or "")]
    if matches:
        return matches[-1]
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def headline(reason: str, limit: int = 300) -> str:
    """A reason in one line: its first line, and the decisive line when that is elsewhere
    (a message that ends in a traceback keeps the `ModuleNotFoundError: ...`, not the
    `Traceback (most recent call last):`)."""
    lines = [line.strip() for line in (reason or "").splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    decisive = decisive_line("\n".join(lines[1:])) if len(lines) > 1 else ""
    if first.startswith("Traceback") and decisive:
        text = decisive
    elif decisive and decisive not in first and _DECISIVE.fullmatch(decisive):
        text = f"{first} … {decisive}"
    else:
        text = first
    return text if len(text) <= limit else text[:limit - 1] + "…"


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


def judge(scenario: Any, end: RunEnd) -> Verdict:
    """The outcome of one selected scenario, from its state after the run."""
    status = _status(scenario)
    if status == "passed":
        return Verdict(Outcome.PASSED)
    if status == "skipped" and getattr(scenario, "should_skip", False):
        return Verdict(Outcome.SKIPPED, getattr(scenario, "skip_reason", "") or "skipped")
    steps = list(getattr(scenario, "all_steps", []) or [])
    for step in steps:
        step_status = _status(step)
        if step_status not in {"failed", "error", "undefined", "hook_error", "pending"}:
            continue
        exception = getattr(step, "exception", None)
        where = _step_text(step)
        if isinstance(exception, KeyboardInterrupt):
            return Verdict(Outcome.ABORTED, f"{where}: interrupted by "
                                            f"{end.interrupted_by or 'the user'}", "Interrupted")
        if step_status == "undefined":
            return Verdict(Outcome.BROKEN, f"undefined step: {where}", "UndefinedStep")
        kind = type(exception).__name__ if exception is not None else ""
        text = _exception_text(step)
        if kind in NOT_JUDGED_KINDS:
            # The suite could not set up what the scenario needs: not judged, not failed.
            reason = text if text.startswith(BLOCKED_PREFIX) else f"{where}: {kind}: {text}"
            return Verdict(Outcome.BROKEN, reason, kind)
        if step_status == "failed" and isinstance(exception, AssertionError):
            return Verdict(Outcome.FAILED, f"{where}: {text}", kind)
        return Verdict(Outcome.BROKEN, f"{where}: {kind + ': ' if kind else ''}{text}", kind)
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


def exit_code(outcomes: list[Outcome], end: RunEnd, signal_codes: dict[str, int]) -> int:
    """0 all judged and passed; 1 any failed or broken; 3 nothing judged (nothing selected, or
    everything skipped); a set-up problem's own code; 128+N for an interrupt by signal N."""
    if end.interrupted_by:
        return signal_codes.get(end.interrupted_by, 130)
    if end.setup_error:
        return int(end.setup_error.get("exit_code", 3))
    if any(o in (Outcome.FAILED, Outcome.BROKEN, Outcome.ABORTED) for o in outcomes):
        return 1
    if not any(o is Outcome.PASSED for o in outcomes):
        return 3
    return 0
