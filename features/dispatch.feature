@dispatch @critical
Feature: Dispatch from the backend to the workers
  As a release manager
  I want the backend (without torch) to hand each job to a worker of the right kind
  So that the split images together do what the monolith did, and refuse what it should not

  Background:
    Given the canary is running

  @training @backtest
  Scenario Outline: A <job> runs on a <worker type> worker
    Given a trained model for "v3_minimal"
    When a <job> of "v3_minimal" is started
    And the <job> completes within 60 seconds
    Then the operation records a "<worker type>" worker as the one that ran it

    Examples: Jobs
      | job      | worker type |
      | training | training    |
      | backtest | backtesting |

  @training
  Scenario: A second training is refused while the only training worker is busy
    Given a long training of "v3_multi_symbol" is running
    When another training of "v3_minimal" is started
    Then it is refused because no training worker is available
    And no new operation is recorded

  @faults
  Scenario Outline: A request with <problem> is refused and nothing is recorded
    When a job is requested with <problem>
    Then it is refused, saying "<it says>"
    And no operation is recorded

    Examples: Bad input
      | problem                           | it says              |
      | an unknown strategy               | v3_minimal           |
      | an empty list of symbols          | symbols              |
      | an empty list of timeframes       | timeframes           |
      | an unreadable start date          | start_date           |
      | an end date before its start date | must be before       |
      | a symbol that has no market data  | No market data       |
      | a backtest without an end date    | end_date             |
      | malformed JSON                    | JSON                 |

  @faults
  Scenario: An unknown operation is not found
    When an unknown operation is looked up
    Then the platform says the operation was not found

  @faults
  Scenario: A finished operation cannot be cancelled
    Given a completed backtest of "v3_minimal"
    When the finished operation is cancelled
    Then the platform refuses, saying it is already finished
    And no new operation is recorded
