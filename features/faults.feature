@faults @needs.engine @destructive
Feature: Faults a production deployment meets
  As a release manager
  I want the split deployment to survive the restarts and outages every deployment meets
  So that a deploy, a database restart or a lost worker never loses work or needs a hand

  Background:
    Given the canary is running

  # The backend keeps its worker registry in memory: restarted, it has forgotten every
  # worker, and each must notice and register again by itself.
  @workers @critical
  Scenario: A backend restarted while idle takes its workers back without restarting them
    Given a training of "v3_minimal" has completed
    When the backend alone is restarted
    Then the backend reports healthy
    And every worker type is registered and available again within 60 s
    And no worker was restarted
    And it is listed among the "completed" "training" operations

  @training @critical
  Scenario: A training survives a restart of the backend
    Given a long training of "v3_multi_symbol" is making progress
    When the backend alone is restarted
    Then the "training" worker registers again within 15 s, reporting the training it runs
    And the training completes, however long it keeps making progress
    And the trained model is in the models volume
    And every worker type is registered and available again within 60 s

  @workers @critical
  Scenario: A worker started while the backend is down registers once the backend is up
    When the backend is down while the "training" worker restarts
    And the backend is started again
    Then a "training" worker is registered again under a new identity within 30 s
    And every worker type is registered and available again within 60 s

  # Health while the database is away is the migrations feature's (its own canary); here the
  # shared canary's backend must ride the outage out with its work and its workers.
  @use.with_profile=tradelab @workers @critical @needs.database
  Scenario: The backend rides out a database restart without losing an operation
    Given a training of "v3_minimal" has completed
    When the database is stopped under the running backend
    Then the backend reports the database as not connected
    And it keeps answering so through two of its own checks of the database
    And reading the operations meanwhile is refused with answers its API document declares
    When the database service is started again
    Then the backend reports the database schema as migrated
    And the backend was not restarted
    And every operation recorded before the outage is still recorded
    And a training of "v3_minimal" started now completes within 60 seconds

  @use.with_profile=tradelab @workers @critical @needs.images
  Scenario: A backend started before its database becomes healthy once the database is up
    Given a canary of its own with a migrated database
    When the backend starts while its database is still down
    Then the backend reports the database as not connected
    When the database service is started again
    Then the backend reports the database schema as migrated
    And the backend was not restarted

  # The backend polls its workers' health (tradelab: every 2 s in the canary, each answer
  # given 5 s, unavailable after three failures; ktrdr: every 10 s, 5 s, three): a worker it
  # cannot reach is offered no job until it answers again. The waits are those timers, as the
  # deployment sets them, plus a margin ("Deadlines used" in the summary).
  @workers @dispatch @critical @needs.database
  Scenario: A worker cut off from the network is given no job until it is back
    When the "training" worker is cut off from the network
    Then the backend marks it unavailable within the window of its own health checks
    When a training of "v3_minimal" is asked for meanwhile
    Then it is refused because no "training" worker is available
    And no new operation is recorded
    When the worker is connected again
    Then it is available again by the backend's next health check, under the same identity
    And the registry counts no failed health check against it any more

  # A busy training worker asked to stop is the training feature's (cancelled, checkpointed).
  @workers @critical
  Scenario Outline: An idle <worker type> worker asked to stop shuts down by its own handler
    When the idle "<worker type>" worker is asked to stop
    Then it exits within its grace period, before the engine has to kill it
    And it ran its own shutdown, not the signal's default action
    And a "<worker type>" worker is registered again under a new identity within 60 s

    Examples: Worker types
      | worker type |
      | training    |
      | backtesting |

  # As the real platform's scale profiles run them: a canary of its own, its training worker
  # joined by a second one at an address of its own.
  @training @dispatch @critical @needs.images
  Scenario: Two training workers share the trainings, and one that dies fails only its own
    Given a canary of its own with two training workers
    When two long trainings of "v3_multi_symbol" are started one after the other
    Then each runs on a training worker of its own
    When the worker running the first one dies
    # The backend learns of the death when the worker, restarted, registers again in its place.
    Then the engine starts it again by its restart policy
    And the operation is recorded as "failed" once the backend's orphan timeout has passed
    And the other training completes, however long it keeps making progress
    And the registry lists each of the two training workers once
