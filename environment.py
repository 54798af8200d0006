"""behave hooks for canaryspec: thin, calling into the canaryspec package.

Shared state on `context` (root layer unless said otherwise):
  settings     the frozen Settings of the run
  active_tags  the ActiveTagMatcher that skips checks a profile does not promise
  run          the Run: engine client, images, canaries, phase clock, the run's record
Per scenario (set by Given/When steps, read by Then steps):
  canary       the CanaryHandle (canary + api client) the scenario works against
  jobs         the jobs the scenario started (settled in after_scenario)
  image, job, reply, worker, ...   what a step produced for the next one (see steps/)

`python -m canaryspec run` runs behave in-process and, after it, judges every selected
scenario from behave's model (canaryspec.outcomes) and writes the reports from `context.run`.
"""

from __future__ import annotations

import dataclasses
import sys

from behave.model import Feature, Scenario, Step
from behave.runner import Context
from behave.tag_matcher import ActiveTagMatcher

from canaryspec import interrupts
from canaryspec.errors import CanaryspecError
from canaryspec.jobs import settle
from canaryspec.reporting import attach_json, attach_text
from canaryspec.run import Run
from canaryspec.settings import load_settings


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
    context.active_tags = ActiveTagMatcher({"profile": context.settings.profile.name})
    context.active_tags.use_skip_reason = True  # "profile (but: tradelab)" as the reason
    context.run = Run(context.settings)
    context.add_cleanup(_close_run, context)
    try:
        with context.run.clock.phase("set-up (Compose, compose file, dead runs)"):
            context.run.start()
        with context.run.clock.phase("images (build or find)"):
            context.run.build_images()
    except CanaryspecError as error:
        _stop_run(context, error)


def before_feature(context: Context, feature: Feature) -> None:
    # Announced only when done: behave is mid-line printing the feature's header here.
    context.feature_phase = context.run.clock.phase(f"feature {feature.name}", announce=False)
    context.feature_phase.__enter__()
    _skip_unless_promised(context, feature, feature.tags)


def after_feature(context: Context, feature: Feature) -> None:
    context.feature_phase.__exit__(None, None, None)
    name, seconds = context.run.clock.phases[-1]
    context.run.clock.say(f"{name}: {feature.status.name} in {seconds:.1f} s")


def before_scenario(context: Context, scenario: Scenario) -> None:
    context.jobs = []
    _skip_unless_promised(context, scenario, scenario.effective_tags)


def after_step(context: Context, step: Step) -> None:
    # Attached to the step that made them, so a failed step shows its own requests.
    _attach_http_exchanges(context)
    if step.status.name in {"failed", "error"}:
        _attach_failure_evidence(context, step)
    if isinstance(step.exception, CanaryspecError):
        # A set-up problem met mid-run (Compose refusing the canary): stop, like before_all.
        _stop_run(context, step.exception)


def after_scenario(context: Context, scenario: Scenario) -> None:
    if interrupts.STATE.received:
        return  # the run is stopping: the canaries go down with it, no settling first
    _settle_jobs(context)
    _attach_http_exchanges(context, "HTTP exchanges (clean-up)")


def _skip_unless_promised(context: Context, element: Feature | Scenario, tags: list[str]) -> None:
    """Skip, visibly and with the reason, what the target does not promise (active tags)."""
    if context.active_tags.should_exclude_with(tags):
        element.skip(reason=f"not checked on this target: needs "
                            f"{context.active_tags.exclude_reason}")


def _stop_run(context: Context, error: CanaryspecError) -> None:
    """No further scenario runs; each one left is reported broken, blocked by `error`."""
    context.run.record.setup_error = error.as_record()
    context.abort(reason=str(error))


def _settle_jobs(context: Context) -> None:
    """Leave the shared canary idle for the next scenario, whatever this one did."""
    handle = getattr(context, "canary", None)
    if handle is None or not context.jobs:
        return
    cancelled = settle(handle.api, handle.canary, context.jobs,
                       timeout=context.settings.deadlines.worker_free)
    if cancelled:
        attach_text("clean-up", f"cancelled what the scenario left running: {cancelled}")


def _close_run(context: Context) -> None:
    context.run.close()


# ============================================================================================
# REPORTING
# ============================================================================================
def _handles(context: Context) -> list:
    handle = getattr(context, "canary", None)
    return [handle] if handle is not None else []


def _attach_http_exchanges(context: Context, name: str = "HTTP exchanges") -> None:
    for handle in _handles(context):
        new = handle.api.unreported()
        if new:
            attach_text(name, "\n\n".join(x.render() for x in new))


def _attach_failure_evidence(context: Context, step: Step) -> None:
    evidence = getattr(step.exception, "evidence", "")
    if not evidence:
        evidence = "\n".join(h.canary.evidence() for h in _handles(context))
    if evidence:
        attach_text("container state and log tail", evidence)
    last = getattr(step.exception, "last_observation", None)
    if dataclasses.is_dataclass(last) and not isinstance(last, type):
        last = dataclasses.asdict(last)
    if isinstance(last, (dict, list)):
        # A timed-out wait's last look, whole (e.g. the operation body), beside its summary.
        attach_json("last observation before the deadline", last)
