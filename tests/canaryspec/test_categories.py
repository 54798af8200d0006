"""Which Allure category a failure lands in: product, test data, infrastructure, suite."""

import pytest

from canaryspec.allure_results import category_of, executor_info, update_history

PRODUCT = "Product defects"
INFRA = "Infrastructure problems (engine, build, Compose, ports)"
DATA = "Test-data problems (strategies, market data, models)"
SUITE = "Suite errors (a bug in canaryspec)"


@pytest.mark.parametrize(("status", "message", "category"), [
    # A backend image with torch in it: the product is wrong.
    ("failed", "tradelab-backend:broken contains torch: `import torch` succeeded", PRODUCT),
    ("failed", "service backend exited (code 1) before becoming healthy", PRODUCT),
    # A broken image build stops the run in set-up: reported as a broken result.
    ("broken", "ImageUnavailable: build of tradelab-backend:test from Dockerfile.backend "
               "failed: E: Unable to locate package python3-nope", INFRA),
    ("broken", "EngineUnavailable: no Docker engine answers at unix:///nope.sock", INFRA),
    ("broken", "PortInUse: port 18000 (backend) is already in use on 127.0.0.1", INFRA),
    ("failed", "the canary failed to start earlier in this run: compose up failed", INFRA),
    ("failed", "operation op_x ended failed: error: No market data for EURUSD 1h", DATA),
    ("broken", "KeyError: 'result_summary'", SUITE),
])
def test_failures_are_classified(status, message, category):
    assert category_of(status, message) == category


def test_passed_results_have_no_category():
    assert category_of("passed", "") is None


def test_executor_names_the_ci_system():
    github = executor_info({"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "7",
                            "GITHUB_REPOSITORY": "acme/canaryspec",
                            "GITHUB_SERVER_URL": "https://github.com"})
    assert github["type"] == "github"
    assert github["buildUrl"].endswith("/acme/canaryspec/actions/runs/7")
    assert executor_info({})["type"] == "local"


def test_history_grows_one_build_per_run(tmp_path):
    results, reports = tmp_path / "results", tmp_path / "reports"
    results.mkdir()
    (results / "a-result.json").write_text(
        '{"uuid": "a", "historyId": "h1", "name": "s", "status": "passed", '
        '"start": 1, "stop": 3}')
    assert update_history(results, reports) == 1
    assert update_history(results, reports) == 2
    import json
    history = json.loads((reports / "allure-history" / "history.json").read_text())
    assert history["h1"]["statistic"]["passed"] == 2
    assert len(history["h1"]["items"]) == 2
