"""The seeded market data as an oracle, and the whole-life judgement of a job: pure functions."""

import itertools
from dataclasses import replace
from datetime import date
from types import SimpleNamespace

import pytest

from canaryspec.canary import Canary, ComposeModel
from canaryspec.jobs import KnownAnswer, ModelSpec, ProgressSample, life_problems, moment_problems
from canaryspec.responses import Responses
from canaryspec.seeding import PERIODS, MarketData, Period, planted_pattern

TRAINING, FOLLOWING, BACKTEST = (PERIODS[n] for n in ("the training quarter",
                                                      "the following quarter",
                                                      "the backtest month"))


def _agreement(symbol: str, period: Period) -> float:
    """How often one hourly move goes the same way as the one before, within `period`."""
    csv = MarketData((symbol,), ("1h",), date(2023, 1, 2), date(2025, 1, 1)).csv(symbol, "1h")
    closes = [float(line.split(",")[4]) for line in csv.splitlines()[1:]
              if period.start.isoformat() <= line[:10] < period.end.isoformat()]
    moves = [b - a for a, b in itertools.pairwise(closes)]
    return sum((a > 0) == (b > 0) for a, b in itertools.pairwise(moves)) / (len(moves) - 1)


@pytest.mark.parametrize(("symbol", "period", "pattern"), [
    ("EURUSD", TRAINING, "reverses"), ("EURUSD", BACKTEST, "reverses"),
    ("EURUSD", FOLLOWING, "trends"), ("GBPUSD", TRAINING, "trends"),
    ("GBPUSD", FOLLOWING, "reverses")])
def test_the_seeded_bars_follow_the_pattern_the_oracle_names(symbol, period, pattern):
    assert planted_pattern(symbol, period) == pattern
    agreement = _agreement(symbol, period)
    assert agreement == 0.0 if pattern == "reverses" else agreement > 0.7


def test_the_seeded_data_is_the_same_on_every_run():
    data = MarketData(("EURUSD", "USDJPY"), ("1h",), date(2024, 1, 1), date(2024, 2, 1))
    assert list(data.files("data")) == list(data.files("data"))
    assert [name for name, _ in data.files("data")] == ["data/EURUSD_1h.csv",
                                                         "data/USDJPY_1h.csv"]


def test_a_period_straddling_a_planted_one_has_no_single_pattern():
    with pytest.raises(ValueError, match="straddles"):
        planted_pattern("EURUSD", Period("half in", date(2024, 3, 1), date(2024, 5, 1)))


def _answer(trained_on: str, period: Period, market: str, replayed: Period) -> KnownAnswer:
    return KnownAnswer(ModelSpec("v3_minimal", trained_on, period), market, replayed)


PROFIT = {"total_return": 0.28, "win_rate": 1.0, "max_drawdown": 0.0015, "total_trades": 266}
LOSS = {"total_return": -0.46, "win_rate": 0.02, "max_drawdown": 0.46, "total_trades": 52}
NOTHING_LEARNED = {"total_return": 0.01, "win_rate": 0.52, "max_drawdown": 0.2,
                   "total_trades": 120}


def test_a_model_profits_where_the_market_follows_what_it_learned():
    answer = _answer("EURUSD", TRAINING, "EURUSD", BACKTEST)
    assert answer.expected == "profits"
    assert answer.problem(PROFIT, Responses(), "profits") is None
    assert "expected a backtest that profits" in answer.problem(LOSS, Responses(), "profits")


@pytest.mark.parametrize("answer", [
    _answer("GBPUSD", TRAINING, "EURUSD", BACKTEST),     # training symbol
    _answer("EURUSD", FOLLOWING, "EURUSD", BACKTEST),    # training dates
    _answer("EURUSD", TRAINING, "GBPUSD", BACKTEST),     # backtest symbol
    _answer("EURUSD", TRAINING, "EURUSD", FOLLOWING)])   # backtest dates
def test_changing_one_thing_asked_for_turns_the_answer(answer):
    assert answer.expected == "loses"
    assert answer.problem(LOSS, Responses(), "loses") is None
    assert answer.problem(PROFIT, Responses(), "loses") is not None


