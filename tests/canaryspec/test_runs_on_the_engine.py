"""Whole runs of the suite on the real engine, each against a variant that breaks one thing.

These need the images (`make images`); `make test` runs them after building them and before the
canary suite (`pytest -m needs_images`). Each run uses its own reports_dir and is identified by
its owner labels, so they never touch another run's canary.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import docker
import httpx
import pytest

from canaryspec.owners import OWNER_PID
from canaryspec.settings import PROJECT_ROOT
from canaryspec.waiting import Observation, wait_until

pytestmark = pytest.mark.needs_images
SUITE = [sys.executable, "-m", "canaryspec", "run"]


@functools.cache
def _engine() -> docker.DockerClient:
    return docker.from_env()


def _suite(tmp_path: Path, *args: str, tag: str = "test") -> subprocess.CompletedProcess:
    return subprocess.run([*SUITE, *args, "-D", f"reports_dir={tmp_path / 'reports'}",
                           "-D", f"image_tag={tag}", "-D", "build=false"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)


def _resources_of(pid: int) -> list[str]:
    """Everything on the engine that a run with this owner pid created."""
    filters = {"label": [f"{OWNER_PID}={pid}"]}
    containers = _engine().containers.list(all=True, filters=filters, ignore_removed=True)
    return ([c.name for c in containers]
            + [n.name for n in _engine().networks.list(filters=filters)]
            + [v.name for v in _engine().volumes.list(filters=filters)])


@pytest.fixture(scope="module")
def variant_tag():
    """Images tagged `variant-<pid>`: the test images, with the backend replaced per test."""
    tag = f"variant-{os.getpid()}"
    for role in ("backend", "worker-cpu", "monolith", "db"):
        _engine().images.get(f"tradelab-{role}:test").tag(f"tradelab-{role}", tag)
    yield tag
    for role in ("backend", "worker-cpu", "monolith", "db"):
        _engine().images.remove(f"tradelab-{role}:{tag}", noprune=False)


def _derive(role: str, tag: str, *commands: str) -> None:
    """tradelab-<role>:<tag> = the built image of the role with `commands` run as root on top."""
    dockerfile = (f"FROM tradelab-{role}:test\nUSER root\n"
                  + "".join(f"RUN {c}\n" for c in commands) + "USER 10001:10001\n")
    subprocess.run(["docker", "build", "-q", "-t", f"tradelab-{role}:{tag}", "-"],
                   input=dockerfile, text=True, check=True, capture_output=True)


def _derive_backend(tag: str, *commands: str) -> None:
    _derive("backend", tag, *commands)


# Every backtest of the image fails (the training side untouched): the last `def` wins.
BREAK_BACKTESTS = ("echo 'def backtest(*args, **kwargs): raise RuntimeError(\"backtests are "
                   "broken in this image\")' >> /app/tradelab/ml/backtest.py")


def _compare(tmp_path: Path, tag: str) -> tuple[subprocess.CompletedProcess, str]:
    completed = subprocess.run(
        [sys.executable, "-m", "canaryspec", "compare", "--tags=@backtest", "-D",
         f"reports_dir={tmp_path / 'reports'}", "-D", f"image_tag={tag}", "-D", "build=false"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    return completed, (tmp_path / "reports" / "comparison.md").read_text()


@pytest.mark.parametrize(("broken_roles", "verdict", "row"), [
    pytest.param(("worker-cpu",), "REGRESSION",
                 "| Backtesting | A backtest with a trained model reports sane metrics | passed | "
                 "failed | regression |", id="only-the-split-breaks"),
    pytest.param(("worker-cpu", "monolith"), "FAILS ON BOTH",
                 "| A backtest with a trained model reports sane metrics | failed | failed | "
                 "fails on both |", id="the-monolith-breaks-too"),
])
def test_compare_names_what_broke_and_where(tmp_path, variant_tag, broken_roles, verdict, row):
    for role in ("worker-cpu", "monolith"):  # both, so no earlier case's break carries over
        commands = (BREAK_BACKTESTS,) if role in broken_roles else ()
        _derive(role, variant_tag, *commands)
    completed, report = _compare(tmp_path, variant_tag)
    assert completed.returncode == 1, completed.stdout[-3000:]
    assert report.startswith(f"# Split vs monolith: {verdict}")
    assert row in report


@pytest.fixture
def tag_without_monolith():
    """Images tagged `no-monolith-<pid>`: every test image but the monolith's."""
    tag, roles = f"no-monolith-{os.getpid()}", ("backend", "worker-cpu", "db")
    for role in roles:
        _engine().images.get(f"tradelab-{role}:test").tag(f"tradelab-{role}", tag)
    yield tag
    for role in roles:
        _engine().images.remove(f"tradelab-{role}:{tag}", noprune=False)


