"""The backend's job routes against an in-memory database and a faked worker hand-off."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from tradelab import marketdata
from tradelab.backend.registry import Worker, WorkerType
from tradelab.db.models import Base, Operation


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "models"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "EURUSD_1h.csv").write_text("timestamp,open,high,low,close,volume\n")
    from tradelab.backend import app as app_module
    from tradelab.settings import BackendSettings

    application = app_module.create_app(BackendSettings())
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    application.state.engine = engine
    sent = []

    async def fake_send_job(client, worker, path, payload):
        sent.append((worker.worker_id, path, payload))
        return {"success": True, "operation_id": payload["task_id"], "status": "started"}

    monkeypatch.setattr("tradelab.backend.routes.jobs.send_job", fake_send_job)
    application.state.sent = sent
    return application


def _count(app):
    with Session(app.state.engine) as session:
        return session.scalar(select(func.count()).select_from(Operation))


def _register(app, worker_type="training"):
    # A worker whose health check has answered (only such a worker is offered jobs).
    app.state.registry.register(Worker(f"{worker_type}-worker-1", WorkerType(worker_type),
                                       f"http://{worker_type}:5000", answered=True))


def test_unknown_strategy_is_400_naming_valid_ones_and_persists_nothing(app):
    response = TestClient(app).post("/api/v1/trainings/start",
                                    json={"strategy_name": "neuro_mean_reversion"})
    assert response.status_code == 400
    assert "v3_minimal" in response.json()["detail"]
    assert _count(app) == 0


@pytest.mark.parametrize("body", [
    {"strategy_name": "v3_minimal", "symbols": []},
    {"strategy_name": "v3_minimal", "timeframes": []},
    {"strategy_name": "v3_minimal", "start_date": "soon", "end_date": "2024-01-01"},
    {"strategy_name": "v3_minimal", "start_date": "2024-06-01", "end_date": "2024-01-01"},
])
def test_invalid_training_requests_are_422_and_persist_nothing(app, body):
    response = TestClient(app).post("/api/v1/trainings/start", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert _count(app) == 0


def test_symbol_without_data_is_400_listing_what_exists(app):
    response = TestClient(app).post("/api/v1/trainings/start",
                                    json={"strategy_name": "v3_minimal", "symbols": ["NOPE"]})
    assert response.status_code == 400
    assert "No market data for NOPE 1h" in response.json()["detail"]
    assert "EURUSD 1h" in response.json()["detail"]


def test_no_worker_of_the_type_is_503_naming_the_type(app):
    response = TestClient(app).post("/api/v1/trainings/start", json={"strategy_name": "v3_minimal"})
    assert response.status_code == 503
    assert response.json()["detail"]["worker_type"] == "training"
    assert _count(app) == 0


def test_accepted_training_is_persisted_and_marks_the_worker_busy(app):
    _register(app)
    client = TestClient(app)
    response = client.post("/api/v1/trainings/start", json={"strategy_name": "v3_minimal"})
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    assert task_id.startswith("op_training_")
    assert app.state.sent[0][1] == "/training/start"
    assert app.state.registry.get("training-worker-1").status == "busy"
    op = client.get(f"/api/v1/operations/{task_id}").json()["data"]
    assert (op["status"], op["worker_id"]) == ("running", "training-worker-1")
    second = client.post("/api/v1/trainings/start", json={"strategy_name": "v3_minimal"})
    assert second.status_code == 503
    assert second.json()["detail"]["busy_workers"] == 1


def test_final_report_completes_the_operation_and_frees_the_worker(app):
    _register(app)
    client = TestClient(app)
    task_id = client.post("/api/v1/trainings/start",
                          json={"strategy_name": "v3_minimal"}).json()["task_id"]
    report = {"worker_id": "training-worker-1", "status": "completed", "percentage": 100,
              "current_step": "completed", "result_summary": {"model_path": "/m.pt"}}
    assert client.post(f"/api/v1/operations/{task_id}/report", json=report).status_code == 200
    assert app.state.registry.get("training-worker-1").status == "available"
    results = client.get(f"/api/v1/operations/{task_id}/results").json()
    assert results["results"] == {"model_path": "/m.pt"}
    cancel = client.delete(f"/api/v1/operations/{task_id}")
    assert cancel.status_code == 400
    assert "completed" in cancel.json()["detail"]
    listed = client.get("/api/v1/operations", params={"operation_type": "training"}).json()
    assert listed["total_count"] == 1 and listed["active_count"] == 0


def test_unknown_operation_is_404(app):
    response = TestClient(app).get("/api/v1/operations/op_nothing")
    assert response.status_code == 404
    assert response.json()["detail"] == "Operation not found: op_nothing"


def test_strategies_lists_the_shipped_ones(app):
    names = [s["name"] for s in TestClient(app).get("/api/v1/strategies").json()["strategies"]]
    assert names == ["v3_minimal", "v3_multi_symbol", "v3_single_indicator"]


def test_backtest_without_end_date_is_422(app):
    response = TestClient(app).post("/api/v1/backtests/start",
                                    json={"strategy_name": "v3_minimal",
                                          "start_date": "2024-01-01"})
    assert response.status_code == 422
    assert any(d["field"] == "end_date" for d in response.json()["error"]["details"])


def test_market_data_is_deterministic(tmp_path):
    first = marketdata.write_series(tmp_path, "EURUSD", "1d").read_bytes()
    again = marketdata.write_series(tmp_path, "EURUSD", "1d").read_bytes()
    assert first == again and first.count(b"\n") > 700


def test_seeding_writes_data_and_the_shipped_strategies(tmp_path):
    from tradelab.seed import seed_storage

    written = {p.relative_to(tmp_path).as_posix() for p in seed_storage(tmp_path)}
    assert {"data/EURUSD_1h.csv", "data/AAPL_1d.csv", "strategies/v3_minimal.yaml",
            "strategies/v3_multi_symbol.yaml"} <= written


def test_a_cancelled_report_with_a_checkpoint_keeps_it(app):
    from tradelab.db.models import OperationCheckpoint

    _register(app)
    client = TestClient(app)
    task_id = client.post("/api/v1/trainings/start",
                          json={"strategy_name": "v3_minimal"}).json()["task_id"]
    client.delete(f"/api/v1/operations/{task_id}")
    report = {"worker_id": "training-worker-1", "status": "cancelled",
              "checkpoint": {"steps_completed": 3, "steps_total": 40}}
    assert client.post(f"/api/v1/operations/{task_id}/report", json=report).status_code == 200
    with Session(app.state.engine) as session:
        states = session.scalars(select(OperationCheckpoint.state)).all()
    assert states == [{"steps_completed": 3, "steps_total": 40}]
    assert app.state.registry.get("training-worker-1").status == "available"


def test_a_report_from_a_worker_the_backend_forgot_says_so(app):
    _register(app)
    client = TestClient(app)
    task_id = client.post("/api/v1/trainings/start",
                          json={"strategy_name": "v3_minimal"}).json()["task_id"]
    report = {"worker_id": "training-worker-1", "status": "running", "percentage": 10}
    known = client.post(f"/api/v1/operations/{task_id}/report", json=report).json()
    assert known["worker_registered"] is True
    # A restarted backend has an empty registry: the same worker is unknown to it.
    app.state.registry._workers.clear()
    forgotten = client.post(f"/api/v1/operations/{task_id}/report", json=report).json()
    assert forgotten["worker_registered"] is False
