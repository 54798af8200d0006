"""Steps of the report fixture: they attach evidence the way the real steps do (no Docker)."""

from behave import given, then
from hamcrest import assert_that, equal_to

from canaryspec.api import Exchange
from canaryspec.reports.attach import attach_table, attach_text


@given("the platform answered a request")
def step_answered(context):
    context.exchange = Exchange("POST", "http://127.0.0.1:1/api/v1/trainings/start",
                                {"strategy_name": "v3_minimal", "db_password": "hunter2"}, 200,
                                {"success": True, "task_id": "op_training_1"}, 12.5)
    attach_text("HTTP exchanges", context.exchange.render())
    attach_table("image facts", ["role", "tag"], [["backend", "tradelab-backend:test"]])


@then("the answer was accepted")
def step_accepted(context):
    assert_that(context.exchange.status, equal_to(200))


@then("the answer was refused as unavailable")
def step_refused(context):
    attach_text("container state and log tail", "backend: running, health healthy\nlog tail")
    assert_that(context.exchange.status, equal_to(503),
                "second training while busy: expected 503")
