"""The fault library's judgements, against fake canaries (no engine needed)."""

from types import SimpleNamespace

import pytest

from canaryspec import faults
from canaryspec.handle import RegisteredWorker
from canaryspec.waiting import WaitTimeout


class FakeCanary:
    def __init__(self, restarts, services=("db", "backend", "training-worker",
                                           "backtest-worker")):
        self._restarts = restarts
        self.all_services = services
        self.started = []

    def restarts(self, service):
        return (*self._restarts[service], "running")

    def start(self, service):
        self.started.append(service)
        return False

    def evidence(self, services=None):
        return "log tail"


def _worker(worker_id, worker_type, status, current=None):
    return RegisteredWorker.of({"worker_id": worker_id, "worker_type": worker_type,
                                "endpoint_url": "http://x:1", "status": status,
                                "current_operation_id": current})


class FakeHandle:
    def __init__(self, canary, workers):
        self.canary = canary
        self.workers = workers
        self.deadlines = SimpleNamespace(ready=1, recovery=0.01)
        self.reconnected = 0

    def registered_workers(self, kind=None):
        return [w for w in self.workers if kind is None or w.worker_type == kind.worker_type]

    def evidence(self, *services):
        return lambda: "log tail"

    def operation(self, operation_id):
        return None

    def reconnect(self):
        self.reconnected += 1

    def wait_until_answering(self):
        return None


def test_a_worker_container_started_again_is_named_as_restarted():
    canary = FakeCanary({"training-worker": (0, "t0"), "backtest-worker": (0, "t0")})
    handle = FakeHandle(canary, [])
    before = faults.marks(handle)
    canary._restarts["training-worker"] = (0, "t1")
    restarted = faults.restarted_since(handle, before)
    assert len(restarted) == 1 and restarted[0].startswith("training-worker")


def test_untouched_containers_are_not_restarted():
    canary = FakeCanary({"backend": (2, "t0")})
    handle = FakeHandle(canary, [])
    assert faults.restarted_since(handle, faults.marks(handle, ["backend"])) == []


def test_every_worker_available_waits_for_each_type():
    handle = FakeHandle(FakeCanary({}), [_worker("t1", "training", "available"),
                                         _worker("b1", "backtesting", "busy")])
    with pytest.raises(WaitTimeout) as raised:
        faults.every_worker_available(handle, timeout=0.01)
    assert "no available backtesting worker" in str(raised.value)
    handle.workers[1] = _worker("b1", "backtesting", "available")
    assert len(faults.every_worker_available(handle, timeout=0.01)) == 2


def test_a_silent_worker_is_unavailable_whatever_the_platform_calls_it():
    worker = _worker("t1", "training", "temporarily_unavailable")
    handle = FakeHandle(FakeCanary({}), [worker])
    assert faults.marked_unavailable(handle, worker, timeout=0.01) == "temporarily_unavailable"
    handle.workers = []
    assert faults.marked_unavailable(handle, worker, timeout=0.01) == "absent"


def test_a_worker_still_on_offer_is_not_unavailable():
    worker = _worker("t1", "training", "available")
    with pytest.raises(WaitTimeout):
        faults.marked_unavailable(FakeHandle(FakeCanary({}), [worker]), worker, timeout=0.01)


def test_a_registered_worker_names_the_operation_it_runs():
    worker = _worker("t1", "training", "busy", current="op_1")
    assert worker.current_operation == "op_1"
    assert _worker("t1", "training", "available").current_operation is None


def test_only_a_shutdown_that_ran_to_its_end_counts_as_the_workers_own():
    graceful = ("INFO:     Shutting down\nINFO:     Waiting for application shutdown.\n"
                "INFO:     Application shutdown complete.\nINFO:     Finished server process")
    killed = "INFO tradelab.worker: registered training-worker-1 at http://training-worker:5004"
    assert faults.shut_down_by_itself(graceful)
    assert not faults.shut_down_by_itself(killed)


def test_restore_without_workers_waits_for_the_backend_only():
    canary = FakeCanary({}, services=("db", "backend"))
    handle = FakeHandle(canary, [])
    faults.restore(handle)
    assert canary.started == ["db", "backend"]
    assert handle.reconnected == 1
