"""Allure files each result that did not pass under exactly one category: the one the summary
and JUnit give it (canaryspec.outcomes decides it, categories.json only matches it)."""

import json
import re

import pytest

from canaryspec.outcomes import ALLURE_STATUS, CATEGORIES, Outcome
from canaryspec.reports.allure import CATEGORIES_JSON, _details, executor_info, update_history
from canaryspec.reports.record import ScenarioRecord


def _allure_categories(status: str, trace: str) -> list[str]:
    """Allure's own rule: status listed, and the regex matching the whole trace (DOTALL)."""
    return [c["name"] for c in CATEGORIES_JSON
            if status in c["matchedStatuses"] and re.fullmatch(c["traceRegex"], trace, re.DOTALL)]


@pytest.mark.parametrize("category", CATEGORIES, ids=lambda c: c.key)
@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.BROKEN, Outcome.ABORTED])
def test_a_result_lands_in_its_one_category(category, outcome):
    scenario = ScenarioRecord("F", "f", "s", [], outcome.value, 1.0,
                              "Then x: operation op_1 ended failed: No market data for NOPE",
                              category.key)
    trace = _details(scenario, "Traceback (most recent call last):\n  File x")["trace"]
    assert _allure_categories(ALLURE_STATUS[outcome], trace) == [category.name]


def test_categories_json_names_each_category_once():
    names = [c["name"] for c in CATEGORIES_JSON]
    assert len(names) == len(set(names)) == len(CATEGORIES)
    assert names[-1] == "Product defects"


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
    history = json.loads((reports / "allure-history" / "history.json").read_text())
    assert history["h1"]["statistic"]["passed"] == 2
    assert len(history["h1"]["items"]) == 2
