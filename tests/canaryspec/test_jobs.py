from canaryspec.api import Reply, operation_id_of
from canaryspec.jobs import BAD_REQUESTS, metric_bounds_problems


def test_operation_id_comes_from_task_id_or_operation_id():
    assert operation_id_of(Reply(200, {"task_id": "op_training_x"})) == "op_training_x"
    assert operation_id_of(Reply(200, {"operation_id": "op_b"})) == "op_b"
    assert operation_id_of(Reply(400, "boom")) is None


def test_metric_bounds_name_each_problem():
    metrics = {"total_trades": 0, "max_drawdown": 0.2, "win_rate": "n/a"}
    problems = metric_bounds_problems(metrics, [("total_trades", 1, None),
                                                ("max_drawdown", 0, 1), ("win_rate", 0, 1),
                                                ("sharpe_ratio", None, None)])
    assert problems == ["total_trades = 0 is outside [1, None]",
                        "win_rate is missing or not a number ('n/a')",
                        "sharpe_ratio is missing or not a number (None)"]


def test_every_bad_request_expects_a_client_error():
    assert all(400 <= case.status < 500 for case in BAD_REQUESTS.values())
