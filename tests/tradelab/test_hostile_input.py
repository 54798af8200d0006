"""The backend refuses hostile input before it touches anything, in one bounded JSON shape
(an in-memory database; no worker is ever reached)."""

import json

import pytest
from fastapi.testclient import TestClient

from tests.tradelab.test_jobs_api import _count, _register
from tests.tradelab.test_jobs_api import app as app  # the fixture

MB = "x" * 1_048_576
BACKTEST = {"strategy_name": "v3_minimal", "start_date": "2024-07-01", "end_date": "2024-08-01"}


def _client(app):
    return TestClient(app, raise_server_exceptions=False)


def _refused(response, status, field):
    assert response.status_code == status, response.text[:500]
    assert len(response.content) < 4096, f"{len(response.content)} bytes"
    body = response.json()
    assert body["success"] is False
    fields = [d["field"] for d in body["error"]["details"]] + [body["error"]["field"]]
    assert any(f == field or (f or "").startswith(f"{field}.") for f in fields), body
    return body


@pytest.mark.parametrize(("route", "body", "field"), [
    ("trainings", {"strategy_name": MB}, "strategy_name"),
    ("backtests", {**BACKTEST, "strategy_name": MB}, "strategy_name"),
    ("trainings", {"strategy_name": "v3_minimal", "symbols": [MB]}, "symbols"),
    ("backtests", {**BACKTEST, "symbol": MB}, "symbol"),
    ("trainings", {"strategy_name": "../../etc/passwd"}, "strategy_name"),
    ("trainings", {"strategy_name": "v3_minimal", "symbols": ["../data/EURUSD"]}, "symbols"),
    ("backtests", {**BACKTEST, "symbol": "../data/EURUSD"}, "symbol"),
    ("backtests", {**BACKTEST, "timeframe": "1h/../../x"}, "timeframe"),
    ("trainings", {"strategy_name": "v3_minimal", "symbols": [f"S{i}" for i in range(10_000)]},
     "symbols"),
    ("trainings", {"strategy_name": "v3_minimal\u0000"}, "strategy_name"),
    ("backtests", {**BACKTEST, "symbol": "EUR\nUSD"}, "symbol"),
    ("trainings", {"strategy_name": "v3_minimal", "start_date": "0001-01-01",
                   "end_date": "0001-06-01"}, "start_date"),
    ("trainings", {"strategy_name": "v3_minimal", "start_date": "9999-01-01",
                   "end_date": "9999-06-01"}, "start_date"),
    ("backtests", {**BACKTEST, "initial_capital": "lots"}, "initial_capital"),
    ("backtests", {**BACKTEST, "initial_capital": 1e13}, "initial_capital"),
    ("backtests", {**BACKTEST, "start_date": "2024-09-01"}, "end_date"),
])
def test_a_hostile_job_request_is_422_naming_its_field_and_records_nothing(app, route, body,
                                                                           field):
    _register(app, "training")
    _register(app, "backtesting")
    response = _client(app).post(f"/api/v1/{route}/start", json=body)
    _refused(response, 422, field)
    assert _count(app) == 0 and app.state.sent == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_capital_is_422_not_a_database_error(app, number):
    _register(app, "backtesting")
    raw = json.dumps(BACKTEST)[:-1] + f', "initial_capital": {number}}}'
    response = _client(app).post("/api/v1/backtests/start", content=raw,
                                 headers={"Content-Type": "application/json"})
    _refused(response, 422, "initial_capital")
    assert _count(app) == 0


@pytest.mark.parametrize("model_path", ["../../etc/passwd", "/etc/passwd",
                                        "{models}/../../../etc/passwd", "{models}/../x.pt"])
def test_a_model_path_outside_the_models_volume_is_422(app, model_path):
    _register(app, "backtesting")
    models = app.state.settings.models_dir
    response = _client(app).post("/api/v1/backtests/start", json={
        **BACKTEST, "model_path": model_path.format(models=models)})
    _refused(response, 422, "model_path")
    assert _count(app) == 0 and app.state.sent == []


def test_a_model_path_inside_the_models_volume_is_sent_normalised(app):
    _register(app, "backtesting")
    models = app.state.settings.models_dir
    response = _client(app).post("/api/v1/backtests/start", json={
        **BACKTEST, "model_path": "v3_minimal/../v3_minimal/op_1.pt"})
    assert response.status_code == 200, response.text
    assert app.state.sent[0][2]["model_path"] == str(models / "v3_minimal" / "op_1.pt")


@pytest.mark.parametrize(("url", "field"), [
    ("http://", "endpoint_url"), ("http://worker", "endpoint_url"),
    ("file:///etc/passwd", "endpoint_url"), ("http://worker:99999", "endpoint_url"),
])
def test_a_registration_without_a_usable_address_is_422(app, url, field):
    response = _client(app).post("/api/v1/workers/register", json={
        "worker_id": "w-1", "worker_type": "training", "endpoint_url": url})
    _refused(response, 422, field)
    assert app.state.registry.list() == []


def test_capabilities_that_cannot_be_answered_in_json_are_refused(app):
    raw = ('{"worker_id": "w-1", "worker_type": "training", '
           '"endpoint_url": "http://w:1", "capabilities": {"cores": NaN}}')
    response = _client(app).post("/api/v1/workers/register", content=raw,
                                 headers={"Content-Type": "application/json"})
    _refused(response, 422, "capabilities")


def test_an_operation_id_with_a_nul_byte_is_422(app):
    _refused(_client(app).get("/api/v1/operations/op%00x"), 422, "operation_id")


def test_an_offset_past_any_page_is_422(app):
    _refused(_client(app).get("/api/v1/operations", params={"offset": 10**20}), 422, "offset")


def test_a_form_is_415_naming_the_content_type(app):
    response = _client(app).post("/api/v1/backtests/start", data={"strategy_name": "v3_minimal"})
    _refused(response, 415, "Content-Type")


def test_a_wrong_method_is_405_in_the_error_shape_with_its_allow_header(app):
    response = _client(app).get("/api/v1/trainings/start")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_an_unknown_route_is_404_in_the_error_shape(app):
    response = _client(app).get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_body_past_the_bound_is_413(app):
    response = _client(app).post("/api/v1/trainings/start", content=b"{" + b" " * 5_000_000,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "CONTENT_TOO_LARGE"


def test_an_unexpected_error_is_a_json_500_naming_no_internals(app, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("tradelab.backend.operations.get_operation", broken)
    response = _client(app).get("/api/v1/operations/op_1")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.text


def test_the_openapi_document_names_the_error_shape_for_every_refusal(app):
    document = _client(app).get("/api/v1/openapi.json").json()
    start = document["paths"]["/api/v1/trainings/start"]["post"]["responses"]
    assert {"400", "413", "415", "422", "500", "503"} <= set(start)
    assert start["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
