@migrations @needs.images @needs.engine @needs.database @destructive
Feature: Database migrations
  As a release manager
  I want the backend image to bring a fresh database to the current schema
  So that a new environment can take jobs as soon as it is deployed

  Background:
    Given a canary with a fresh, unmigrated database

  @critical @faults
  Scenario: Starting the backend leaves the schema to the migrations
    When the backend is restarted
    Then the database schema is not at the head revision

  @use.with_profile=tradelab
  Scenario: The backend's health reports an unmigrated schema
    Then the backend reports the database schema as not migrated

  @blocker
  Scenario: Upgrading brings the schema to the head revision
    When the migrations are applied
    Then the database schema is at the head revision
    And the database has the "operations" table

  Scenario: Upgrading a second time changes nothing
    Given the migrations have been applied
    When the migrations are applied again
    Then the second upgrade applied no migration
    And the database schema is unchanged

  # A deployed database holds what the release before wrote: the upgrade runs on rows, not on
  # empty tables (a new NOT NULL column without a default passes on an empty database and
  # fails on a live one). The revision before head stands in for the release before.
  @critical @use.with_profile=tradelab
  Scenario: Upgrading a database that holds operations keeps every one of them
    Given the migrations have been applied
    And the schema is taken back to the revision before head
    And the operations table holds 3 operations written at that revision
    When the migrations are applied
    Then the database schema is at the head revision
    And every operation written before the upgrade is still there

  @blocker
  Scenario: The migrated schema is what the code expects
    When the migrations are applied
    Then the migrated schema has every table and column the backend's code expects

  @use.with_profile=tradelab
  Scenario: The backend's health follows the live schema
    When the migrations are applied
    Then the backend reports the database schema as migrated
    When the database is replaced by a fresh, unmigrated one
    Then the backend reports the database schema as not migrated

  @use.with_profile=tradelab @faults
  Scenario: The backend's health follows the database going away and coming back
    Given the migrations have been applied
    When the database service is stopped
    Then the backend reports the database as not connected
    When the database service is started again
    Then the backend reports the database schema as migrated
