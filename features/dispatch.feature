@dispatch
Feature: Dispatch from the backend to the workers
  As a release manager
  I want the backend (without torch) to hand each job to a worker of the right kind
  So that the split images together do what the monolith did, and refuse what it should not

  Background:
    Given the canary is running

  @training @blocker @smoke @handoff.dispatch @needs.database
  Scenario: A training runs on a training worker
    When a training of "v3_minimal" is started
    And the training completes within 60 seconds
    Then the operation records a "training" worker as the one that ran it

  @backtest @blocker @smoke @handoff.dispatch
  Scenario: A backtest runs on a backtesting worker
    Given a trained model for "v3_minimal"
    When a backtest of "v3_minimal" is started
    And the backtest completes within 30 seconds
    Then the operation records a "backtesting" worker as the one that ran it

  # tradelab frees a worker in the registry before it records its job done, so a client that
  # sees the job done may ask for the next at once; its health checks only catch a report that
  # never comes (and ignore an "idle" answer for 15 s after a dispatch).
  @use.with_profile=tradelab @backtest
  Scenario: A worker is free for the next job the moment its job is done
    When a backtest of "v3_minimal" is watched until it is done
    Then the worker that ran it is already listed available when it is seen done

  # A job that fails frees its worker the same way: the next job need not wait for a health
  # check (or the 15 s after a dispatch when an "idle" answer is not believed).
  @use.with_profile=tradelab @backtest
  Scenario: A worker is free for the next job the moment its job has failed
    When a backtest of "v3_minimal" with a model that does not exist is watched until it fails
    Then the operation is recorded as "failed"
    And the worker that ran it is already listed available when it is seen done

  @training @critical @needs.database
  Scenario: A second training is refused while the only training worker is busy
    Given a long training of "v3_multi_symbol" is running
    When another training of "v3_minimal" is started
    Then it is refused because no "training" worker is available
    And no new operation is recorded

  @training @critical
  Scenario: A busy training worker itself refuses a second job
    Given a long training of "v3_multi_symbol" is running
    When a second training is handed straight to the busy "training" worker
    Then the worker refuses it, saying it is busy
    And the "training" worker still runs the first training

  # With one worker busy and the other idle, a filter the list ignores shows.
  @training
  Scenario: The worker list asked for one status lists exactly the workers in it
    Given a long training of "v3_multi_symbol" is running
    Then the workers listed for each status are exactly the registered workers in that status

  @training @critical @needs.database
  Scenario: Two trainings started at the same moment never both reach the only training worker
    When two trainings of "v3_multi_symbol" are started at the same moment
    Then one is accepted and the other refused because no "training" worker is available
    And the "training" worker runs the accepted one
    And exactly one new operation is recorded

  Scenario: An unknown operation is not found
    When an unknown operation is looked up
    Then the platform says the operation was not found

  # A cancel that came too late leaves the outcome as it was: a failure stays a failure.
  @needs.database
  Scenario Outline: A <status> operation cannot be cancelled
    Given a <status> backtest of "v3_minimal"
    When the finished operation is cancelled
    Then the platform refuses, saying the operation is <status>
    And the operation is recorded as "<status>"

    Examples: Each way a job ends by itself
      | status    |
      | completed |
      | failed    |

  # A worker's report that arrives after the end (delayed on the network, or sent twice)
  # changes nothing: what ended stays ended, its end time, results and progress as they were,
  # whether the report says it runs again or that it ended the other way. The report channel
  # is tradelab's own.
  @use.with_profile=tradelab
  Scenario Outline: A <status> operation stays <status> when a late report says it is <late>
    Given a <status> backtest of "v3_minimal"
    When its worker's late report says it is "<late>"
    Then it is still recorded as "<status>"
    And its record is as it was before the report

    Examples: Each way a job ends by itself, and each thing a late report may say
      | status    | late      |
      | completed | running   |
      | failed    | running   |
      | completed | failed    |
      | failed    | completed |
