@workers
Feature: Worker registration
  As a release manager
  I want every worker of the canary to be registered and healthy
  So that jobs dispatched by the backend have somewhere to run

  Background:
    Given the canary is running

  @blocker @smoke @handoff.health
  Scenario: The backend is healthy
    Then the backend reports healthy

  # Readiness is judged like a person would: a service still starting, even one the engine
  # already calls unhealthy, gets until the suite's readiness deadline before the canary is
  # called down. Being slower than the deployment's own health window is this finding alone.
  @critical @needs.engine
  Scenario Outline: The <service> starts within the health window its deployment declares
    Then the <service> passed its health check within the window its deployment declares

    Examples: Services
      | service            |
      | database           |
      | backend            |
      | training worker    |
      | backtesting worker |

  @blocker @smoke @handoff.registration
  Scenario Outline: A <worker type> worker registers on start-up
    Then a "<worker type>" worker is registered and available

    Examples: Worker types
      | worker type |
      | training    |
      | backtesting |

  # A deployment says how many workers of each type it runs (expect_workers); the suite's own
  # canary runs one of each. Fewer registered is a deployment short of workers.
  @critical @handoff.registration
  Scenario: As many workers of each type are registered as the deployment expects
    Then as many workers of each type are registered as the deployment expects

  @critical @handoff.reaches_workers @needs.engine
  Scenario Outline: The backend reaches the <worker type> worker over the canary network
    Then the "<worker type>" worker's health endpoint answers from the backend's network

    Examples: Worker types
      | worker type |
      | training    |
      | backtesting |

  @faults @critical @needs.engine @destructive
  Scenario Outline: A restarted <worker type> worker registers again, replacing only its own entry
    When the "<worker type>" worker is restarted
    Then a "<worker type>" worker is registered again under a new identity within 60 s
    And its new identity is a random one of its type, as the contract forms them
    And its old identity is no longer registered
    And every other worker keeps its entry

    Examples: Worker types
      | worker type |
      | training    |
      | backtesting |
