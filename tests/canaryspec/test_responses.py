"""Where each platform puts what its contract leaves open, read off real response shapes."""

import pytest

from canaryspec.jobs import metric_bounds_problems
from canaryspec.settings import PROFILES

KTRDR = PROFILES["ktrdr"].responses
TRADELAB = PROFILES["tradelab"].responses

# Trimmed from the real platform's answers (a completed v3_minimal training and a backtest).
KTRDR_TRAINING = {"model_path": "/mnt/ktrdr_data/models/v3_minimal/1h_v1",
                  "training_metrics": {"epochs_trained": 10, "final_train_accuracy": 0.53,
                                       "final_val_accuracy": 0.51},
                  "test_metrics": {"test_accuracy": 0.5, "precision": 0.49}}
KTRDR_OPERATION = {"operation_id": "op_training_x", "status": "completed",
                   "metadata": {"symbol": "EURUSD", "parameters": {
                       "worker_id": "training-worker-67486128", "strategy_name": "v3_minimal"}}}
KTRDR_METRICS = {"total_return": 13050.9, "total_return_pct": 0.13, "max_drawdown": 5012.0,
                 "max_drawdown_pct": 0.05, "win_rate": 0.4, "total_trades": 41,
                 "sharpe_ratio": 0.9}
BOUNDS = [("total_trades", 1, None), ("max_drawdown", 0, 1), ("win_rate", 0, 1),
          ("total_return", -1, None), ("sharpe_ratio", None, None)]


def test_ktrdr_accuracy_comes_from_its_own_metric_names():
    assert KTRDR.training_accuracy(KTRDR_TRAINING) == {"training": 0.53, "test": 0.5}


def test_a_missing_metric_says_which_and_what_was_there():
    with pytest.raises(AssertionError, match=r"no numeric training_metrics\.accuracy.*"
                                             r"final_train_accuracy"):
        TRADELAB.training_accuracy(KTRDR_TRAINING)


def test_the_worker_that_ran_an_operation_is_found_where_each_platform_puts_it():
    assert KTRDR.worker_of(KTRDR_OPERATION) == "training-worker-67486128"
    assert TRADELAB.worker_of({"worker_id": "training-worker-1"}) == "training-worker-1"


def test_an_operation_that_names_no_worker_says_where_it_looked():
    with pytest.raises(AssertionError, match=r"names no worker \(looked at worker_id, "
                                             r"metadata\.worker_id\)"):
        TRADELAB.worker_of(KTRDR_OPERATION)


def test_ktrdr_metric_bounds_read_its_fractions_not_its_currency():
    assert metric_bounds_problems(KTRDR_METRICS, BOUNDS, KTRDR) == []
    wrong = metric_bounds_problems(KTRDR_METRICS, BOUNDS, TRADELAB)
    assert wrong == ["max_drawdown = 5012.0 is outside [0.0, 1.0]".replace(".0, 1.0", ", 1")]


def test_a_ktrdr_model_path_is_a_directory_holding_the_model():
    assert KTRDR.model_file_of("/mnt/ktrdr_data/models/v3_minimal/1h_v1") == \
        "/mnt/ktrdr_data/models/v3_minimal/1h_v1/model.pt"
    assert TRADELAB.model_file_of("/m/v3_minimal/op.pt") == "/m/v3_minimal/op.pt"
