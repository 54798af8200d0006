"""The waits a fault scenario derives from the platform's own health checks: the deployment's
environment first, the platform's defaults (the profile's data) otherwise."""

from types import SimpleNamespace

import pytest

from canaryspec.handle import CanaryHandle
from canaryspec.settings import PROFILES, Deadlines


def handle_with(profile: str, backend_env: dict[str, str]) -> CanaryHandle:
    canary = SimpleNamespace(env_of=lambda service: backend_env if service == "backend" else {})
    settings = SimpleNamespace(profile=PROFILES[profile], deadlines=Deadlines(health_checked=5))
    return CanaryHandle(canary, api=None, settings=settings)  # type: ignore[arg-type]


def test_tradelab_canary_checks_every_two_seconds_as_its_compose_file_sets() -> None:
    handle = handle_with("tradelab", {"WORKER_HEALTH_INTERVAL": "2"})
    assert handle.health_checks() == (2.0, 5.0, 3)
    # Three failures, each within 2 s apart and a 5 s timeout, and the margin.
    assert handle.unavailable_deadline()[0] == pytest.approx(3 * (2 + 5) + 5)
    assert handle.back_deadline()[0] == pytest.approx(2 + 2 * 5 + 5)


def test_ktrdr_defaults_apply_when_its_deployment_sets_none() -> None:
    deadline, how = handle_with("ktrdr", {}).unavailable_deadline()
    assert deadline == pytest.approx(3 * (10 + 5) + 5)
    assert "3 failed health checks" in how


def test_ktrdr_environment_overrides_its_defaults() -> None:
    handle = handle_with("ktrdr", {"KTRDR_WORKER_HEALTH_CHECK_INTERVAL": "4",
                                   "KTRDR_WORKER_HEALTH_CHECK_FAILURES": "2"})
    assert handle.health_checks() == (4.0, 5.0, 2)
