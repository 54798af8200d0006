"""Hooks of the outcome fixture: an active tag that skips, and a feature whose hook fails."""

from behave.tag_matcher import ActiveTagMatcher


def before_all(context):
    context.active_tags = ActiveTagMatcher({"profile": "tradelab"})
    context.active_tags.use_skip_reason = True


def before_feature(context, feature):
    if "hook.fails" in feature.tags:
        raise RuntimeError("the feature's set-up fixture could not start its database")


def before_scenario(context, scenario):
    if context.active_tags.should_exclude_with(scenario.effective_tags):
        scenario.skip(reason=f"not checked on this target: needs "
                             f"{context.active_tags.exclude_reason}")