def test_a_model_that_learned_nothing_neither_profits_nor_loses():
    for expected, answer in (("profits", _answer("EURUSD", TRAINING, "EURUSD", BACKTEST)),
                             ("loses", _answer("GBPUSD", TRAINING, "EURUSD", BACKTEST))):
        assert answer.problem(NOTHING_LEARNED, Responses(), expected) is not None


def test_a_drawdown_that_is_not_the_fall_from_the_peak_is_named():
    answer = _answer("EURUSD", TRAINING, "EURUSD", BACKTEST)
    assert "max_drawdown" in answer.problem({**PROFIT, "max_drawdown": 0.99}, Responses(),
                                            "profits")
    loser = _answer("GBPUSD", TRAINING, "EURUSD", BACKTEST)
    assert "less than the loss" in loser.problem({**LOSS, "max_drawdown": 0.1}, Responses(),
                                                 "loses")


def test_a_feature_row_against_the_planted_data_is_the_suites_error():
    with pytest.raises(ValueError, match="planted data says it loses"):
        _answer("GBPUSD", TRAINING, "EURUSD", BACKTEST).problem(PROFIT, Responses(), "profits")


def _samples(*readings: tuple[str, float]) -> list[ProgressSample]:
    """Readings of a job of ten steps, one step per 10 %."""
    return [ProgressSample(status, pct, "epoch" if status == "running" else status,
                           min(10, int(pct // 10)), 10 if status != "pending" else 0,
                           CREATED, STARTED if status != "pending" else "",
                           ENDED if status in {"completed", "failed", "cancelled"} else "")
            for status, pct in readings]


CREATED, STARTED, ENDED = ("2026-12-07T10:00:00+00:00", "2026-12-07T10:00:01+00:00",
                           "2026-12-07T10:00:09+00:00")


def test_a_whole_healthy_life_has_no_problem():
    life = _samples(("pending", 0), ("running", 0), ("running", 10), ("running", 50),
                    ("completed", 100))
    assert life_problems(life, ends="completed") == []
    assert moment_problems(life) == []


@pytest.mark.parametrize(("life", "problem"), [
    (_samples(("running", 10), ("running", 60), ("running", 20), ("completed", 100)),
     "fell back from 60% (running) to 20%"),
    (_samples(("running", 10), ("running", 50), ("completed", 99)), "completed at 99%"),
    (_samples(("running", 0), ("completed", 100)), "never showed two rising readings"),
    (_samples(("running", 10), ("running", 50), ("pending", 50), ("running", 60),
              ("completed", 100)), "moved from running to pending"),
    (_samples(("running", 10), ("running", 50), ("running", 150), ("completed", 100)),
     "left [0, 100]"),
    (_samples(("running", 10), ("running", 50), ("failed", 50)), "ended failed"),
])
def test_each_wrong_turn_of_a_life_is_named(life, problem):
    assert any(problem in found for found in life_problems(life, ends="completed"))


def test_a_start_moment_that_moves_or_moments_out_of_order_are_named():
    life = _samples(("running", 10), ("running", 50), ("completed", 100))
    # Every report sets started_at again.
    moved = [life[0], replace(life[1], started_at="2026-12-07T10:00:05+00:00"), life[2]]
    assert "its started_at moved from 2026-12-07T10:00:01+00:00 to 2026-12-07T10:00:05+00:00" \
        " while it ran" in moment_problems(moved)
    backwards = [*life[:2], replace(life[2], completed_at="2026-12-07T09:59:00+00:00")]
    assert any("completed_at 2026-12-07T09:59:00+00:00 is before its started_at" in p
               for p in moment_problems(backwards))
    unstamped = [*life[:2], replace(life[2], completed_at="")]
    assert any("without a readable completed_at" in p
               for p in moment_problems(unstamped))


def test_steps_must_be_counted_up_to_their_total():
    life = [ProgressSample("running", 10, "epoch"), ProgressSample("running", 50, "epoch"),
            ProgressSample("completed", 100, "completed")]
    assert any("never said how many steps" in p for p in life_problems(life, "completed"))
    stuck = _samples(("running", 10), ("running", 50), ("completed", 100))
    stuck[-1] = ProgressSample("completed", 100, "completed", 5, 10)
    assert any("completed at step 5 of 10" in p for p in life_problems(stuck, "completed"))


def test_a_named_data_volume_is_seeded_under_the_canarys_own_project_name():
    config = {"name": "canary", "volumes": {"shared": {"name": "canary_shared"}},
              "services": {"worker": {"image": "w", "volumes": [
                  {"type": "volume", "source": "shared", "target": "/mnt/ktrdr_data"}]}}}
    canary = Canary.__new__(Canary)
    canary.model, canary.project = ComposeModel(None, config), "canary-r1-shared-ab12"
    canary.settings = SimpleNamespace(profile=SimpleNamespace(data_mount="/mnt/ktrdr_data/data"))
    mount = config["services"]["worker"]["volumes"][0]
    assert canary._seeded_volume(mount) == ("canary-r1-shared-ab12_shared", "data")
    config["volumes"]["shared"]["name"] = "fixed-by-the-file"
    assert canary._seeded_volume(mount) == ("fixed-by-the-file", "data")


def _backtest(reply_status, body, final=None):
    from canaryspec.api import Reply
    from canaryspec.jobs import Operation, StartedJob
    from canaryspec.vocabulary import JOBS
    started = StartedJob(JOBS["backtest"], {}, Reply(reply_status, body))
    if final is not None:
        started.final = Operation.of({"operation_id": "op_1", **final})
    return started


NO_BARS = PERIODS["a month after the market data ends"]


@pytest.mark.parametrize(("started", "problem"), [
    # Failed, naming the dates: as it must.
    (_backtest(200, {"operation_id": "op_1"}, {
        "status": "failed",
        "error_message": "only 0 bars of EURUSD 1h between 2025-06-01 and 2025-07-01"}), None),
    # Refused up front in its own words: as good.
    (_backtest(422, {"detail": "no bars of EURUSD before 2025-07-01"}), None),
    # Completed with zeros: the regression.
    (_backtest(200, {"operation_id": "op_1"}, {"status": "completed"}), "not failed"),
    # Failed, but saying nothing of the dates.
    (_backtest(200, {"operation_id": "op_1"}, {"status": "failed", "error_message": "oops"}),
     "naming neither 2025-06-01 nor 2025-07-01"),
    # A refusal that only repeats the request back does not name the dates.
    (_backtest(422, {"detail": [{"msg": "bad", "input": {"start_date": "2025-06-01"}}]}),
     "naming neither"),
    (_backtest(500, "Internal Server Error"), "was answered 500"),
])
def test_a_backtest_with_no_bars_must_fail_naming_its_dates(started, problem):
    from canaryspec.jobs import no_data_problem
    found = no_data_problem(started, NO_BARS)
    assert found == problem if problem is None else problem in found


def _accuracies(training: float, test: float) -> dict:
    return {"training_metrics": {"accuracy": training}, "test_metrics": {"accuracy": test}}


def test_a_test_on_the_rows_held_out_where_the_market_turned_scores_low():
    from canaryspec.jobs import held_out_accuracy_problems
    market = MarketData(("EURUSD",), ("1h",), date(2023, 1, 2), date(2025, 1, 1))
    spec = ModelSpec("v3_minimal", "EURUSD",
                     PERIODS["the training quarter and the four weeks after it"])
    tradelab = Responses()
    assert held_out_accuracy_problems(market, spec, tradelab, _accuracies(0.97, 0.39)) == []
    as_trained = held_out_accuracy_problems(market, spec, tradelab, _accuracies(0.97, 0.97))
    assert len(as_trained) == 1 and as_trained[0].startswith("test accuracy 0.97 on the 404")
    swapped = held_out_accuracy_problems(market, spec, tradelab, _accuracies(0.39, 0.97))
    assert len(swapped) == 2


def test_a_period_whose_held_out_rows_are_like_its_training_rows_is_not_judged():
    from canaryspec.jobs import held_out_accuracy_problems
    market = MarketData(("EURUSD",), ("1h",), date(2023, 1, 2), date(2025, 1, 1))
    with pytest.raises(RuntimeError, match="does not hold out rows where the market has turned"):
        held_out_accuracy_problems(market, ModelSpec("v3_minimal", "EURUSD", TRAINING),
                                   Responses(), _accuracies(0.97, 0.39))
