"""The suite's own arithmetic over the seeded bars (canaryspec.oracle): known by hand on small
series, and telling a wrong account from the right one."""

from datetime import UTC, datetime, timedelta

import pytest

from canaryspec import jobs, oracle
from canaryspec.seeding import PERIODS
from canaryspec.settings import PROFILES
from canaryspec.step_types import parse_costs


def bars_of(closes: list[float]) -> list[oracle.SeededBar]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [oracle.SeededBar(start + timedelta(hours=k), c) for k, c in enumerate(closes)]


def test_rsi_is_wilders_on_hand_worked_series() -> None:
    # Two moves up of 1, then one down of 1: the first average (n=2) is up 1, down 0 -> 1.0;
    # then up (1*1+0)/2 = 0.5, down (0*1+1)/2 = 0.5 -> 0.5.
    assert oracle.input_values("rsi_2", [1.0, 2.0, 3.0, 2.0]) == [None, None, 1.0, 0.5]


def test_sma_distance_and_return_in_percent() -> None:
    assert oracle.input_values("sma_2", [1.0, 3.0]) == [None, pytest.approx(50.0)]
    assert oracle.input_values("return_1", [2.0, 3.0]) == [None, pytest.approx(50.0)]


def test_an_unknown_input_is_a_suite_error_naming_it() -> None:
    with pytest.raises(ValueError, match="macd_12"):
        oracle.input_values("macd_12", [1.0, 2.0])


def test_learning_rows_skip_the_warm_up_and_the_last_bar() -> None:
    bars = bars_of([1.0, 2.0, 1.0, 2.0, 1.0, 2.0])
    expected = oracle.expected_learning(bars, ("rsi_2",))
    # rsi_2 is defined from the third bar; the last has no next bar: rows 2, 3, 4.
    assert (expected["rows"], expected["first"], expected["last"]) == \
        (3, bars[2].timestamp, bars[4].timestamp)
    assert expected["rising"] == pytest.approx(2 / 3)


def test_the_right_account_has_no_problem_and_a_wrong_one_says_what_broke() -> None:
    bars = bars_of([1.0, 2.0, 1.5, 2.5, 1.0, 2.0, 1.8])
    expected = oracle.expected_learning(bars, ("rsi_2", "return_1"))
    right = {"rows": expected["rows"], "first": expected["first"].isoformat(),
             "last": expected["last"].isoformat(), "rising": expected["rising"],
             "inputs": expected["inputs"]}
    assert oracle.learning_problems(right, expected) == []
    scaled = {**right, "inputs": {**right["inputs"], "rsi_2": {
        "mean": expected["inputs"]["rsi_2"]["mean"] / 0.99,
        "std": expected["inputs"]["rsi_2"]["std"]}}}
    assert any("rsi_2 has mean" in p for p in oracle.learning_problems(scaled, expected))
    shifted = {**right, "rows": right["rows"] + 1}
    assert any("other dates" in p for p in oracle.learning_problems(shifted, expected))


def test_metrics_of_one_trade_at_stated_costs() -> None:
    # return_1 is defined from bar 1; rows 1..3. Long over rows 1 and 2 (exit at row 3).
    bars = bars_of([100.0, 100.0, 110.0, 121.0, 121.0])
    costs = oracle.Costs(initial_capital=1000.0, commission=0.01, slippage=0.0)
    trades = [{"entry": bars[1].timestamp.isoformat(), "exit": bars[3].timestamp.isoformat()}]
    expected, problems = oracle.expected_metrics(bars, ("return_1",), trades, costs)
    assert problems == []
    assert expected["final_equity"] == pytest.approx(1000 * 0.99 * 1.1 * 1.1 * 0.99)
    assert (expected["total_trades"], expected["win_rate"]) == (1, 1.0)
    reported = {k: expected[k] for k in oracle.METRIC_PLACES}
    decided = {"rows": 3, "first": bars[1].timestamp.isoformat(),
               "last": bars[3].timestamp.isoformat()}
    assert oracle.metric_problems(reported, decided, expected) == []
    at_default_costs = {**reported, "total_return": reported["total_return"] + 0.01}
    assert any("total_return" in p for p in
               oracle.metric_problems(at_default_costs, decided, expected))


def test_a_trade_off_the_decided_bars_is_named() -> None:
    bars = bars_of([100.0, 101.0, 102.0, 103.0])
    costs = oracle.Costs(1000.0, 0.0, 0.0)
    _, problems = oracle.expected_metrics(bars, ("return_1",), [{"entry": "2030-01-01T00:00:00",
                                                                 "exit": None}], costs)
    assert problems and "trade 1" in problems[0]


def test_costs_read_as_the_features_write_them() -> None:
    assert parse_costs("a commission of 0.2 %, slippage of 0.1 % and 50,000 of capital") == \
        oracle.Costs(initial_capital=50_000.0, commission=0.002, slippage=0.001)


def test_a_training_split_other_than_four_to_one_is_named() -> None:
    summary = {"learned_from": [{"symbol": "EURUSD", "rows": 100}],
               "training_metrics": {"samples": 90}, "test_metrics": {"samples": 10}}
    assert "trained on 90" in (jobs.held_out_problem(summary) or "")
    summary["training_metrics"]["samples"], summary["test_metrics"]["samples"] = 80, 20
    assert jobs.held_out_problem(summary) is None


def test_a_training_on_another_symbol_is_named() -> None:
    model = jobs.ModelSpec("v3_minimal", "EURUSD", PERIODS["the training quarter"])
    _, problems = jobs.learned_from_problems(PROFILES["tradelab"].market_data, model,
                                             {"learned_from": [{"symbol": "GBPUSD"}]})
    assert problems and "GBPUSD" in problems[0]
