"""Steps that put a canary in place."""

from behave import given
from behave.runner import Context

from canaryspec.migrations import reset_database


@given("the canary is running")
def step_canary_running(context: Context) -> None:
    context.canary = context.run.shared_canary()


@given("a canary with a fresh, unmigrated database")
def step_fresh_database(context: Context) -> None:
    context.canary = context.own_canary
    reset_database(context.canary.canary)
