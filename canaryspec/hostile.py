"""Hostile input as the suite judges it: what a refusal must look like, what the canary must
look like afterwards, and the model file that carries code.

No HTTP and no Docker here: the canary handle (canaryspec.handle) sends and reads; this module
says what to compare (the named cases are canaryspec.jobs' BAD_REQUESTS, the generated ones
canaryspec.generated's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from canaryspec.api import Reply
from canaryspec.errors import WrongRefusal
from canaryspec.jobs import MODELS, BadRequest
from canaryspec.outcomes import stable_cause

# A refusal says what is wrong in a few sentences: an answer larger than this repeats the
# request back (tradelab once answered ten thousand unknown symbols with 119 KB).
MAX_REFUSAL_BYTES = 8 * 1024


def refusal_problems(case: BadRequest, reply: Reply, says: str) -> list[str]:
    """What is wrong with `reply` as the refusal of `case` (empty when nothing): the status the
    case expects, a JSON object (never plain text), in its own words `says` (what it echoes of
    the request does not count), at most MAX_REFUSAL_BYTES."""
    if reply.status not in case.statuses:
        return [f"expected {case.status}: {reply.brief()}"]
    problems = []
    if not reply.is_json_object:
        media = reply.content_type or "no media type"
        problems.append(f"the refusal is not a JSON object ({media}): {reply.brief()}")
    elif not reply.says(says):
        problems.append(f"the refusal does not say {says!r}: {reply.brief()}")
    if reply.size > MAX_REFUSAL_BYTES:
        problems.append(f"the refusal is {reply.size:,} bytes, more than "
                        f"{MAX_REFUSAL_BYTES:,}: {reply.brief(200)}")
    return problems


def judge_refusal(case: BadRequest, reply: Reply, says: str) -> None:
    """WrongRefusal naming everything wrong with `reply` as the refusal of `case`."""
    problems = refusal_problems(case, reply, says)
    if problems:
        raise WrongRefusal("; ".join(problems), root_cause=stable_cause(problems[0]))


@dataclass(frozen=True)
class Baseline:
    """What a hostile request must leave as it found it: the rows of the operations table
    (counted in the database), the workers the registry lists, and each running service's
    container as the engine has it (restarts, last start)."""

    operations: int
    workers: frozenset[str]
    services: Mapping[str, tuple[int, float | None]]


def recorded_problems(before: Baseline, operations: int, workers: frozenset[str]) -> list[str]:
    """What was recorded since `before` (empty when nothing)."""
    problems = []
    if operations != before.operations:
        problems.append(f"the operations table went from {before.operations} to {operations} "
                        "rows")
    if workers - before.workers:
        problems.append(f"the registry gained {', '.join(sorted(workers - before.workers))}")
    return problems


def restart_problems(before: Baseline,
                     now: Mapping[str, tuple[str, int, float | None]]) -> list[str]:
    """The services that stopped or were started again since `before`; `now` is each
    service's (status, restarts, last start)."""
    problems = []
    for service, (restarts, started_at) in sorted(before.services.items()):
        status, restarts_now, started_now = now.get(service, ("absent", restarts, started_at))
        if status != "running":
            problems.append(f"{service} is {status}")
        elif (restarts_now, started_now) != (restarts, started_at):
            problems.append(f"{service} was restarted ({restarts} → {restarts_now} restarts, "
                            "started again)")
    return problems


# A model file that is a pickle whose loading calls os.mkdir: harmless, and visible (the
# folder appears on the models volume). A loader that runs what a file says makes the folder;
# one that loads tensors only refuses the file. Protocol 0, so it is plain text.
CODE_MODEL = f"{MODELS}/hostile/runs-code.pt"
CODE_MARKER = f"{MODELS}/hostile/the-model-file-ran-code"
CODE_PICKLE = f"cos\nmkdir\n(S'{CODE_MARKER}'\ntR."
