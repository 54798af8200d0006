"""Text for people and root causes (canaryspec.outcomes): reasons without terminal codes, the
decisive line chosen by severity, cuts at word boundaries, and one root cause per defect however
many scenarios meet it; a precondition that fails on a defect blocks, it does not fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from canaryspec.errors import CanaryUnavailable, Finding, ImageUnavailable
from canaryspec.outcomes import (
    BLOCKED_BY_DEFECT,
    Outcome,
    RunEnd,
    clean_text,
    cut,
    decisive_line,
    headline,
    is_finding,
    judge,
    mask_volatile,
    root_cause_of,
    stable_cause,
)


# --- clean text --------------------------------------------------------------------------------
def test_clean_text_strips_ansi_escapes_and_carriage_return_redraws():
    coloured = "\x1b[1;31mERROR\x1b[0m: boom \x1b]8;;https://x\x07link\x1b]8;;\x07 \x1b(B"
    assert clean_text(coloured) == "ERROR: boom link "
    assert clean_text("pulling  10%\rpulling  55%\rpulling 100%\r\ndone\r\n") == \
        "pulling 100%\ndone\n"
    assert clean_text("bell\x07 and \x00nul") == "bell and nul"


def test_the_decisive_line_of_coloured_output_is_clean():
    assert decisive_line("INFO up\n\x1b[31mERROR\x1b[0m disk full\nINFO bye") == \
        "ERROR disk full"


# --- the decisive line, by severity --------------------------------------------------------------
TRACEBACK = ("Traceback (most recent call last):\n"
             "  File \"/app/worker.py\", line 3, in <module>\n"
             "    import torch\n"
             "ModuleNotFoundError: No module named 'torch'\n")


@pytest.mark.parametrize(("text", "expected"), [
    # A traceback's exception beats error lines after it (a shutdown's noise).
    (f"INFO start\n{TRACEBACK}ERROR: Application startup failed. Exiting.\nINFO bye",
     "ModuleNotFoundError: No module named 'torch'"),
    # The last traceback block's end, not the first's.
    (f"{TRACEBACK}\nDuring handling of the above exception, another exception occurred:\n\n"
     "Traceback (most recent call last):\n  File \"x\", line 1\nSystemExit: 3\n", "SystemExit: 3"),
    # A log prefix on every line of the traceback.
    ("worker | Traceback (most recent call last):\nworker |   File \"x\", line 1\n"
     "worker | KeyError: 'models'\nworker | INFO shutting down", "KeyError: 'models'"),
    # Fatal beats a later error; error beats a later plain line.
    ("FATAL: database \"x\" does not exist\nERROR: retrying\nINFO ok",
     "FATAL: database \"x\" does not exist"),
    ("2024-01-01 ERROR cannot bind\nINFO still trying\nINFO giving up",
     "2024-01-01 ERROR cannot bind"),
    # Within one severity, the last.
    ("ERROR: first\nERROR: second\nINFO after", "ERROR: second"),
    ("ValueError: bad\nINFO x", "ValueError: bad"),
    ("service backend exited (1)\nINFO last", "service backend exited (1)"),
    ("INFO a\nINFO b\n\n", "INFO b"),
    ("", ""),
])
def test_the_decisive_line_is_chosen_by_severity_not_position(text, expected):
    assert decisive_line(text) == expected


# --- cuts at a word boundary ---------------------------------------------------------------------
def test_a_reason_is_cut_at_a_word_boundary_never_mid_word():
    reason = "CUDA torch in the CPU worker: 14 nvidia-* distributions (nvidia-cublas-cu12 ...)"
    short = headline(reason, 60)
    assert short == "CUDA torch in the CPU worker: 14 nvidia-* distributions…"
    assert len(short) <= 60
    assert cut("a" * 50, 10) == "a" * 9 + "…"  # one word longer than the limit
    assert cut("fits", 10) == "fits"


# --- masking: one defect, one root cause ---------------------------------------------------------
@pytest.mark.parametrize(("one", "other"), [
    ("operation op_training_20250101_123456_ab12 ended failed",
     "operation op_training_20250102_090000_cd34 ended failed"),
    ("Model not found at /app/models/v3_minimal/1_20250101.pt",
     "Model not found at /app/models/v3_multi/7.pt"),
    ("canary canary-a1b2c3-shared-0f0f did not come up",
     "canary canary-ffee00-shared-1a2b did not come up"),
    ("worker training-worker-5e6f7a8b at 172.18.0.5:5002 timed out after 12.4 s",
     "worker training-worker-9a8b7c6d at 172.18.0.9:5002 timed out after 31.0 s"),
    ("job 6f1c2b9e-1f2a-4c3d-9e8f-0a1b2c3d4e5f failed at 2025-01-01T12:00:00Z",
     "job 0d9c8b7a-6f5e-4d3c-8b2a-190817161514 failed at 2025-03-04 08:09:10.5+01:00"),
    ("listening on port 49153, image sha 9f86d081884c", "listening on port 50211, image sha "
                                                        "60303ae22b99"),
    ("operation op_1 becoming completed did not happen within 60 s. Last observed: status "
     "running, 45% (epoch 3/10).", "operation op_2 becoming completed did not happen within 60 s."
                                   " Last observed: status pending, 0% (no step)."),
])
def test_the_same_defect_seen_twice_reads_the_same(one, other):
    assert mask_volatile(one) == mask_volatile(other)


@pytest.mark.parametrize(("one", "other"), [
    ("the backend answered 500", "the backend answered 503"),
    ("worker exited (code 137)", "worker exited (code 143)"),
    ("Model not found at /app/models/x.pt", "Model not found at /mnt/ktrdr_data/models/x.pt"),
    ("No market data for EURUSD 1h from 2024-01-01",
     "No market data for EURUSD 1h from 2024-07-01"),
    ("torch 2.1.0+cu121 in the CPU worker", "torch 2.1.0+cpu in the CPU worker"),
])
def test_different_defects_stay_apart(one, other):
    assert mask_volatile(one) != mask_volatile(other)


def test_a_stable_cause_is_the_masked_decisive_line():
    assert stable_cause(f"loading\n{TRACEBACK}") == "ModuleNotFoundError: No module named 'torch'"
    assert stable_cause("Model not found at /app/models/v3_minimal/1.pt") == \
        "Model not found at /app/models/…"


def test_a_root_cause_prefers_what_the_step_knew_then_the_error_line_then_the_step():
    finding = Finding("operation op_1 ended failed", "backtest ends failed: no model")
    assert root_cause_of("Then x: operation op_1 ended failed", "operation op_1 ended failed",
                         finding) == "backtest ends failed: no model"
    # An error line in the message, not the step that met it: two steps, one cause.
    assert root_cause_of("Then a: ERROR at op_1", "ERROR at op_1") == \
        root_cause_of("When b: ERROR at op_2", "ERROR at op_2") == "ERROR at op_<id>"
    # A bare assertion says nothing without its step.
    assert root_cause_of("Then it is 200: expected 200\nbut: was <503>",
                         "expected 200\nbut: was <503>") == "Then it is 200: expected 200"


# --- judging: a precondition that fails on a defect is broken, blocked by it ---------------------
@dataclass
class FakeStep:
    keyword: str
    name: str
    step_type: str
    status: str = "passed"
    exception: BaseException | None = None
    error_message: str = ""


@dataclass
class FakeScenario:
    all_steps: list[FakeStep]
    status: str = "failed"
    feature: Any = field(default_factory=lambda: SimpleNamespace(hook_failed=False))


def _failing(step_type: str, keyword: str, exception: BaseException, status: str = "failed") \
        -> FakeScenario:
    steps = [FakeStep("Given", "the canary is running", "given"),
             FakeStep(keyword, "a trained model", step_type, status, exception),
             FakeStep("Then", "it completes", "then", "untested")]
    return FakeScenario(steps)


REWRITE = Finding("operation op_7 ended failed, expected completed: error: Model not found at "
                  "/app/models/v3/7.pt", "backtest ends failed: Model not found at /app/models/…")


@pytest.mark.parametrize("keyword", ["Given", "And", "But"])
def test_a_given_that_fails_on_a_defect_is_broken_blocked_by_its_root_cause(keyword):
    verdict = judge(_failing("given", keyword, REWRITE), RunEnd())
    assert verdict.outcome is Outcome.BROKEN
    assert verdict.kind == "PreconditionFailed"
    assert verdict.category is BLOCKED_BY_DEFECT
    assert verdict.reason == (f"blocked by: {REWRITE.root_cause}\n{keyword} a trained model: "
                              f"{REWRITE}")
    assert verdict.root_cause == REWRITE.root_cause
    assert is_finding(verdict.outcome, verdict.category.key)


def test_the_same_defect_in_a_then_fails_with_the_same_root_cause():
    verdict = judge(_failing("then", "Then", REWRITE), RunEnd())
    assert (verdict.outcome, verdict.category.key) == (Outcome.FAILED, "product-defect")
    assert verdict.root_cause == REWRITE.root_cause


@pytest.mark.parametrize(("exception", "category"), [
    (CanaryUnavailable("canary did not come up: backend exited (1)"), "canary-down"),
    (ImageUnavailable("image x is not on this engine"), "infrastructure"),
])
def test_a_given_stopped_by_the_suite_s_own_problem_stays_what_it_was(exception, category):
    verdict = judge(_failing("given", "Given", exception), RunEnd())
    assert (verdict.outcome, verdict.category.key) == (Outcome.BROKEN, category)
    assert not is_finding(verdict.outcome, verdict.category.key)


def test_a_given_that_crashes_is_a_suite_error_not_a_blocked_finding():
    verdict = judge(_failing("given", "Given", KeyError("x"), "error"), RunEnd())
    assert (verdict.outcome, verdict.category.key) == (Outcome.BROKEN, "suite-error")


def test_a_subclass_of_canary_unavailable_defined_later_is_still_canary_down():
    class ImageMissingHere(CanaryUnavailable):
        pass

    verdict = judge(_failing("given", "Given", ImageMissingHere("not on this engine")), RunEnd())
    assert verdict.category.key == "canary-down"
