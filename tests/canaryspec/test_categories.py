"""Allure files each result that did not pass under exactly one category: the one the summary
and JUnit give it (canaryspec.outcomes decides it, categories.json only matches it)."""

import json
import re

import pytest

from canaryspec.outcomes import ALLURE_STATUS, CATEGORIES, Outcome
from canaryspec.reports.allure import (
    CATEGORIES_JSON,
    _details,
    executor_info,
    update_history,
    write_categories,
)
from canaryspec.reports.record import RunRecord, ScenarioRecord


def _allure_categories(status: str, trace: str, categories=CATEGORIES_JSON) -> list[str]:
    """Allure's own rule: status listed, and the regex matching the whole trace (DOTALL)."""
    return [c["name"] for c in categories
            if status in c["matchedStatuses"] and re.fullmatch(c["traceRegex"], trace, re.DOTALL)]


def _written_categories(tmp_path, record: RunRecord) -> list[dict]:
    return json.loads(write_categories(tmp_path, record).read_text())


def _scenario(name: str, outcome: Outcome, category: str, root_cause: str = "",
              reason: str = "Then x: operation op_1 ended failed: No market data for NOPE") \
        -> ScenarioRecord:
    return ScenarioRecord("F", "f", name, [], outcome.value, 1.0, reason, category,
                          root_cause=root_cause)


@pytest.mark.parametrize("category", CATEGORIES, ids=lambda c: c.key)
@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.BROKEN, Outcome.ABORTED])
def test_a_result_lands_in_its_one_category(tmp_path, category, outcome):
    """A finding (failed, or blocked by a defect) lands in its root cause's category; anything
    else in its fixed category; never in two."""
    scenario = _scenario("s", outcome, category.key, "backtest ends failed: no model")
    record = RunRecord("r", "tradelab", scenarios=[scenario])
    trace = _details(scenario, "Traceback (most recent call last):\n  File x")["trace"]
    expected = "backtest ends failed: no model" if scenario.is_finding else category.name
    assert _allure_categories(ALLURE_STATUS[outcome], trace,
                              _written_categories(tmp_path, record)) == [expected]


def test_categories_json_names_each_category_once():
    names = [c["name"] for c in CATEGORIES_JSON]
    assert len(names) == len(set(names)) == len(CATEGORIES)
    assert names[-1] == "Product defects"


def test_categories_json_has_one_category_per_root_cause(tmp_path):
    """Six scenarios stopped by one defect are one category; another defect is another."""
    rewrite = "backtest ends failed: Model not found at /app/models/…"
    record = RunRecord("r", "tradelab", scenarios=[
        *(_scenario(f"failed {n}", Outcome.FAILED, "product-defect", rewrite) for n in range(4)),
        *(_scenario(f"blocked {n}", Outcome.BROKEN, "blocked-by-defect", rewrite)
          for n in range(2)),
        _scenario("grace", Outcome.FAILED, "product-defect", "the worker was killed (137)"),
        _scenario("down", Outcome.BROKEN, "canary-down", "canary did not come up")])
    categories = _written_categories(tmp_path, record)
    names = [c["name"] for c in categories]
    assert names[:2] == [rewrite, "the worker was killed (137)"]
    assert names[2:] == [c["name"] for c in CATEGORIES_JSON]
    assert "4 scenario(s) failed on it, 2 blocked by it" in categories[0]["description"]
    filed = {s.name: _allure_categories(ALLURE_STATUS[s.outcome], _details(s)["trace"],
                                        categories) for s in record.scenarios}
    assert all(filed[f"failed {n}"] == [rewrite] for n in range(4))
    assert all(filed[f"blocked {n}"] == [rewrite] for n in range(2))
    assert filed["grace"] == ["the worker was killed (137)"]
    assert filed["down"] == ["Blocked: the canary did not come up"]


def test_allure_keeps_the_whole_reason_with_the_root_cause_first():
    reason = "Then the long check holds: " + " ".join(f"word{n}" for n in range(200))
    scenario = _scenario("s", Outcome.FAILED, "product-defect", "the long check fails", reason)
    message = _details(scenario)["message"]
    assert message.startswith("the long check fails — Then the long check holds")
    assert reason in message  # whole, not the headline's cut


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
