"""The Allure results a run produces, checked with allure-python-commons-test matchers.

A small behave project (report_fixture/) runs through the real allure-behave formatter and the
suite's own attachment helpers; then canaryspec's post-processing adds what the report needs.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from allure_commons_test.label import has_epic, has_feature, has_severity, has_story
from allure_commons_test.report import AllureReport, has_test_case
from allure_commons_test.result import (
    has_attachment,
    has_attachment_with_content,
    has_status_details,
    has_step,
    with_message_contains,
    with_status,
)
from hamcrest import all_of, assert_that, contains_string, not_

from canaryspec.reports import allure as allure_results
from canaryspec.reports.record import ImageRecord, RunRecord

FIXTURE = Path(__file__).parent / "report_fixture"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    results = tmp_path_factory.mktemp("allure-results")
    reports = results.parent / "reports"
    completed = subprocess.run(
        [sys.executable, "-m", "behave", "--no-capture", "-f",
         "allure_behave.formatter:AllureFormatter", "-o", str(results), "features"],
        cwd=FIXTURE, capture_output=True, text=True)
    assert completed.returncode == 1, completed.stdout + completed.stderr  # one scenario fails
    record = RunRecord(run_id="abc123", profile="tradelab")
    record.images["backend"] = ImageRecord("backend", "tradelab-backend:test", "bc557bc6", 268.7,
                                           "10001:10001", "none")
    record.environment = {"docker.engine": "20.10.24", "git.revision": "1b7c71b"}
    allure_results.finish(results, reports, record)
    return results, reports


def test_each_scenario_is_a_test_case_with_its_steps(report):
    assert_that(AllureReport(str(report[0])), all_of(
        has_test_case("A passing scenario with evidence", with_status("passed"),
                      has_step("Given the platform answered a request"),
                      has_step("Then the answer was accepted")),
        has_test_case("A failing scenario explains itself", with_status("failed"))))


def test_a_failed_scenario_carries_the_exchange_and_the_log_tail(report):
    assert_that(AllureReport(str(report[0])), has_test_case(
        "A failing scenario explains itself",
        has_status_details(with_message_contains("expected 503")),
        has_step("Given the platform answered a request",
                 has_attachment(name="HTTP exchanges"),
                 has_attachment(attach_type="text/csv", name="image facts")),
        has_step("Then the answer was refused as unavailable",
                 has_attachment(name="container state and log tail"))))


def test_secrets_never_reach_the_attached_exchange(report):
    assert_that(AllureReport(str(report[0])), has_test_case(
        "A passing scenario with evidence",
        has_step("Given the platform answered a request",
                 has_attachment_with_content(
                     AllureReport(str(report[0])).attachments,
                     all_of(contains_string('"db_password": "***"'),
                            not_(contains_string("hunter2"))),
                     name="HTTP exchanges"))))


def test_tags_become_epic_feature_story_and_severity(report):
    assert_that(AllureReport(str(report[0])), has_test_case(
        "A passing scenario with evidence", has_epic("Training"),
        has_feature("A reported feature"), has_story("A passing scenario with evidence"),
        has_severity("critical")))


def test_environment_categories_executor_and_history_are_written(report):
    results, reports = report
    environment = (results / "environment.properties").read_text()
    assert "image.backend=tradelab-backend:test (bc557bc6, 269 MB)" in environment
    assert "docker.engine=20.10.24" in environment
    names = [c["name"] for c in json.loads((results / "categories.json").read_text())]
    assert names[0].startswith("Aborted") and names[-1] == "Product defects"
    assert json.loads((results / "executor.json").read_text())["buildOrder"] >= 1
    trend = json.loads((reports / "allure-history" / "history-trend.json").read_text())
    assert trend[0]["data"]["passed"] == 1 and trend[0]["data"]["failed"] == 1
