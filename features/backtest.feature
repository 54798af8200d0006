@backtest
Feature: Backtesting
  As a strategy researcher
  I want a backtest started through the backend to replay a trained model on a CPU worker
  So that the split deployment reports how a strategy would have traded

  Background:
    Given the canary is running

  @blocker @handoff.backtest_lifecycle
  Scenario: A backtest with a trained model reports sane metrics
    Given a trained model for "v3_minimal"
    When a backtest of "v3_minimal" is started
    And the backtest completes within 30 seconds
    Then its metrics are within these bounds
      | metric       | at least | at most |
      | total_trades | 1        |         |
      | max_drawdown | 0        | 1       |
      | win_rate     | 0        | 1       |
      | total_return | -1       |         |
      | sharpe_ratio |          |         |

  @critical @handoff.backtest_lifecycle
  Scenario: A backtest's result depends on the model it replays
    Given trained models for "v3_minimal" and "v3_single_indicator"
    When each model is backtested over the same market data
    Then the two backtests report different results

  @handoff.backtest_lifecycle
  Scenario: A backtest without a trained model fails clearly
    When a backtest of "v3_minimal" is started with a model that does not exist
    Then the backtest fails with an error naming the model

  @handoff.backtest_lifecycle
  Scenario: A backtest of a corrupt model fails clearly
    Given a corrupt model file in the models volume
    When a backtest of "v3_minimal" is started with that model
    Then the backtest fails with an error naming the model

  @handoff.backtest_lifecycle
  Scenario: A finished backtest is listed with its type and status
    Given a completed backtest of "v3_minimal"
    Then the operations list shows it as a "completed" "backtesting" operation
