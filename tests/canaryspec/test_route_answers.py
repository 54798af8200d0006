"""A route's answer judged against the statuses the backend's API document declares for it."""

from __future__ import annotations

from canaryspec.api import Reply, RouteAnswer, declared_statuses

DOCUMENT = {"paths": {
    "/api/v1/operations": {"get": {"responses": {"200": {}, "422": {}, "503": {}}}},
    "/api/v1/operations/{operation_id}": {"get": {"responses": {"200": {}, "default": {}}}},
}}


def test_the_document_declares_statuses_per_route_and_method():
    assert declared_statuses(DOCUMENT, "GET", "/api/v1/operations") == {200, 422, 503}
    assert declared_statuses(DOCUMENT, "GET", "/api/v1/operations/{operation_id}") == {200}
    assert declared_statuses(DOCUMENT, "DELETE", "/api/v1/operations") == frozenset()
    assert declared_statuses({"no": "paths"}, "GET", "/api/v1/operations") == frozenset()


def test_a_declared_refusal_is_no_problem():
    answer = RouteAnswer("/api/v1/operations", Reply(503, {"detail": "db"}), frozenset({503}))
    assert answer.refusal_problem() == ""


def test_a_refusal_the_document_does_not_declare_is_named():
    answer = RouteAnswer("/api/v1/operations", Reply(503, {"detail": "db"}),
                         frozenset({200, 422, 502}))
    assert "503, a status its API document does not declare" in answer.refusal_problem()
    assert "declared: 200, 422, 502" in answer.refusal_problem()


def test_an_answer_that_is_not_a_refusal_is_named():
    answer = RouteAnswer("/api/v1/operations", Reply(200, {"operations": []}),
                         frozenset({200, 503}))
    assert "not a refusal" in answer.refusal_problem()
