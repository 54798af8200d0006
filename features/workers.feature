@workers @critical
Feature: Worker registration
  As a release manager
  I want every worker of the canary to be registered and healthy
  So that jobs dispatched by the backend have somewhere to run

  Background:
    Given the canary is running

  @smoke
  Scenario: The backend is healthy
    Then the backend reports healthy

  Scenario Outline: A <worker type> worker registers on start-up
    Then a "<worker type>" worker is registered and available

    Examples: Worker types
      | worker type |
      | training    |
      | backtesting |

  Scenario Outline: The backend reaches the <worker type> worker over the canary network
    Then the "<worker type>" worker's health endpoint answers from the backend's network

    Examples: Worker types
      | worker type |
      | training    |
      | backtesting |

  @slow
  Scenario: A restarted worker registers again
    When the "training" worker is restarted
    Then a "training" worker is registered again under a new identity within 60 s
    And its old identity is no longer registered
