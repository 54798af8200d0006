"""behave hooks for canaryspec: thin, calling into the canaryspec package.

Shared state on `context`:
  settings  the frozen Settings of the run
  run       the Run: engine client, images, canaries, phase clock
  images    role -> ImageFacts of the images under test
  canary    the CanaryHandle (canary + api client) a scenario works against
"""

from __future__ import annotations

import dataclasses

from behave.fixture import fixture, use_fixture_by_tag
from behave.model import Feature, Scenario, Step
from behave.runner import Context
from behave.tag_matcher import ActiveTagMatcher

from canaryspec.canary import check_ports_free, find_compose
from canaryspec.errors import CanaryspecError, record_setup_error
from canaryspec.jobs import settle
from canaryspec.reporting import attach_json, attach_text
from canaryspec.run import Run
from canaryspec.run_record import record_scenario
from canaryspec.settings import load_settings


# ============================================================================================
# FIXTURES
# ============================================================================================
@fixture(name="fixture.canary.own")
def own_canary(context, services: tuple[str, ...] = ("db", "backend")):
    """A canary this feature owns (database + backend): a database it may wipe at will."""
    canary = context.run.new_canary(context.feature.filename.rsplit("/", 1)[-1].split(".")[0],
                                    services)
    try:
        with context.run.clock.phase(f"own canary up ({canary.purpose})"):
            context.own_canary = context.run.bring_up(canary)
        yield context.own_canary
    finally:
        with context.run.clock.phase(f"own canary down ({canary.purpose})"):
            context.run.release(canary)


FIXTURES = {"fixture.canary.own": own_canary}


# ============================================================================================
# HOOKS
# ============================================================================================
def before_all(context: Context) -> None:
    try:
        context.settings = load_settings(context.config.userdata)
        context.active_tags = ActiveTagMatcher({"profile": context.settings.profile.name})
        check_ports_free(context.settings)
        context.settings.canary_compose_file  # noqa: B018 -- ConfigError now, not mid-run
        context.run = Run.start(context.settings)
        context.run.compose = find_compose()
        context.add_cleanup(_close_run, context)
        with context.run.clock.phase("images (build or find)"):
            context.images = context.run.prepare_images()
    except CanaryspecError as error:
        # One clear sentence and a distinct exit code (python -m canaryspec returns it); no
        # traceback wall for a set-up problem, and no scenario runs.
        record_setup_error(error)
        _close_run(context)
        context.abort(reason=str(error))


def before_feature(context: Context, feature: Feature) -> None:
    # Announced only when done: behave is mid-line printing the feature's header here.
    context.feature_phase = context.run.clock.phase(f"feature {feature.name}", announce=False)
    context.feature_phase.__enter__()
    if context.active_tags.should_exclude_with(feature.tags):
        feature.skip(reason=context.active_tags.exclude_reason)


def after_feature(context: Context, feature: Feature) -> None:
    context.feature_phase.__exit__(None, None, None)
    name, seconds = context.run.clock.phases[-1]
    context.run.clock.say(f"{name}: {feature.status.name} in {seconds:.1f} s")


def before_tag(context: Context, tag: str) -> None:
    if tag.startswith("fixture."):
        use_fixture_by_tag(tag, context, FIXTURES)


def before_scenario(context: Context, scenario: Scenario) -> None:
    context.jobs = []
    if context.active_tags.should_exclude_with(scenario.effective_tags):
        scenario.skip(reason=context.active_tags.exclude_reason)


def after_step(context: Context, step: Step) -> None:
    # Attached to the step that made them, so a failed step shows its own requests.
    _attach_http_exchanges(context)
    if step.status == "failed":
        _attach_failure_evidence(context, step)


def after_scenario(context: Context, scenario: Scenario) -> None:
    try:
        _settle_jobs(context)
        _attach_http_exchanges(context, "HTTP exchanges (clean-up)")
    finally:
        # Whatever the clean-up did, the scenario is in the report.
        context.run.record.scenarios.append(record_scenario(scenario))


def after_all(context: Context) -> None:
    failed = [s for s in context.run.record.scenarios if s.status == "failed"] \
        if getattr(context, "run", None) else []
    if failed:
        # The reasons first, one paragraph each; behave's own listing and tracebacks follow.
        context.run.clock.say(f"{len(failed)} scenario(s) failed:")
        for record in failed:
            reason = record.reason.splitlines()[0] if record.reason else "(no message)"
            context.run.clock.say(f"  {record.feature}: {record.name}\n      {reason}")


def _settle_jobs(context):
    """Leave the shared canary idle for the next scenario, whatever this one did."""
    handle = getattr(context, "canary", None)
    if handle is None or not context.jobs:
        return
    cancelled = settle(handle.api, handle.canary, context.jobs)
    if cancelled:
        attach_text("clean-up", f"cancelled what the scenario left running: {cancelled}")


# ============================================================================================
# REPORTING
# ============================================================================================
def _handles(context):
    seen = []
    for name in ("canary", "own_canary"):
        handle = getattr(context, name, None)
        if handle is not None and handle not in seen:
            seen.append(handle)
    return seen


def _attach_http_exchanges(context, name="HTTP exchanges"):
    for handle in _handles(context):
        new = handle.api.unreported()
        if new:
            attach_text(name, "\n\n".join(x.render() for x in new))


def _attach_failure_evidence(context, step):
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


def _close_run(context):
    run = getattr(context, "run", None)
    if run is None:
        return
    run.close()
    context.run = None
    run.clock.write(run.settings.reports_dir / "phases.json")
    run.write_record()
