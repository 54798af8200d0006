"""behave hooks for canaryspec: thin, calling into the canaryspec package.

Shared state on `context` (root layer unless said otherwise):
  settings     the frozen Settings of the run (deadlines, profile, budgets)
  active_tags  the ActiveTagMatcher that skips checks a profile does not promise
  run          the Run: its images (run.images), canaries (run.canaries), clock and record
Per scenario (set by Given/When steps, read by Then steps):
  canary       the CanaryHandle the scenario works against (canaryspec.handle)
  image        the ImageProbe of the image a static scenario looks at
  job          the StartedJob last sent (its request, reply, final Operation)
  reply        the platform's answer to the request the scenario judges
  worker       the RegisteredWorker a worker scenario started from
  stopped      how a service ended when asked to stop (StopResult)
  bad_request  the hostile request a scenario sent (canaryspec.jobs.BadRequest)
  baseline     what the canary looked like before hostile input (canaryspec.hostile.Baseline)
  generated    the account of a generated hostile run (canaryspec.generated.GeneratedRun)
  and a few a single scenario passes between its steps: operations_before, model_path,
  strategies, backtests, worker_id, upgrade_log, schema_before.

`python -m canaryspec run` runs behave in-process and, after it, judges every selected
scenario from behave's model (canaryspec.outcomes) and writes the reports from `context.run`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from behave.fixture import fixture, use_fixture
from behave.model import Feature, Scenario, Step
from behave.runner import Context
from behave.tag_matcher import ActiveTagMatcher

from canaryspec import interrupts, needs
from canaryspec.errors import CanaryspecError
from canaryspec.outcomes import scenario_is_finding
from canaryspec.reports.attach import attach_json, attach_text, attach_unreported_exchanges
from canaryspec.run import Run
from canaryspec.settings import load_settings
from canaryspec.step_types import register_step_types

# Typed step parameters ({worker:WorkerKind}, ...) must exist before the steps are loaded.
register_step_types()


# ============================================================================================
# FIXTURES
# ============================================================================================
@fixture
def feature_timer(context: Context, feature: Feature) -> Iterator[None]:
    """The feature's wall time, as a phase of the run, said when the feature ends."""
    with context.run.clock.phase(f"feature {feature.name}", announce=False):
        yield
    name, seconds = context.run.clock.phases[-1]
    context.run.clock.say(f"{name}: {feature.status.name} in {seconds:.1f} s")


# ============================================================================================
# HOOKS
# ============================================================================================
def before_all(context: Context) -> None:
    try:
        context.settings = load_settings(context.config.userdata)
    except CanaryspecError as error:
        # `python -m canaryspec` checks the settings before behave starts; plain behave lands
        # here: one sentence, no scenario runs.
        print(f"canaryspec: set-up problem ({type(error).__name__}): {error}", file=sys.stderr)
        context.abort(reason=str(error))
        return
    context.active_tags = ActiveTagMatcher({"profile": context.settings.profile.name,
                                            "deployment": context.settings.deployment})
    context.active_tags.use_skip_reason = True  # "profile (but: tradelab)" as the reason
    context.run = Run(context.settings)
    context.add_cleanup(context.run.close)
    try:
        with context.run.clock.phase("set-up (Compose, compose file, dead runs)"):
            context.run.start()
        if not context.settings.attached:  # an attached run builds and finds no image
            with context.run.clock.phase("images (build or find)"):
                context.run.images.build()
    except CanaryspecError as error:
        _stop_run(context, error)


def before_feature(context: Context, feature: Feature) -> None:
    use_fixture(feature_timer, context, feature)
    _skip_unless_promised(context, feature, feature.tags)


def before_scenario(context: Context, scenario: Scenario) -> None:
    needs.LEDGER.open()
    _skip_unless_promised(context, scenario, scenario.effective_tags)
    if context.run.first_finding is not None:
        scenario.skip(reason=f"not run: the run stopped at its first finding "
                             f"({context.run.first_finding}; stop_at_first_finding=true)")


def before_step(context: Context, step: object) -> None:
    # A signal the interpreter dropped (raised inside a garbage-collector callback) stops the
    # run here, at the latest: canaryspec.interrupts.InterruptState.lost.
    interrupts.check()


def after_scenario(context: Context, scenario: Scenario) -> None:
    _check_declared_needs(scenario)
    if context.settings.stop_at_first_finding and context.run.first_finding is None \
            and scenario_is_finding(scenario):
        context.run.first_finding = scenario.name


def after_step(context: Context, step: Step) -> None:
    # Attached to the step that made them, so a failed step shows its own requests.
    _attach_http_exchanges(context)
    if step.status.name in {"failed", "error"}:
        _attach_failure_evidence(context, step)
    if isinstance(step.exception, CanaryspecError):
        # A set-up problem met mid-run (Compose refusing the canary): stop, like before_all.
        _stop_run(context, step.exception)


def _skip_unless_promised(context: Context, element: Feature | Scenario, tags: list[str]) -> None:
    """Skip, visibly and with the reason, what the target does not promise (active tags) or
    cannot give (an attached run: what a scenario needs beyond the HTTP API)."""
    if context.active_tags.should_exclude_with(tags):
        element.skip(reason=f"not checked on this target: needs "
                            f"{context.active_tags.exclude_reason}")
        return
    unmet = needs.unmet(tags, context.settings.capabilities())
    if unmet:
        element.skip(reason=f"not run on an attached deployment: {needs.describe_unmet(unmet)}")


def _check_declared_needs(scenario: Scenario) -> None:
    """A scenario that passed using a capability its tags do not declare is a suite error: a
    run against a deployment without that capability would have run it and failed it."""
    if scenario.status.name != "passed":
        return  # a failure's own path (and its evidence) says nothing about the tags
    missing = needs.undeclared(needs.LEDGER.take(), scenario.effective_tags)
    if missing:
        raise needs.UndeclaredNeed(missing)


def _stop_run(context: Context, error: CanaryspecError) -> None:
    """No further scenario runs; each one left is reported broken, blocked by `error`."""
    context.run.record.setup_error = error.as_record()
    context.abort(reason=str(error))


# ============================================================================================
# REPORTING
# ============================================================================================
def _attach_http_exchanges(context: Context) -> None:
    handle = getattr(context, "canary", None)
    if handle is not None:
        attach_unreported_exchanges(handle.api)


def _attach_failure_evidence(context: Context, step: Step) -> None:
    handle = getattr(context, "canary", None)
    evidence = getattr(step.exception, "evidence", "") or \
        (handle.canary.evidence() if handle is not None else "")
    if evidence:
        attach_text("container state and log tail", evidence)
    last = getattr(step.exception, "last_observation", None)
    if last is not None and not isinstance(last, str | Exception):
        # A timed-out wait's last look, whole (e.g. the operation body), beside its summary.
        attach_json("last observation before the deadline", last)
