from canaryspec.api import Reply, operation_id_of
from canaryspec.jobs import BAD_REQUESTS, metric_bounds_problems, send_bad_request
from canaryspec.responses import Responses


def test_operation_id_comes_from_task_id_or_operation_id():
    assert operation_id_of(Reply(200, {"task_id": "op_training_x"})) == "op_training_x"
    assert operation_id_of(Reply(200, {"operation_id": "op_b"})) == "op_b"
    assert operation_id_of(Reply(400, "boom")) is None


def test_metric_bounds_name_each_problem():
    metrics = {"total_trades": 0, "max_drawdown": 0.2, "win_rate": "n/a"}
    problems = metric_bounds_problems(metrics, [("total_trades", 1, None),
                                                ("max_drawdown", 0, 1), ("win_rate", 0, 1),
                                                ("sharpe_ratio", None, None)], Responses())
    assert problems == ["total_trades = 0 is outside [1, None]",
                        "win_rate is missing or not a number ('n/a')",
                        "sharpe_ratio is missing or not a number (None)"]


class _RecordingClient:
    def __init__(self):
        self.calls = []

    def request(self, method, path, json_body=None):
        self.calls.append((path, json_body))

    def send_raw(self, method, path, content):
        self.calls.append((path, content))


def test_bad_requests_go_to_their_job_route_as_written():
    client = _RecordingClient()
    for case in BAD_REQUESTS.values():
        send_bad_request(client, case)
    assert ("/api/v1/backtests/start",
            BAD_REQUESTS["a backtest without an end date"].body) in client.calls
    assert ("/api/v1/trainings/start", BAD_REQUESTS["malformed JSON"].body) in client.calls
    assert len(client.calls) == len(BAD_REQUESTS)
