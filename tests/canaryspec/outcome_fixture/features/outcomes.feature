@training @critical
Feature: Every outcome
  Scenario: A scenario that passes
    Given nothing is wrong
    Then all is well

  Scenario: A scenario whose assertion fails
    Given nothing is wrong
    Then the platform answers 503 where 200 was due

  Scenario: A scenario whose step crashes
    Given nothing is wrong
    Then a step of the suite crashes

  Scenario: A scenario blocked by a canary that did not come up
    Given the canary did not come up
    Then all is well

  Scenario: A scenario with an undefined step
    Given nothing is wrong
    Then a step nobody wrote

  Scenario: A scenario whose precondition fails on a product defect
    Given a model the platform trained
    Then all is well

  Scenario: A scenario whose own check fails on the same product defect
    Given nothing is wrong
    Then a backtest of the model completes

  @use.with_profile=ktrdr
  Scenario: A scenario only another profile promises
    Then all is well

  @wip
  Scenario: A scenario the run does not select
    Then all is well
