"""make attach-demo on the real engine: a deployment the suite did not start, judged from the
host and from the runner image, left as it was (deploy/attach/attach-demo.sh)."""

import os
import subprocess

import pytest

from canaryspec.settings import PROJECT_ROOT

pytestmark = pytest.mark.needs_images


def test_a_deployment_started_by_hand_is_judged_from_outside_and_inside_and_left_as_it_was(
        tmp_path):
    built = subprocess.run(["make", "-s", "runner-image"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    demo = subprocess.run(["deploy/attach/attach-demo.sh"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "REPORTS": str(tmp_path)})
    said = [line for line in demo.stdout.splitlines() if line.startswith("attach-demo:")]
    assert demo.returncode == 0, "\n".join(said) + demo.stderr[-2000:]
    assert "attach-demo: PASSED" in said
    for side in ("host", "runner"):
        summary = (tmp_path / side / "summary.md").read_text()
        assert summary.startswith("# Canary verdict: PASSED"), summary[:300]
        assert "## Not run here" in summary
