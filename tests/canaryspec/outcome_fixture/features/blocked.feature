@migrations @hook.fails
Feature: A feature whose hook fails
  Scenario: A scenario its feature's hook blocked
    Then all is well