def test_a_missing_image_stops_only_what_needs_it(tmp_path, tag_without_monolith):
    completed = _suite(tmp_path, "--tags=@images", tag=tag_without_monolith)
    assert completed.returncode == 6, completed.stdout[-3000:]
    record = json.loads((tmp_path / "reports" / "run.json").read_text())
    not_judged = {s["name"]: s for s in record["scenarios"] if s["status"] != "passed"}
    assert not_judged, "the monolith's own checks must not pass without its image"
    assert all("monolith" in name for name in not_judged), sorted(not_judged)
    for scenario in not_judged.values():
        assert (scenario["status"], scenario["kind"]) == ("broken", "ImageMissing")
        assert f"tradelab-monolith:{tag_without_monolith}" in scenario["reason"]
    assert sum(s["status"] == "passed" for s in record["scenarios"]) >= 10
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert summary.startswith("# Canary verdict: INCOMPLETE — an image is missing")
    assert "build it with `make images`" in summary


def test_compare_without_the_monolith_judges_the_split_and_says_what_it_could_not_compare(
        tmp_path, tag_without_monolith):
    completed = subprocess.run(
        [sys.executable, "-m", "canaryspec", "compare", "--tags=@workers", "-n",
         "registers on start-up", "-D", f"reports_dir={tmp_path / 'reports'}",
         "-D", f"image_tag={tag_without_monolith}",
         "-D", "build=false"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 6, completed.stdout[-3000:]
    report = (tmp_path / "reports" / "comparison.md").read_text()
    assert report.startswith("# Split vs monolith: NOT COMPARED")
    assert f"tradelab-monolith:{tag_without_monolith}" in report
    split = json.loads((tmp_path / "reports" / "run.json").read_text())
    assert any(s["status"] == "passed" for s in split["scenarios"])


def test_build_lists_every_image_of_the_profile():
    completed = subprocess.run([sys.executable, "-m", "canaryspec", "build", "-D", "build=false"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    for role in ("backend", "worker-cpu", "monolith", "db"):
        assert f"tradelab-{role}:test" in completed.stdout


def test_a_backend_without_alembic_fails_the_run_and_every_report_says_why(tmp_path,
                                                                           variant_tag):
    _derive_backend(variant_tag, "rm -rf /opt/venv/lib/python3*/site-packages/alembic")
    completed = _suite(tmp_path, "--tags=@migrations", tag=variant_tag)
    reports = tmp_path / "reports"
    assert completed.returncode == 1, completed.stdout[-3000:]
    summary = (reports / "summary.md").read_text()
    headline = summary.splitlines()[0]
    scenarios = (PROJECT_ROOT / "features/migrations.feature").read_text().count("Scenario")
    assert headline.startswith(f"# Canary verdict: FAILED — 0 passed, 0 failed, {scenarios} "
                               "broken")
    assert "No module named 'alembic'" in summary
    errors = [e for p in (reports / "junit").glob("*.xml")
              for e in ET.parse(p).getroot().iter() if e.tag in {"failure", "error"}]
    assert len(errors) == scenarios
    results = list((reports / "allure-results").glob("*-result.json"))
    assert len(results) == scenarios
    assert all("alembic" in json.loads(r.read_text())["statusDetails"]["message"]
               for r in results)


def test_compose_refusing_the_canary_is_a_set_up_stop_with_its_message(tmp_path):
    # A volume driver the engine does not have: Compose reads the file, the engine refuses it.
    compose_file = tmp_path / "docker-compose.yml"
    compose_file.write_text(
        (PROJECT_ROOT / "deploy/environments/canary/docker-compose.yml").read_text()
        .replace("  pgdata: {}", "  pgdata: {driver: canaryspec-no-such-driver}"))
    completed = _suite(tmp_path, "--tags=@workers", "-D", f"compose_file={compose_file}")
    assert completed.returncode == 9, completed.stdout[-3000:]
    last = completed.stderr.strip().splitlines()[-1]
    # Refused when the project is created (the suite seeds its volumes first) or started.
    assert re.match(r"canaryspec: set-up problem \(ComposeFailed\): Compose could not "
                    r"(create|start)", last), last
    assert "canaryspec-no-such-driver" in last
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert summary.startswith("# Canary verdict: NOT RUN — set-up problem (ComposeFailed)")


def _backend_url(pid: int) -> str | None:
    found = _engine().containers.list(ignore_removed=True, filters={"label": [f"{OWNER_PID}={pid}",
                                                      "com.docker.compose.service=backend"]})
    if not found:
        return None
    ports = found[0].attrs["NetworkSettings"]["Ports"].get("8000/tcp") or []
    return f"http://127.0.0.1:{ports[0]['HostPort']}" if ports else None


def _wait_for_a_training_in_progress(pid: int) -> None:
    def check() -> Observation[object]:
        url = _backend_url(pid)
        if url is None:
            return Observation(False, None, "no backend yet")
        body = httpx.get(f"{url}/api/v1/operations", params={"status": "running",
                                                             "operation_type": "training"},
                         timeout=5).json()
        running = body.get("data", [])
        return Observation(bool(running), running, f"running: {running}")

    # Polled fast: most trainings of the feature run for a second or two.
    wait_until(check, timeout=180, what="a training running in the run's canary",
               transient=(httpx.HTTPError, ValueError), interval=0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_training_tears_everything_down_and_reports_aborted(tmp_path, sig):
    reports, log = tmp_path / "reports", tmp_path / "console.log"
    with log.open("w") as console:
        # The whole training feature: whichever scenario the signal meets, more come after it.
        process = subprocess.Popen([*SUITE, "--tags=@training",
                                    "-D", f"reports_dir={reports}", "-D", "build=false"],
                                   cwd=PROJECT_ROOT, stdout=console, stderr=subprocess.STDOUT)
    try:
        _wait_for_a_training_in_progress(process.pid)
        process.send_signal(sig)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + sig, log.read_text()[-3000:]
    assert _resources_of(process.pid) == []
    name = signal.Signals(sig).name
    assert (reports / "summary.md").read_text().startswith(f"# Canary verdict: ABORTED by {name}")
    assert json.loads((reports / "run.json").read_text())["interrupted_by"] == name


def test_a_run_killed_with_sigkill_leaves_a_canary_the_next_run_removes_and_names(tmp_path):
    process = subprocess.Popen([*SUITE, "--tags=@workers", "-D", "build=false",
                                "-D", f"reports_dir={tmp_path / 'killed'}"],
                               cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)

    def canary_running() -> Observation[list[str]]:
        names = _resources_of(process.pid)
        containers = _engine().containers.list(ignore_removed=True, filters={
            "label": [f"{OWNER_PID}={process.pid}"]})
        workers = [c for c in containers if "worker" in c.name]
        return Observation(len(workers) == 2, names, f"{names}")

    try:
        wait_until(canary_running, timeout=180, what="the doomed run's canary")
    finally:
        process.kill()
        process.wait()
    assert _resources_of(process.pid), "the killed run left nothing to find"
    completed = _suite(tmp_path, "-n", "The backend image does not contain torch")
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "removed what a dead run left: canary-" in completed.stdout
    assert f"left by pid {process.pid} on " in completed.stdout
    assert _resources_of(process.pid) == []
