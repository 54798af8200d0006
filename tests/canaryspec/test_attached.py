"""An attached deployment: reached by URL, with no engine behind it."""

import pytest

from canaryspec.attached import AttachedDeployment, AttachedPool
from canaryspec.clock import PhaseClock
from canaryspec.errors import CanaryUnavailable
from canaryspec.reports.record import RunRecord
from canaryspec.settings import load_settings


def _settings(**given):
    return load_settings({"target": "attach", "backend_url": "http://core:8000", **given},
                         environ={})


def test_the_backend_is_where_the_settings_say():
    assert AttachedDeployment(_settings()).url("backend") == "http://core:8000"


def test_a_worker_is_where_the_settings_say_else_where_it_registered():
    given = AttachedDeployment(_settings(worker_urls="training=http://127.0.0.1:15004"))
    given.registered_url = lambda worker_type: f"http://{worker_type}-node:5000"
    assert given.url("training-worker") == "http://127.0.0.1:15004"
    assert given.url("backtest-worker") == "http://backtesting-node:5000"


def test_a_service_it_cannot_reach_is_said_not_guessed():
    deployment = AttachedDeployment(_settings())
    with pytest.raises(CanaryUnavailable, match="no URL for db"):
        deployment.url("db")
    with pytest.raises(CanaryUnavailable, match="no URL for the training worker yet"):
        deployment.url("training-worker")
    assert deployment.env_of("backend") == {} and deployment.memory_mb() == {}
    assert "no engine" in deployment.evidence()


def test_an_attached_run_starts_no_canary_of_its_own():
    pool = AttachedPool(_settings(), PhaseClock(), RunRecord(run_id="r", profile="tradelab"))
    with pytest.raises(CanaryUnavailable, match="starts no canary of its own"):
        pool.own("migrations", ("db", "backend"))
