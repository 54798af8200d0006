@backtest
Feature: Backtesting
  As a strategy researcher
  I want a backtest started through the backend to replay a trained model on a CPU worker
  So that the split deployment reports how a strategy would have traded

  Background:
    Given the canary is running

  @blocker @handoff.backtest_lifecycle
  Scenario: A backtest with a trained model reports sane metrics
    Given a trained model for "v3_minimal"
    When a backtest of "v3_minimal" is started
    And the backtest completes within 30 seconds
    Then its metrics are within these bounds
      | metric       | at least | at most |
      | total_trades | 1        |         |
      | max_drawdown | 0        | 1       |
      | win_rate     | 0        | 1       |
      | total_return | -1       |         |
      | sharpe_ratio |          |         |

  # The seeded market data is an oracle (docs/market-data.md): EURUSD reverses every hour over
  # the training quarter and the backtest month and trends everywhere else; GBPUSD is the
  # mirror. A model that learned one pattern profits where the market follows it and loses
  # where the market follows the other, so the sign of a backtest says which model was
  # replayed on which bars.
  @critical @handoff.backtest_lifecycle @needs.market_data
  Scenario Outline: A backtest answers for <what it must follow>
    Given a "v3_minimal" model trained on <trained on> over <training period>
    When that model is backtested on <market> over <backtest period>
    Then the backtest <result>, as the planted market data says

    Examples: Each row changes one thing the platform was asked for
      | what it must follow                    | trained on | training period       | market | backtest period       | result  |
      | the model and the market it was given  | EURUSD     | the training quarter  | EURUSD | the backtest month    | profits |
      | the market its model was trained on    | GBPUSD     | the training quarter  | GBPUSD | the backtest month    | profits |
      | the symbol its training was asked for  | GBPUSD     | the training quarter  | EURUSD | the backtest month    | loses   |
      | the dates its training was asked for   | EURUSD     | the following quarter | EURUSD | the backtest month    | loses   |
      | the symbol it was asked to replay      | EURUSD     | the training quarter  | GBPUSD | the backtest month    | loses   |
      | the dates it was asked to replay       | EURUSD     | the training quarter  | EURUSD | the following quarter | loses   |

  @critical @handoff.backtest_lifecycle
  Scenario: The same model backtested twice on the same market gives the same result
    Given a "v3_minimal" model trained on EURUSD over the training quarter
    When that model is backtested twice on EURUSD over the backtest month
    Then both backtests report the same metrics

  # Nothing to trade is an error the researcher must see: a result of zeros would read as a
  # strategy that never traded.
  @handoff.backtest_lifecycle @needs.market_data
  Scenario: A backtest over a month with no market data fails, naming the dates
    Given a "v3_minimal" model trained on EURUSD over the training quarter
    When that model is backtested on EURUSD over a month after the market data ends, where there are no bars
    Then the backtest is refused or fails, naming the period it has no data for

  @use.with_profile=tradelab @handoff.backtest_lifecycle @needs.engine
  Scenario: A backtest reports the model it replayed, byte for byte
    Given a "v3_minimal" model trained on EURUSD over the training quarter
    When that model is backtested on EURUSD over the backtest month
    Then the backtest reports the checksum of the model file it was given

  # A backtest reports the trades it made; the suite replays them over the bars it seeded, at
  # the costs it asked for (not the contract's defaults), and gets every metric it must report.
  @use.with_profile=tradelab @critical @handoff.backtest_lifecycle @needs.market_data
  Scenario: A backtest's metrics are what its trades earn at the costs it was asked for
    Given a "v3_minimal" model trained on EURUSD over the training quarter
    When that model is backtested on EURUSD over the backtest month at a commission of 0.2 %, slippage of 0.1 % and 50,000 of capital
    Then every metric it reports is what its trades earn on those bars at those costs

  @handoff.backtest_lifecycle
  Scenario: A backtest without a trained model fails clearly
    When a backtest of "v3_minimal" is started with a model that does not exist
    Then the backtest fails with an error naming the model

  Scenario: A backtest that names no model is answered without a server error
    When a backtest of "v3_minimal" is started without naming a model
    Then the platform answers without a server error

  @handoff.backtest_lifecycle @needs.engine @destructive
  Scenario: A backtest of a corrupt model fails clearly
    Given a corrupt model file in the models volume
    When a backtest of "v3_minimal" is started with that model
    Then the backtest fails with an error naming the model

  @handoff.backtest_lifecycle
  Scenario: A finished backtest is listed with its type and status
    Given a completed backtest of "v3_minimal"
    Then the operations list shows it as a "completed" "backtesting" operation

  Scenario: The operations list narrows by status and type, and its totals add up
    Given a completed backtest of "v3_minimal"
    Then it is listed among the "completed" "backtesting" operations
    And it is not listed among the "running" operations
    And it is not listed among the active operations
    And the list's totals agree with its entries

  Scenario: The operations list shows the newest operation first
    Given a completed backtest of "v3_minimal"
    Then the operations list shows it first, each entry created no later than the one before

  # The pages of the list are slices of the whole: an offset ignored, off by one or refused at 0
  # (the first page) shows as a page that is not the slice it should be; a total that counts
  # only the page agrees with the page alone.
  Scenario: The operations list pages through every operation once, from the first
    Given a completed backtest of "v3_minimal"
    Then reading the operations list 2 at a time gives every entry once, in its order, from the first, each page counting the whole list

  @use.with_profile=tradelab
  Scenario: The operations list names the strategy and symbol each job was asked for
    Given a completed backtest of "v3_minimal"
    Then its entry in the operations list names the strategy and symbol it was asked for
