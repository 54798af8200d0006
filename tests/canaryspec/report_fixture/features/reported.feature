@training @critical
Feature: A reported feature
  Scenario: A passing scenario with evidence
    Given the platform answered a request
    Then the answer was accepted

  Scenario: A failing scenario explains itself
    Given the platform answered a request
    Then the answer was refused as unavailable
