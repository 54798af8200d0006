"""A route's answer judged against the statuses the backend's API document declares for it."""

from __future__ import annotations

import pytest

from canaryspec.api import Reply, RouteAnswer, declared_statuses

DOCUMENT = {"paths": {
    "/api/v1/operations": {"get": {"responses": {"200": {}, "422": {}, "503": {}}}},
    "/api/v1/operations/{operation_id}": {"get": {"responses": {"200": {}, "default": {}}}},
}}


def test_the_document_declares_codes_per_route_and_method():
    assert declared_statuses(DOCUMENT, "GET", "/api/v1/operations") == {"200", "422", "503"}
    assert declared_statuses(DOCUMENT, "GET", "/api/v1/operations/{operation_id}") == {
        "200", "default"}
    assert declared_statuses(DOCUMENT, "DELETE", "/api/v1/operations") == frozenset()
    assert declared_statuses({"no": "paths"}, "GET", "/api/v1/operations") == frozenset()


@pytest.mark.parametrize("declared", [{"503"}, {"5XX"}, {"default"}])
def test_a_declared_server_side_refusal_is_no_problem(declared):
    answer = RouteAnswer("/api/v1/operations", Reply(503, {"detail": "db"}), frozenset(declared))
    assert answer.refusal_problem() == ""


def test_a_refusal_the_document_does_not_declare_is_named():
    answer = RouteAnswer("/api/v1/operations", Reply(503, {"detail": "db"}),
                         frozenset({"200", "422", "502"}))
    assert "503, a status its API document does not declare" in answer.refusal_problem()
    assert "declared: 200, 422, 502" in answer.refusal_problem()


@pytest.mark.parametrize("status", [200, 404])
def test_an_answer_that_does_not_say_the_server_cannot_answer_is_named(status):
    # A 404 for an operation that exists is as wrong as stale data while the database is away.
    answer = RouteAnswer("/api/v1/operations/{operation_id}", Reply(status, {}),
                         frozenset({"200", "404", "503"}))
    assert "not a refusal saying the server cannot answer now" in answer.refusal_problem()
