import subprocess
import sys

from fastapi.testclient import TestClient


def test_backend_imports_without_torch():
    # A fresh interpreter: this test process may have imported anything.
    code = "import sys, tradelab.backend.app; assert 'torch' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _client():
    from tradelab.backend.app import create_app

    return TestClient(create_app())  # no `with`: the worker poller stays off


def test_register_worker_then_read_it_back():
    client = _client()
    body = {"worker_id": "training-worker-abcd1234", "worker_type": "training",
            "endpoint_url": "http://training-worker:5004"}
    created = client.post("/api/v1/workers/register", json=body)
    assert created.status_code == 200
    # Offered jobs only once its first health check answers (nothing answers here).
    assert created.json()["status"] == "temporarily_unavailable"
    listed = client.get("/api/v1/workers", params={"worker_type": "training"}).json()
    assert [w["worker_id"] for w in listed] == ["training-worker-abcd1234"]
    assert client.get("/api/v1/workers/training-worker-abcd1234").status_code == 200


def test_unknown_worker_is_404_naming_it():
    response = _client().get("/api/v1/workers/nobody")
    assert response.status_code == 404
    assert response.json() == {
        "success": False, "detail": "Worker not found: nobody",
        "error": {"code": "NOT_FOUND", "message": "Worker not found: nobody", "field": None,
                  "details": []}}


def test_invalid_worker_type_is_422_in_contract_shape():
    response = _client().post("/api/v1/workers/register", json={
        "worker_id": "x", "worker_type": "mining", "endpoint_url": "http://x:1"})
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert any(d["field"] == "worker_type" for d in body["error"]["details"])
