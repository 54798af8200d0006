from canaryspec.api import PlatformClient, Reply
from canaryspec.jobs import BAD_REQUESTS, metric_bounds_problems
from canaryspec.responses import Responses


def test_operation_id_comes_from_task_id_or_operation_id():
    assert Reply(200, {"task_id": "op_training_x"}).operation_id == "op_training_x"
    assert Reply(200, {"operation_id": "op_b"}).operation_id == "op_b"
    assert Reply(400, "boom").operation_id is None


def test_metric_bounds_name_each_problem():
    metrics = {"total_trades": 0, "max_drawdown": 0.2, "win_rate": "n/a"}
    problems = metric_bounds_problems(metrics, [("total_trades", 1, None),
                                                ("max_drawdown", 0, 1), ("win_rate", 0, 1),
                                                ("sharpe_ratio", None, None)], Responses())
    assert problems == ["total_trades = 0 is outside [1, None]",
                        "win_rate is missing or not a number ('n/a')",
                        "sharpe_ratio is missing or not a number (None)"]


def test_bad_requests_go_to_their_route_as_written():
    sent = []
    client = PlatformClient.__new__(PlatformClient)
    client.request = lambda method, path, **kwargs: sent.append((method, path, kwargs))
    for case in BAD_REQUESTS.values():
        client.send(case.method, case.route, case.body, case.content_type)
    assert ("POST", "/api/v1/backtests/start",
            {"json_body": BAD_REQUESTS["a backtest without an end date"].body}) in sent
    assert ("POST", "/api/v1/trainings/start",
            {"raw_body": BAD_REQUESTS["malformed JSON"].body,
             "content_type": "application/json"}) in sent
    assert ("POST", "/api/v1/backtests/start",
            {"raw_body": "strategy_name=v3_minimal&symbol=EURUSD",
             "content_type": "application/x-www-form-urlencoded"}) in sent
    assert ("GET", "/api/v1/trainings/start", {}) in sent
    assert len(sent) == len(BAD_REQUESTS)


def _listing(filters, entries, total, active, limit=1000):
    from canaryspec.jobs import OperationsList
    return OperationsList(filters, entries, total, active, limit)


def test_an_operations_list_that_holds_together_has_no_problem():
    entries = [{"operation_id": "a", "status": "completed", "operation_type": "training"},
               {"operation_id": "b", "status": "running", "operation_type": "backtesting"}]
    assert _listing({}, entries, 2, 1).problems() == []


def test_an_operations_list_names_what_does_not_add_up():
    entries = [{"operation_id": "a", "status": "cancelled", "operation_type": "training"}]
    assert _listing({"status": "completed"}, entries, 1, 0).problems() == [
        "a is cancelled, listed under status=completed"]
    assert _listing({}, entries, 1, 1).problems() == [
        "active_count is 1 but 0 of the 1 operations listed are active"]
    assert _listing({}, entries, 0, 0).problems() == [
        "total_count 0 is less than the 1 entries listed"]
    assert "reports no totals" in _listing({}, entries, None, 0).problems()[0]


def test_a_filtered_list_that_holds_all_it_selects_must_count_exactly_that():
    entries = [{"operation_id": "a", "status": "completed", "operation_type": "training"}]
    # Counting every operation whatever the filter: more than the list selects.
    assert _listing({"status": "completed"}, entries, 3, 0).problems() == [
        "total_count is 3 but the list under {'status': 'completed'} holds 1 entries, all it "
        "selects (fewer than its limit of 1000)"]
    # A full page may not be all of it: more counted than listed is then no problem.
    assert _listing({"status": "completed"}, entries, 3, 0, limit=1).problems() == []
    # active_count counts every active operation: not judged on a filtered list.
    assert _listing({"status": "completed"}, entries, 1, 2).problems() == []


def test_an_active_only_list_holds_only_active_operations():
    entries = [{"operation_id": "a", "status": "completed", "operation_type": "training"},
               {"operation_id": "b", "status": "running", "operation_type": "training"}]
    # The filter dropped: a finished operation listed among the active ones.
    assert _listing({"active_only": True}, entries, 2, 1).problems() == [
        "a is completed, listed under active_only"]
    assert _listing({"active_only": True}, entries[1:], 1, 1).problems() == []


def _entry(op_id, created):
    return {"operation_id": op_id, "created_at": created}


