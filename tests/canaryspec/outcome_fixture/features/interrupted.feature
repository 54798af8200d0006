@workers @interrupt
Feature: An interrupted run
  Scenario: A scenario that passes before the signal
    Given nothing is wrong

  Scenario: A scenario running when the signal comes
    When the run receives "SIGTERM"

  Scenario: A scenario after the signal
    Then all is well
