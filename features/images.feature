@images @use.with_deployment=split @needs.images
Feature: Split images
  As a release manager
  I want each image to carry exactly what its role needs
  So that the backend stays small and safe while the workers can still train

  @blocker @smoke @handoff.no_torch
  Scenario: The backend image does not contain torch
    Given the "backend" image
    Then it cannot import "torch"
    And no Python on it has "torch" installed

  @blocker @handoff.no_torch
  Scenario: The backend web application loads without torch
    Given the "backend" image
    Then its web application imports without torch

  @blocker @handoff.has_torch
  Scenario: The CPU worker image runs torch
    Given the "CPU worker" image
    Then it can import "torch"
    And it reports its torch version

  @critical
  Scenario: The CPU worker's torch is a CPU build
    Given the "CPU worker" image
    Then its torch is not a CUDA build

  Scenario: The monolith baseline carries torch, as the split images are measured against it
    Given the "monolith" image
    Then it can import "torch"
    And it reports its torch version

  @critical
  Scenario: The CPU worker image leaves the migrations to the backend
    Given the "CPU worker" image
    Then it carries no database migrations

  @blocker
  Scenario: The backend image carries the database migrations
    Given the "backend" image
    Then it can import "alembic"
    And it contains the file "alembic.ini" in its working directory
    And its migration scripts lead to one head revision

  @critical
  Scenario Outline: The <image> image is hardened for production
    Given the "<image>" image
    Then it runs as a non-root user
    And its first process is an init
    And it declares a healthcheck

    Examples: Runtime images
      | image      |
      | backend    |
      | CPU worker |
      | monolith   |

  Scenario Outline: The <image> image fits its size budget
    Given the "<image>" image
    Then it is within its size budget

    Examples: Budgeted images
      | image      |
      | backend    |
      | CPU worker |

  @handoff.size_reduction
  Scenario: Splitting the monolith makes every image smaller
    Given the images under test
    Then the "backend" image is smaller than the "CPU worker" image
    And the "CPU worker" image is smaller than the "monolith" image

  @handoff.size_reduction
  Scenario: The CPU worker is about a fifth smaller than the monolith, as the split promised
    Then the "CPU worker" image is smaller than the "monolith" image by at least the reduction the split promised
