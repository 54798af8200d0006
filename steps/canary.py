"""Steps that put a canary in place."""

from pathlib import Path

from behave import given
from behave.runner import Context

from canaryspec.handle import CanaryHandle


@given("the canary is running")
def step_canary_running(context: Context) -> None:
    context.canary = context.run.canaries.shared()


@given("a canary with a fresh, unmigrated database")
def step_fresh_database(context: Context) -> None:
    context.canary = _feature_canary(context, ("db", "backend"))
    context.canary.reset_database()


def _feature_canary(context: Context, services: tuple[str, ...]) -> CanaryHandle:
    """The feature's own canary, started by its first scenario that runs, removed with it."""
    purpose, pool = Path(context.feature.filename).stem, context.run.canaries
    if not pool.knows(purpose):
        context.add_cleanup(pool.release, purpose, layer="feature")
    return pool.own(purpose, services)
