"""The shape the step layer keeps: typed closed vocabularies, short steps that judge nothing
by digging in replies, and tags that each mean something."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from behave.parser import parse_file

from canaryspec.needs import TAGS as NEED_TAGS
from canaryspec.reports.record import AREAS
from canaryspec.reports.summary import ALL_EVIDENCE
from canaryspec.settings import PROJECT_ROOT

STEPS = sorted((PROJECT_ROOT / "steps").glob("*.py"))
# The tag vocabulary (README, "Tags"): areas, severity, selections, the handoff's rows, and
# behave's own active tags; and what a scenario needs beyond HTTP (canaryspec.needs).
TAGS = {*AREAS, *NEED_TAGS, "blocker", "critical", "smoke", "faults", "wip",
        "use.with_deployment=split", *(e.tag for e in ALL_EVIDENCE), "use.with_profile=tradelab"}


def _step_functions():
    for path in STEPS:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("step_"):
                yield path.name, node


@pytest.mark.parametrize(("module", "step"), list(_step_functions()),
                         ids=lambda x: getattr(x, "name", x))
def test_a_step_is_at_most_ten_lines(module, step):
    first = step.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    body = step.body[1:] if docstring else step.body
    lines = body[-1].end_lineno - body[0].lineno + 1
    assert lines <= 10, f"{module}:{step.name} is {lines} lines"


def test_no_step_reads_a_reply_body():
    for path in STEPS:
        assert ".body" not in path.read_text(), f"{path.name} digs in a reply body"


def test_every_tag_in_the_features_means_something():
    used = {str(tag) for path in (PROJECT_ROOT / "features").glob("*.feature")
            for scenario in parse_file(str(path)).walk_scenarios()
            for tag in scenario.effective_tags}
    assert used - TAGS == set()
    assert {"smoke", "faults", "blocker", "critical"} <= used


UNKNOWN_WORDS = """Feature: Words the suite does not know
  Scenario: An image nobody builds
    Given the "GPU box" image

  Scenario: A worker type nobody runs
    Then a "scoring" worker is registered and available

  Scenario: A bad input nobody defined
    When a job is requested with a strategy written in Klingon
"""


def test_an_unknown_image_worker_or_bad_input_is_an_undefined_step(tmp_path):
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "unknown.feature").write_text(UNKNOWN_WORDS)
    os.symlink(PROJECT_ROOT / "steps", tmp_path / "steps")
    os.symlink(PROJECT_ROOT / "environment.py", tmp_path / "environment.py")
    result = subprocess.run([sys.executable, "-m", "behave", "--dry-run", "--no-summary",
                             "--format=plain", "--no-junit", "features"], cwd=tmp_path,
                            capture_output=True, text=True)
    out = result.stdout + result.stderr
    # behave proposes a snippet for each undefined step: all three words were refused.
    for snippet in ("""@given(u'the "GPU box" image')""",
                    """@then(u'a "scoring" worker is registered and available')""",
                    "@when(u'a job is requested with a strategy written in Klingon')"):
        assert snippet in out, out
    assert result.returncode != 0


def test_the_project_features_have_no_undefined_step(tmp_path):
    result = subprocess.run([sys.executable, "-m", "behave", "--dry-run", "--no-summary",
                             "--format=plain", "--no-junit", str(PROJECT_ROOT / "features")],
                            cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert "undefined" not in result.stdout, result.stdout[-2000:]
    assert Path(PROJECT_ROOT / "steps").is_dir()
