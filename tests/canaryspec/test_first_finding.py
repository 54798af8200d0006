"""stop_at_first_finding stops at a finding (a failure, or a precondition that met a product
defect), not at a canary that did not come up or a crash of the suite's own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from canaryspec.errors import CanaryUnavailable
from canaryspec.outcomes import scenario_is_finding


def _scenario(step_type: str, status: str, exception: BaseException | None) -> SimpleNamespace:
    step = SimpleNamespace(keyword=step_type.capitalize(), name="something", step_type=step_type,
                           status=status, exception=exception, error_message="")
    return SimpleNamespace(status="failed" if status != "passed" else "passed",
                           all_steps=[step], feature=None)


@pytest.mark.parametrize(("step_type", "status", "exception", "finding"), [
    ("then", "failed", AssertionError("expected 3 trades, got 0"), True),
    ("given", "failed", AssertionError("the training failed: model not saved"), True),
    ("given", "error", CanaryUnavailable("canary c did not come up: backend exited (1)"), False),
    ("then", "error", KeyError("metrics"), False),
    ("then", "passed", None, False),
])
def test_what_counts_as_a_finding(step_type, status, exception, finding):
    assert scenario_is_finding(_scenario(step_type, status, exception)) is finding