def test_a_list_newest_first_with_the_last_started_at_its_head_has_no_order_problem():
    from canaryspec.jobs import OperationsList
    entries = [_entry("op_b", "2026-12-07T10:00:02.5+00:00"),
               _entry("op_t", "2026-12-07T10:00:02Z"), _entry("op_x", "2026-12-07T09:00:00")]
    assert OperationsList({}, entries, 3, 0, 1000).order_problems("op_b") == []
    # A tie with the newest may come first.
    tied = [_entry("op_y", "2026-12-07T10:00:02.5+00:00"), *entries]
    assert OperationsList({}, tied, 4, 0, 1000).order_problems("op_b") == []


def test_a_list_in_another_order_says_which_entries_are_out_of_place():
    from canaryspec.jobs import OperationsList
    by_id = [_entry("op_training_1", "2026-12-07T10:00:01Z"),
             _entry("op_backtesting_2", "2026-12-07T10:00:02Z")]
    problems = OperationsList({}, by_id, 2, 0, 1000).order_problems("op_backtesting_2")
    assert problems == [
        "op_backtesting_2, started last, is at position 2; the list starts with "
        "['op_training_1', 'op_backtesting_2']",
        "op_backtesting_2 (created 2026-12-07 10:00:02+00:00) is listed after op_training_1 "
        "(created 2026-12-07 10:00:01+00:00)"]
    unreadable = OperationsList({}, [_entry("op_a", None)], 1, 0, 1000).order_problems("op_a")
    assert unreadable == ["1 entries have no readable created_at: ['op_a']"]


def test_pages_that_are_slices_of_the_whole_list_have_no_problem():
    from canaryspec.jobs import paging_problems
    whole = ["op5", "op4", "op3", "op2", "op1"]
    pages = [(0, 2, ["op5", "op4"], 5), (2, 2, ["op3", "op2"], 5), (4, 2, ["op1"], 5),
             (6, 2, [], 5)]
    assert paging_problems(whole, pages, 5) == []


def test_an_ignored_or_refused_offset_is_a_paging_problem():
    from canaryspec.jobs import paging_problems
    whole = ["op3", "op2", "op1"]
    ignored = paging_problems(whole, [(0, 2, ["op3", "op2"], 3), (2, 2, ["op3", "op2"], 3)], 3)
    assert ignored == ["offset=2&limit=2 gave ['op3', 'op2'], where the whole list holds "
                       "['op1'] there"]
    off_by_one = paging_problems(whole, [(0, 2, ["op2", "op1"], 3)], 3)
    assert "offset=0&limit=2 gave ['op2', 'op1']" in off_by_one[0]


def test_a_page_that_counts_only_itself_is_a_paging_problem():
    from canaryspec.jobs import paging_problems
    whole = ["op3", "op2", "op1"]
    pages = [(0, 2, ["op3", "op2"], 2), (2, 2, ["op1"], 1), (4, 2, [], 0)]
    assert paging_problems(whole, pages, 3) == [
        "offset=0&limit=2 reports total_count 2, where the whole list holds 3 operations",
        "offset=2&limit=2 reports total_count 1, where the whole list holds 3 operations",
        "offset=4&limit=2 reports total_count 0, where the whole list holds 3 operations"]
    assert paging_problems(whole, pages, None) == []



def test_a_fresh_worker_id_has_the_contracts_form_and_no_other():
    import re

    from canaryspec.vocabulary import WORKERS
    form = WORKERS["training"].fresh_id
    assert re.fullmatch(form, "training-worker-1a2b3c4d")
    for other in ("training-worker-1a2b3c4d5e6f7a8b", "backtesting-worker-1a2b3c4d",
                  "training-worker-1A2B3C4D", "worker-1a2b3c4d"):
        assert not re.fullmatch(form, other), other


def test_settling_jobs_cancels_every_one_before_waiting_for_their_workers():
    """A platform that took two trainings on one worker: waiting for the worker after the first
    cancel would wait for a worker still busy with the second."""
    from types import SimpleNamespace

    from canaryspec.handle import CanaryHandle
    calls = []
    handle = CanaryHandle.__new__(CanaryHandle)
    handle.settings = SimpleNamespace(deadlines=SimpleNamespace(worker_free=1))
    handle.operation = lambda op_id: SimpleNamespace(status="completed" if op_id == "op3"
                                                     else "running")
    handle.cancel = lambda job: calls.append(("cancel", job.operation_id))
    handle.available_worker = lambda worker, timeout: calls.append(("wait", worker))
    jobs = [SimpleNamespace(accepted=True, operation_id=f"op{i}",
                            job=SimpleNamespace(worker="training")) for i in (1, 2, 3)]
    refused = SimpleNamespace(accepted=False, operation_id=None, job=None)
    assert handle.settle(*jobs, refused) == ["op1", "op2"]
    assert calls == [("cancel", "op1"), ("cancel", "op2"), ("wait", "training")]
