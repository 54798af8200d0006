"""A wrong set-up stops the run before any scenario with one sentence and its own exit code.

Each case runs `python -m canaryspec run` for real, from a scratch directory with its own
reports_dir, so the last run's Allure results, JUnit and summary are left alone.
"""

import os
import socket
import subprocess
import sys

import docker
import pytest

from canaryspec.settings import PROJECT_ROOT


def _run(tmp_path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "canaryspec", "run", str(PROJECT_ROOT / "features"),
         "-D", f"reports_dir={tmp_path / 'reports'}", *args],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)


def _the_one_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr + result.stdout
    assert lines, result.stdout
    return lines[-1]


def _engine_available() -> bool:
    try:
        docker.from_env(timeout=5).ping()
        return True
    except docker.errors.DockerException:
        return False


needs_engine = pytest.mark.skipif(not _engine_available(), reason="needs a Docker engine")


def test_unknown_userdata_key(tmp_path):
    result = _run(tmp_path, "-D", "colour=blue")
    assert result.returncode == 4
    assert "unknown setting colour; known settings:" in _the_one_line(result)


def test_unknown_profile(tmp_path):
    result = _run(tmp_path, "-D", "profile=prod")
    assert result.returncode == 4
    assert "unknown profile 'prod'; profiles: ktrdr, tradelab" in _the_one_line(result)


def test_no_docker_engine(tmp_path):
    result = _run(tmp_path, env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert result.returncode == 5
    assert "no Docker engine answers at unix://" in _the_one_line(result)


def test_engine_unreachable_through_docker_host(tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = _run(tmp_path, env={"DOCKER_HOST": f"tcp://127.0.0.1:{port}"})
    assert result.returncode == 5
    assert f"no Docker engine answers at tcp://127.0.0.1:{port}" in _the_one_line(result)


@needs_engine
def test_images_missing_with_building_disabled_leave_every_scenario_unjudged(tmp_path):
    # A missing image is not a set-up stop: what needs it is broken, naming the image and how
    # to build it (tests/canaryspec/test_runs_on_the_engine.py: the rest of the run goes on).
    result = _run(tmp_path, "--tags=@images", "-D", "build=false",
                  "-D", "image_tag=never-built-tag")
    assert result.returncode == 6, result.stdout[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert summary.startswith("# Canary verdict: INCOMPLETE — an image is missing")
    for role in ("backend", "worker-cpu", "monolith"):
        assert f"not on this engine: image tradelab-{role}:never-built-tag" in summary
    assert "build it with `make images`" in summary


def test_port_in_use(tmp_path):
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 18000))
        holder.listen()
    except OSError:
        pass  # already held by something else: the run must refuse all the same
    try:
        result = _run(tmp_path, "-D", "canonical_ports=true")
    finally:
        holder.close()
    assert result.returncode == 8
    assert "port 18000 (backend) is already in use" in _the_one_line(result)


def test_no_scenario_ran_and_the_summary_says_why(tmp_path):
    result = _run(tmp_path, "-D", "build=false", "-D", "canonical_ports=true",
                  env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert result.returncode in {5, 8}
    assert summary.startswith("# Canary verdict: NOT RUN — set-up problem")


def test_a_profile_without_its_compose_file(tmp_path):
    result = _run(tmp_path, "-D", "profile=ktrdr")
    assert result.returncode == 4
    assert "profile 'ktrdr' needs compose_file=" in _the_one_line(result)


def test_a_compose_file_that_does_not_exist(tmp_path):
    result = _run(tmp_path, "-D", f"compose_file={tmp_path / 'nope.yml'}")
    assert result.returncode == 4
    assert f"compose_file {tmp_path / 'nope.yml'} does not exist" in _the_one_line(result)
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert summary.startswith("# Canary verdict: NOT RUN — set-up problem (ConfigError)")


@needs_engine
def test_a_compose_file_compose_cannot_read(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  backend:\n    image: [unclosed\n")
    result = _run(tmp_path, "-D", f"compose_file={broken}", "-D", "build=false")
    assert result.returncode == 4
    assert f"Compose cannot read {broken}" in _the_one_line(result)


def test_features_behave_cannot_load(tmp_path):
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "x.feature").write_text("Feature: no steps here\n")
    result = subprocess.run([sys.executable, "-m", "canaryspec", "run", "features", "-D",
                             f"reports_dir={tmp_path / 'reports'}"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 4
    assert "behave could not load the suite: ConfigError: No steps directory" in \
        _the_one_line(result)
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert summary.startswith("# Canary verdict: NOT RUN — set-up problem (ConfigError)")
    assert list((tmp_path / "reports" / "junit").glob("*.xml"))
