# Run only on a GPU host: `make canary-gpu`. Kept out of features/ so that the default run on a
# CPU-only machine has nothing to skip.
@images @gpu
Feature: The monolithic GPU worker on a GPU host
  As a release manager
  I want the monolith baseline to still see a GPU where one exists
  So that splitting the CPU images off has not broken the GPU path

  Scenario: The monolith built for GPUs sees one
    Given the "monolith" image
    Then CUDA is available in it
