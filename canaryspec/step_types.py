"""The closed vocabularies as typed step parameters (behave's `register_type` with parse_type's
TypeBuilder): a word outside them makes the step undefined, which `behave --dry-run` reports,
instead of a KeyError mid-run."""

from __future__ import annotations

import re

from behave import register_type
from parse_type import TypeBuilder

from canaryspec.jobs import BAD_REQUESTS, KNOWN_RESULTS
from canaryspec.oracle import Costs
from canaryspec.seeding import PERIODS, PLANTED
from canaryspec.vocabulary import (
    BAR_LENGTHS,
    IMAGE_NAMES,
    JOBS,
    OPERATION_STATUSES,
    SERVICES,
    STRATEGIES,
    WORKERS,
)


def parse_costs(text: str) -> Costs:
    """"a commission of 0.2 %, slippage of 0.1 % and 50,000 of capital" -> Costs."""
    commission, slippage, capital = COSTS.fullmatch(text).groups()  # type: ignore[union-attr]
    return Costs(initial_capital=float(capital.replace(",", "")),
                 commission=float(commission) / 100, slippage=float(slippage) / 100)


COSTS = re.compile(r"a commission of (\d+(?:\.\d+)?) %, slippage of (\d+(?:\.\d+)?) % "
                   r"and ([\d,]+) of capital")
parse_costs.pattern = COSTS.pattern  # type: ignore[attr-defined]
parse_costs.regex_group_count = 3  # type: ignore[attr-defined]


def register_step_types() -> None:
    """The typed parameters the step patterns use: {image:ImageRole}, {worker:WorkerKind},
    {job:JobKind}, {operation:OperationKind}, {status:OperationStatus}, {strategy:Strategy},
    {case:BadInput}, {period:Period} (a named stretch of the seeded market data),
    {market:Market} (a symbol with a planted pattern), {result:KnownResult},
    {costs:Costs} (what a backtest pays: "a commission of 0.2 %, slippage of 0.1 % and 50,000
    of capital")."""
    register_type(
        ImageRole=TypeBuilder.make_enum(IMAGE_NAMES),
        WorkerKind=TypeBuilder.make_enum(WORKERS),
        Service=TypeBuilder.make_enum(SERVICES),
        JobKind=TypeBuilder.make_enum(JOBS),
        OperationKind=TypeBuilder.make_enum({j.operation_type: j for j in JOBS.values()}),
        OperationStatus=TypeBuilder.make_choice(list(OPERATION_STATUSES)),
        Strategy=TypeBuilder.make_choice(list(STRATEGIES)),
        BadInput=TypeBuilder.make_enum(BAD_REQUESTS),
        Period=TypeBuilder.make_enum(PERIODS),
        BarLength=TypeBuilder.make_enum(BAR_LENGTHS),
        Market=TypeBuilder.make_choice(list(PLANTED)),
        KnownResult=TypeBuilder.make_choice(list(KNOWN_RESULTS)),
        Costs=parse_costs,
    )
