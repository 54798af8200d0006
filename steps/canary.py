"""Steps that put a canary in place."""

from pathlib import Path

from behave import given
from behave.runner import Context

from canaryspec.migrations import reset_database


@given("the canary is running")
def step_canary_running(context: Context) -> None:
    context.canary = context.run.shared_canary()


@given("a canary with a fresh, unmigrated database")
def step_fresh_database(context: Context) -> None:
    # The feature's own canary (db + backend), started by its first scenario that runs and
    # removed when the feature ends: it may wipe the database at will.
    purpose = Path(context.feature.filename).stem
    if not context.run.knows_canary(purpose):
        context.add_cleanup(context.run.release_own, purpose, layer="feature")
    context.canary = context.run.own_canary(purpose, ("db", "backend"))
    reset_database(context.canary.canary)
