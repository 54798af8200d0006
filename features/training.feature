@training
Feature: Model training
  As a strategy researcher
  I want a training started through the backend to run on a CPU worker
  So that the split deployment can train the models our strategies trade with

  Background:
    Given the canary is running

  @handoff.training_lifecycle @needs.database
  Scenario: A training run is accepted
    When a training of "v3_minimal" is started
    Then the training is accepted with an operation id

  @blocker @handoff.training_lifecycle @needs.database
  Scenario: A training run completes with its metrics
    When a training of "v3_minimal" is started
    And the training completes within 60 seconds
    Then its results include training and test accuracy

  @blocker @handoff.training_lifecycle @needs.engine @needs.database
  Scenario: A completed training leaves its model in the shared models volume
    When a training of "v3_minimal" is started
    And the training completes within 60 seconds
    Then the trained model is in the models volume

  # The seeded market data is an oracle for what a training learned from (docs/market-data.md):
  # the suite computes each of the strategy's inputs over the bars it asked for; the platform
  # reports the rows it trained on and each input's mean and spread over them.
  @use.with_profile=tradelab @critical @handoff.training_lifecycle @needs.market_data
  Scenario Outline: A training of <strategy> learns from its inputs over exactly the bars it was asked for
    Given a "<strategy>" model trained on EURUSD over the training quarter
    Then it learned from its strategy's inputs over exactly those bars, as the seeded data says
    And it tested the model on a fifth of the rows those bars gave and trained on the rest

    Examples: One strategy with every kind of input, one with a single indicator
      | strategy            |
      | v3_minimal          |
      | v3_single_indicator |

  # The same oracle on the daily bars the suite seeded beside the hourly ones: a platform that
  # trains on its strategy's own timeframe instead of the one asked for learns from 24 times
  # as many rows.
  @use.with_profile=tradelab @needs.market_data
  Scenario: A training asked for daily bars learns from the daily bars
    Given a "v3_minimal" model trained on EURUSD daily bars over the two years of market data
    Then it learned from its strategy's inputs over exactly those bars, as the seeded data says

  # tradelab tests a model on the latest fifth of its rows; over this period that fifth is
  # where the market has turned, so a model tested on its training rows, on another fifth or
  # with its two accuracies swapped scores alike on both.
  @use.with_profile=tradelab @needs.market_data
  Scenario: A training's test accuracy is measured on the rows it held out
    Given a "v3_minimal" model trained on EURUSD over the training quarter and the four weeks after it
    Then it is right on most of the rows it trained on and wrong on most of the rows it held out, where the market turned

  # Watched from start to end: the backend's orphan sweeper runs the whole time, and a
  # training it must not touch outlives its timeout (the deployment's own setting).
  @critical @handoff.training_lifecycle @needs.engine
  Scenario: A long training shows its progress to the end and is never taken for an orphan
    When a long training of "v3_multi_symbol" is started
    Then it is watched until it completes, its progress rising and never falling back
    And its record says when it was created, started once and ended, in that order
    And it ran longer than the backend's orphan timeout without being failed

  @critical @handoff.training_lifecycle
  Scenario: A running training can be cancelled
    Given a long training of "v3_multi_symbol" is running
    When the training is cancelled
    Then the operation is recorded as "cancelled"
    And the "training" worker stops the job itself and is idle again

  # The active list's truth both ways: an empty list would pass "not listed" alone.
  Scenario: A running training is listed among the active operations until it ends
    Given a long training of "v3_multi_symbol" is running
    Then it is listed among the active operations
    When the training is cancelled
    Then the operation is recorded as "cancelled"
    And it is not listed among the active operations

  @critical @handoff.training_lifecycle @needs.database
  Scenario: A training of an unknown strategy is rejected
    When a training of "neuro_mean_reversion" is started
    Then the request is refused because the strategy is unknown
    And no operation is recorded

  @use.with_profile=tradelab @needs.database
  Scenario: The refusal of an unknown strategy names the valid ones
    When a training of "neuro_mean_reversion" is started
    Then the refusal lists the valid strategies

  @faults @critical @needs.engine @needs.database @destructive
  Scenario: A training worker stopped mid-run cancels its training and keeps a checkpoint
    Given a long training of "v3_multi_symbol" is making progress
    When the "training" worker is asked to stop
    Then it exits within its grace period, before the engine has to kill it
    And the operation is recorded as "cancelled"
    And a checkpoint of the operation is recorded
    And a "training" worker is registered again under a new identity within 60 s

  @faults @critical @needs.engine @destructive
  Scenario: A training whose worker dies is failed, not left running
    Given a long training of "v3_multi_symbol" is running
    When the "training" worker dies
    Then the engine starts it again by its restart policy
    And the operation is recorded as "failed" once the backend's orphan timeout has passed
    And a "training" worker is registered again under a new identity within 60 s
