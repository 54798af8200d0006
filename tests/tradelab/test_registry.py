from tradelab.backend.registry import Worker, WorkerRegistry, WorkerStatus, WorkerType


def _worker(worker_id="training-worker-1", url="http://training-worker:5004", answered=True):
    return Worker(worker_id=worker_id, worker_type=WorkerType.TRAINING, endpoint_url=url,
                  answered=answered)


def test_a_new_registration_is_not_available_until_its_health_check_answers():
    registry = WorkerRegistry()
    registry.register(_worker(answered=False))
    assert registry.get("training-worker-1").status == WorkerStatus.TEMPORARILY_UNAVAILABLE
    registry.record_health("training-worker-1", {"healthy": True, "worker_status": "idle"})
    assert registry.get("training-worker-1").status == WorkerStatus.AVAILABLE


def test_a_registration_that_never_answers_is_forgotten_after_the_failures_allowed():
    registry = WorkerRegistry(failures_before_unavailable=3)
    registry.register(_worker(answered=False))
    for _ in range(2):
        registry.record_health("training-worker-1", None)
    assert registry.get("training-worker-1").status == WorkerStatus.TEMPORARILY_UNAVAILABLE
    registry.record_health("training-worker-1", None)
    assert registry.get("training-worker-1") is None


def test_re_registering_a_worker_that_answered_keeps_it_available():
    registry = WorkerRegistry()
    registry.register(_worker(answered=False))
    registry.record_health("training-worker-1", {"healthy": True, "worker_status": "idle"})
    registry.register(_worker(answered=False))
    assert registry.get("training-worker-1").status == WorkerStatus.AVAILABLE


def test_a_busy_registration_that_never_answered_is_not_offered_jobs_once_free():
    registry = WorkerRegistry()
    registry.register(Worker("training-worker-1", WorkerType.TRAINING, "http://t:5004",
                             current_operation_id="op_1"))
    assert registry.get("training-worker-1").status == WorkerStatus.BUSY
    registry.release("training-worker-1", "op_1")
    assert registry.get("training-worker-1").status == WorkerStatus.TEMPORARILY_UNAVAILABLE


def test_register_same_id_updates_in_place():
    registry = WorkerRegistry()
    registry.register(_worker())
    registry.register(_worker())
    assert [w.worker_id for w in registry.list()] == ["training-worker-1"]


def test_register_new_id_at_known_url_replaces_old_entry():
    registry = WorkerRegistry()
    registry.register(_worker("training-worker-old"))
    registry.register(_worker("training-worker-new"))
    assert registry.get("training-worker-old") is None
    assert registry.get("training-worker-new") is not None


def test_record_health_marks_unavailable_after_three_failures_and_restores():
    registry = WorkerRegistry(failures_before_unavailable=3)
    registry.register(_worker())
    for _ in range(2):
        registry.record_health("training-worker-1", None)
    assert registry.get("training-worker-1").status == WorkerStatus.AVAILABLE
    registry.record_health("training-worker-1", None)
    assert registry.get("training-worker-1").status == WorkerStatus.TEMPORARILY_UNAVAILABLE
    registry.record_health("training-worker-1", {"healthy": True, "worker_status": "idle"})
    assert registry.get("training-worker-1").status == WorkerStatus.AVAILABLE


def test_record_health_busy_worker_reports_its_operation():
    registry = WorkerRegistry()
    registry.register(_worker())
    registry.record_health("training-worker-1", {"healthy": True, "worker_status": "busy",
                                                 "current_operation": "op_1"})
    worker = registry.get("training-worker-1")
    assert worker.status == WorkerStatus.BUSY
    assert worker.current_operation_id == "op_1"


def test_record_health_removes_worker_unhealthy_too_long():
    registry = WorkerRegistry(removal_after_s=0.0)
    registry.register(_worker())
    registry.record_health("training-worker-1", None)
    assert registry.get("training-worker-1") is None


def test_list_filters_by_type_and_status():
    registry = WorkerRegistry()
    registry.register(_worker())
    registry.register(Worker("backtesting-worker-1", WorkerType.BACKTESTING, "http://b:5003"))
    assert [w.worker_id for w in registry.list(WorkerType.BACKTESTING)] == ["backtesting-worker-1"]
    assert registry.list(status=WorkerStatus.BUSY) == []


def _dispatched_then_polled_idle(grace_s: float) -> WorkerRegistry:
    """A job is assigned; a poll sent after the dispatch, before the job reached the worker,
    comes back "idle"."""
    registry = WorkerRegistry(dispatch_grace_s=grace_s)
    registry.register(_worker())
    registry.assign("training-worker-1", "op_1")
    registry.record_health("training-worker-1", {"healthy": True, "worker_status": "idle"},
                           polled_at=registry.get("training-worker-1").last_dispatched_at + 1)
    return registry


def test_an_idle_poll_right_after_a_dispatch_does_not_free_the_worker():
    registry = _dispatched_then_polled_idle(grace_s=60)
    assert registry.get("training-worker-1").status == WorkerStatus.BUSY
    registry.release("training-worker-1", "op_1")
    assert registry.get("training-worker-1").status == WorkerStatus.AVAILABLE


def test_a_report_that_never_comes_is_covered_by_the_grace():
    registry = _dispatched_then_polled_idle(grace_s=0)
    assert registry.get("training-worker-1").status == WorkerStatus.AVAILABLE


def test_an_operation_no_worker_claims_is_overdue_after_the_timeout():
    from tradelab.backend.sweeper import UnclaimedOperations

    now = [0.0]
    registry = WorkerRegistry()
    registry.register(_worker())
    registry.assign("training-worker-1", "op_claimed")
    sweeper = UnclaimedOperations(fail_after_s=60, clock=lambda: now[0])
    active = {"op_claimed": "training-worker-1", "op_orphan": "training-worker-gone"}
    assert sweeper.overdue(active, registry) == []
    now[0] = 59.0
    assert sweeper.overdue(active, registry) == []
    now[0] = 60.0
    assert sweeper.overdue(active, registry) == ["op_orphan"]
