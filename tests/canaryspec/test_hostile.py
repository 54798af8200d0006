"""How the suite judges hostile input: refusals, what must stay as it was, generated runs."""

from canaryspec.api import Reply
from canaryspec.generated import ROUTES, Failure, GeneratedRun
from canaryspec.hostile import (
    MAX_REFUSAL_BYTES,
    Baseline,
    recorded_problems,
    refusal_problems,
    restart_problems,
)
from canaryspec.jobs import BAD_REQUESTS, MEGABYTE

JSON = "application/json"
TRAVERSAL = BAD_REQUESTS["a model path that climbs out of the models volume"]


def _error(field, size=200):
    return Reply(422, {"success": False, "error": {"code": "VALIDATION_ERROR", "field": field,
                                                   "message": f"{field}: invalid"}},
                 size, JSON)


def test_a_refusal_with_its_status_in_json_naming_the_field_is_good():
    assert refusal_problems(TRAVERSAL, _error("model_path"), "model_path") == []


def test_a_refusal_with_another_status_is_named_by_the_status_expected():
    accepted = Reply(200, {"operation_id": "op_1"}, 40, JSON)
    assert refusal_problems(TRAVERSAL, accepted, "model_path") == [
        'expected 422: 200 {"operation_id": "op_1"}']


def test_a_plain_text_refusal_is_not_good_even_when_it_names_the_field():
    text = Reply(422, "model_path is bad", 17, "text/plain; charset=utf-8")
    assert refusal_problems(TRAVERSAL, text, "model_path") == [
        "the refusal is not a JSON object (text/plain; charset=utf-8): 422 model_path is bad"]


def test_an_echo_of_the_request_does_not_name_a_field():
    echo = Reply(422, {"detail": [{"loc": ["body"], "msg": "bad request",
                                   "input": {"model_path": "../x"}}]}, 90, JSON)
    assert refusal_problems(TRAVERSAL, echo, "model_path") == [
        f"the refusal does not say 'model_path': {echo.brief()}"]


def test_a_refusal_past_the_bound_is_named_with_its_size():
    assert refusal_problems(TRAVERSAL, _error("model_path", MAX_REFUSAL_BYTES + 1),
                            "model_path")[0].startswith("the refusal is 8,193 bytes")


def test_a_case_may_allow_the_contracts_two_refusals():
    case = BAD_REQUESTS["a strategy name that climbs out of its folder"]
    assert case.status == "400 or 422"
    unknown = Reply(400, {"detail": "Strategy file not found: ../../../../etc/passwd.yaml"},
                    80, JSON)
    assert refusal_problems(case, unknown, "strategy") == []


def test_no_case_sends_what_it_means_to_send_by_accident():
    assert BAD_REQUESTS["a strategy name of a megabyte"].body == {"strategy_name": MEGABYTE}
    assert BAD_REQUESTS["a capital that is not a number at all"].body.endswith(
        ', "initial_capital": NaN}')
    assert BAD_REQUESTS["a NUL byte in a strategy name"].body["strategy_name"][-1] == "\x00"
    registration = BAD_REQUESTS["a registration without an address"]
    assert registration.worker_id == "canary-hostile-worker"
    assert "endpoint_url" not in registration.body
    assert all(case.job is not None or case.path for case in BAD_REQUESTS.values())


BEFORE = Baseline(3, frozenset({"training-1", "backtesting-1"}),
                  {"backend": (0, 100.0), "training-worker": (1, 50.0)})


def test_nothing_recorded_when_rows_and_workers_are_as_they_were():
    assert recorded_problems(BEFORE, 3, frozenset({"training-1", "backtesting-1"})) == []


def test_a_new_row_and_a_new_worker_are_each_named():
    assert recorded_problems(BEFORE, 4, frozenset({"training-1", "backtesting-1", "x"})) == [
        "the operations table went from 3 to 4 rows", "the registry gained x"]


def test_a_restarted_or_stopped_service_is_named():
    now = {"backend": ("running", 0, 160.0), "training-worker": ("exited", 1, 50.0)}
    assert restart_problems(BEFORE, now) == [
        "backend was restarted (0 → 0 restarts, started again)",
        "training-worker is exited"]
    same = {"backend": ("running", 0, 100.0), "training-worker": ("running", 1, 50.0)}
    assert restart_problems(BEFORE, same) == []


def test_a_generated_run_tells_server_errors_from_answers_its_document_does_not_describe():
    run = GeneratedRun(examples=2, seconds=1.5)
    run.failures = [Failure("GET /x", "positive", "server error", 500, "boom", "curl x"),
                    Failure("GET /y", "negative", "Undocumented status code", 418, "?", "curl y")]
    assert [f.route for f in run.server_errors()] == ["GET /x"]
    assert [f.route for f in run.nonconforming()] == ["GET /y"]
    assert run.server_errors()[0].describe() == (
        "GET /x (positive): server error, answered 500: boom")
    assert run.summary().startswith("2 requests in 1.5 s")


def test_no_valid_request_is_drawn_for_a_route_that_would_act_on_it():
    acting = {"POST /api/v1/trainings/start", "POST /api/v1/backtests/start",
              "POST /api/v1/workers/register"}
    assert {str(r) for r in ROUTES if "positive" in r.modes} & acting == set()


def test_a_drawn_worker_address_never_points_outside_the_backends_own_loopback():
    from types import SimpleNamespace

    from canaryspec.generated import _keep_local

    for drawn, kept in [("http://10.0.0.1:80/x", "http://127.0.0.1:80/x"),
                        ("http://worker", "http://127.0.0.1"),     # still without a port
                        ("http://127.0.0.1:9", "http://127.0.0.1:9"), ("0", "0")]:
        case = SimpleNamespace(body={"endpoint_url": drawn})
        _keep_local(case)
        assert case.body["endpoint_url"] == kept


def test_a_wrong_refusal_is_the_platforms_even_when_it_speaks_of_market_data():
    import pytest

    from canaryspec.errors import WrongRefusal
    from canaryspec.hostile import judge_refusal
    from canaryspec.outcomes import PRODUCT, TEST_DATA, Outcome, category_for

    case = BAD_REQUESTS["a timeframe that climbs out of the data folder"]
    answer = Reply(400, {"detail": "No market data for EURUSD 1h/../../etc/passwd"}, 60, JSON)
    with pytest.raises(WrongRefusal) as raised:
        judge_refusal(case, answer, "timeframe")
    reason = str(raised.value)
    assert reason.startswith("expected 422: 400")
    assert category_for(Outcome.FAILED, reason, "WrongRefusal") is PRODUCT
    assert category_for(Outcome.FAILED, reason, "AssertionError") is TEST_DATA
