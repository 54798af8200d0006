@security @needs.engine @needs.database
Feature: Hostile input
  As a release manager
  I want the platform to refuse what it must before it touches anything
  So that no request can read a file, run code, fill the database or bring a service down

  Background:
    Given the canary is running

  @critical
  Scenario Outline: A request with <problem> is refused and nothing is recorded
    When a request with <problem> is sent
    Then it is refused, saying "<it says>"
    And nothing is recorded
    And no service has restarted and the backend is still healthy

    Examples: Bad input the contract defines
      | problem                                         | it says              |
      | an unknown strategy                             | neuro_mean_reversion |
      | an empty list of symbols                        | symbols              |
      | an empty list of timeframes                     | timeframes           |
      | a backtest without an end date                  | end_date             |
      | malformed JSON                                  | JSON                 |
      | a strategy name that climbs out of its folder   | strategy             |
      | a strategy name that is not text                | strategy_name        |
      | a list of symbols that is not a list            | symbols              |
      | a capital that is not a number                  | initial_capital      |
      | a request that is a list, not an object         | body                 |
      | an unknown worker type                          | worker_type          |
      | a registration without an address               | endpoint_url         |
      | a training asked for by reading it              | method               |
      | an operation replaced wholesale                 | method               |

    @use.with_profile=tradelab
    Examples: Bad input the reference platform also refuses up front
      | problem                                               | it says         |
      | an unreadable start date                              | start_date      |
      | an end date before its start date                     | end_date        |
      | a symbol that has no market data                      | No market data  |
      | an empty timeframe name                               | timeframe       |
      | a symbol that climbs out of the data folder           | symbols         |
      | a backtest symbol that climbs out of the data folder  | symbol          |
      | a timeframe that climbs out of the data folder        | timeframe       |
      | a model path that climbs out of the models volume     | model_path      |
      | a model path elsewhere on the disk                    | model_path      |
      | a model path that leaves the models volume through it | model_path      |
      | a strategy name of a megabyte                         | strategy_name   |
      | a backtest strategy name of a megabyte                | strategy_name   |
      | a symbol of a megabyte                                | symbols         |
      | a backtest symbol of a megabyte                       | symbol          |
      | ten thousand unknown symbols                          | symbols         |
      | a line break in a symbol                              | symbol          |
      | a NUL byte in a strategy name                         | strategy_name   |
      | a capital that is not a number at all                 | initial_capital |
      | an infinite capital                                   | initial_capital |
      | a negative infinite slippage                          | slippage        |
      | a capital beyond a trillion                           | initial_capital |
      | a training dated in the year 1                        | start_date      |
      | a training dated in the year 9999                     | start_date      |
      | a backtest sent as a form                             | Content-Type    |
      | a backtest sent as plain text                         | Content-Type    |
      | a worker address without a host                       | endpoint_url    |
      | a worker address without a port                       | endpoint_url    |
      | a worker address that is not http                     | endpoint_url    |
      | a worker name with a line break                       | worker_id       |
      | an operation id with a NUL byte                       | operation_id    |
      | an operation id with a quote and a semicolon          | operation_id    |
      | an offset past any page                               | offset          |

  @critical
  Scenario: No malformed request makes the API fail
    When the API is sent requests drawn from its own OpenAPI document
    Then none of them is answered with a server error
    And every answer is one its document describes
    And nothing is recorded
    And no service has restarted and the backend is still healthy

  @use.with_profile=tradelab
  Scenario: A worker registered where nothing answers is never offered jobs
    When a "backtesting" worker registers at an address where nothing answers
    Then it is never offered jobs, and the registry lets it go
    And no service has restarted and the backend is still healthy

  @critical @use.with_profile=tradelab @destructive
  Scenario: A model file that carries code is not run by a backtest
    Given a model file that runs code when it is loaded, in the models volume
    When a backtest of "v3_minimal" is started with that model
    Then the backtest fails with an error naming the model
    And the code in that model file never ran
