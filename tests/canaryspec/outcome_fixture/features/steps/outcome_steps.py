"""Steps of the outcome fixture (no Docker): each ends its scenario a different way."""

import os
import signal

from behave import given, then, when
from hamcrest import assert_that, equal_to

from canaryspec.errors import CanaryUnavailable, Finding

# One product defect met by two scenarios: in a precondition, and in a scenario's own check.
MODEL_PATH_REWRITE = "backtest ends failed: Model not found at /app/models/…"


@given("nothing is wrong")
@then("all is well")
def step_fine(context):
    pass


@then("the platform answers 503 where 200 was due")
def step_assertion_fails(context):
    assert_that(503, equal_to(200), "backend health: 503 {'status': 'degraded'}")


@then("a step of the suite crashes")
def step_crashes(context):
    {}["result_summary"]


@given("the canary did not come up")
def step_canary_down(context):
    raise CanaryUnavailable("canary canary-x-shared-1 did not come up: backend exited (code 1):"
                            " ModuleNotFoundError: No module named 'alembic'")


@when('the run receives "{name}"')
def step_signal(context, name):
    os.kill(os.getpid(), getattr(signal, name))


@given("a model the platform trained")
@then("a backtest of the model completes")
def step_model_path_rewritten(context):
    # The colour codes are the platform's log's: the record must keep none of them.
    raise Finding(f"operation op_{id(context)} ended failed, expected completed: \x1b[31merror: "
                  "Model not found at /app/models/v3_minimal/1.pt\x1b[0m", MODEL_PATH_REWRITE)
