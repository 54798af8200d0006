"""Requests drawn from the platform's own OpenAPI document and sent to a running backend: the
generated half of the hostile-input checks (the named half is canaryspec.jobs' BAD_REQUESTS).

schemathesis reads the document the backend publishes, hypothesis draws requests from it:
*negative* ones (each breaks the document somewhere: a wrong type, a field missing, a pattern or
a bound violated) on every route of the contract, and *positive* ones only where a valid request
changes nothing (reads, and the operations a random id does not name), so a generated run never
starts a job or registers a worker. Every answer is judged: no server error; a status, content
type and body the document describes; a request the document calls invalid is refused. The run
is bounded in examples and in time; each failure keeps its request as a curl command.

No Docker here; HTTP only through schemathesis (its `requests` transport).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from canaryspec.vocabulary import API, OPENAPI

NEGATIVE, POSITIVE = "negative", "positive"


@dataclass(frozen=True)
class Route:
    """A route of the contract and the kinds of request drawn for it."""

    method: str
    path: str
    modes: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


# The contract's routes (the real platform's document has many more, which are not the
# canary's business). Valid bodies are never drawn for the routes that would act on them.
ROUTES = (
    Route("GET", f"{API}/health", (POSITIVE,)),
    Route("GET", f"{API}/strategies", (POSITIVE,)),
    Route("GET", f"{API}/workers", (POSITIVE, NEGATIVE)),
    Route("GET", f"{API}/workers/{{worker_id}}", (POSITIVE, NEGATIVE)),
    # A valid registration would put a worker at a drawn address in the registry, which the
    # backend then polls: only invalid ones.
    Route("POST", f"{API}/workers/register", (NEGATIVE,)),
    # A valid start would start a job: only invalid ones.
    Route("POST", f"{API}/trainings/start", (NEGATIVE,)),
    Route("POST", f"{API}/backtests/start", (NEGATIVE,)),
    Route("GET", f"{API}/operations", (POSITIVE, NEGATIVE)),
    # A drawn id names no operation of the canary's: reading or cancelling it changes nothing.
    Route("GET", f"{API}/operations/{{operation_id}}", (POSITIVE, NEGATIVE)),
    Route("GET", f"{API}/operations/{{operation_id}}/results", (POSITIVE, NEGATIVE)),
    Route("DELETE", f"{API}/operations/{{operation_id}}", (POSITIVE, NEGATIVE)),
    # tradelab's own channel for its workers' reports (absent from the real platform's).
    Route("POST", f"{API}/operations/{{operation_id}}/report", (POSITIVE, NEGATIVE)),
)
# How many examples one draw of a route asks hypothesis for: small, so the deadline is looked
# at often and every route gets its turn before any gets a second.
CHUNK = 20


@dataclass(frozen=True)
class Failure:
    """One answer that broke a rule, with the request that provoked it (curl form)."""

    route: str
    mode: str
    check: str
    status: int | None
    message: str
    curl: str

    @property
    def server_error(self) -> bool:
        return self.check == "server error"

    def describe(self) -> str:
        answered = f"answered {self.status}" if self.status is not None else "no answer"
        return f"{self.route} ({self.mode}): {self.check}, {answered}: {self.message}"


@dataclass
class GeneratedRun:
    """What a generated run sent and what broke: examples per route, failures, its time."""

    examples: int = 0
    seconds: float = 0.0
    per_route: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    # Routes of the contract the document does not have, or that no request could be drawn for.
    skipped: dict[str, str] = field(default_factory=dict)
    cut_short: bool = False   # the deadline came before the examples asked for

    def server_errors(self) -> list[Failure]:
        return [f for f in self.failures if f.server_error]

    def nonconforming(self) -> list[Failure]:
        return [f for f in self.failures if not f.server_error]

    def summary(self) -> str:
        lines = [f"{self.examples} requests in {self.seconds:.1f} s"
                 + (" (the deadline came first)" if self.cut_short else ""),
                 "answers: " + ", ".join(f"{s} x{n}" for s, n in sorted(self.statuses.items())),
                 *(f"  {route}: {n}" for route, n in sorted(self.per_route.items())),
                 *(f"  skipped {route}: {why}" for route, why in sorted(self.skipped.items()))]
        return "\n".join(lines)


# Distinct failures kept (each with its request); more of the same kind are only counted.
MAX_FAILURES = 20


def _checks() -> list[Callable[..., Any]]:
    from schemathesis import checks

    return [getattr(checks, name) for name in ("status_code_conformance",
                                               "content_type_conformance",
                                               "response_schema_conformance",
                                               "negative_data_rejection")]


def _operations(base_url: str, routes: tuple[Route, ...]) -> tuple[list[tuple[Route, Any]],
                                                                    dict[str, str]]:
    """The document's operation for each route the backend publishes, and those it lacks."""
    import schemathesis
    from schemathesis.core.errors import LoaderError

    try:
        schema = schemathesis.openapi.from_url(f"{base_url}{OPENAPI}", timeout=30)
    except LoaderError as exc:
        # The contract's document is part of the contract: its absence is the platform's.
        raise AssertionError(f"the backend publishes no usable OpenAPI document at {OPENAPI}: "
                             f"{str(exc).splitlines()[0][:300]}") from None
    published = {}
    for result in schema.get_all_operations():
        try:
            operation = result.ok()
        except Exception:  # an operation the document describes badly: not ours to judge here
            continue
        published[(operation.method.upper(), operation.path.rstrip("/"))] = operation
    found, missing = [], {}
    for route in routes:
        operation = published.get((route.method, route.path.rstrip("/")))
        if operation is None:
            missing[str(route)] = "not in the document"
        else:
            found.append((route, operation))
    return found, missing


def run_generated(base_url: str, *, examples: int, deadline_s: float, seed: int = 19,
                  routes: tuple[Route, ...] = ROUTES) -> GeneratedRun:
    """Send about `examples` drawn requests (at least that many unless the deadline comes
    first) spread over `routes` and their modes, and judge every answer."""
    # Imported here, not at the top: loading them takes seconds, and only this run needs them
    # (they are not counted in its time).
    import requests
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded
    from schemathesis import GenerationMode

    checks = _checks()
    started = time.monotonic()
    deadline = started + deadline_s
    run = GeneratedRun()
    found, run.skipped = _operations(base_url, routes)
    seen: set[tuple[str, str, int | None]] = set()
    # One strategy per route and mode, kept: hypothesis checks a strategy once, not per draw.
    pending = [(route, mode, operation.as_strategy(generation_mode=GenerationMode(mode)))
               for route, operation in found for mode in route.modes]
    draw = 0
    # One connection, kept alive: a new one per request costs more than the request.
    with requests.Session() as session:
        while pending and run.examples < examples and time.monotonic() < deadline:
            route, mode, strategy = pending[draw % len(pending)]
            draw += 1
            send = _sender(route, mode, base_url, session, checks, run, deadline, examples,
                           seen)
            sent_before = run.examples
            test = seeded(seed * 1000 + draw)(settings(
                max_examples=min(CHUNK, examples - run.examples), deadline=None,
                database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                derandomize=False)(given(strategy)(send)))
            try:
                test()
            except Exception as exc:  # nothing could be drawn for this route and mode
                run.skipped[f"{route} ({mode})"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                pending.remove((route, mode, strategy))
                continue
            if run.examples == sent_before:
                # hypothesis drew nothing new (a route with few distinct requests is exhausted).
                pending.remove((route, mode, strategy))
    run.seconds = time.monotonic() - started
    run.cut_short = run.examples < examples and time.monotonic() >= deadline
    return run


def _sender(route: Route, mode: str, base_url: str, session: Any,
            checks: list[Callable[..., Any]],
            run: GeneratedRun, deadline: float, examples: int,
            seen: set[tuple[str, str, int | None]]) -> Callable[[Any], None]:
    """What hypothesis calls with each drawn request: send it (unless the run has had its
    examples or its time), judge the answer, keep each kind of failure once."""
    def send(case: Any) -> None:
        if time.monotonic() >= deadline or run.examples >= examples:
            return
        _keep_local(case)
        run.examples += 1
        run.per_route[str(route)] += 1
        for failure in _judge(case, base_url, session, route, mode, checks, run):
            key = (failure.route, failure.check, failure.status)
            if key not in seen and len(run.failures) < MAX_FAILURES:
                seen.add(key)
                run.failures.append(failure)

    return send


# Where a drawn registration may point: the backend's own loopback. A platform that takes a
# registration the document calls invalid polls the address it names; a drawn address must
# never send the canary's traffic anywhere else. Only the host is replaced, so a request that
# was invalid (no port, a wrong scheme) stays invalid.
LOCAL_HOST = "127.0.0.1"


def _keep_local(case: Any) -> None:
    body = getattr(case, "body", None)
    url = body.get("endpoint_url") if isinstance(body, dict) else None
    if not isinstance(url, str):
        return
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return
    if host and host not in {LOCAL_HOST, "localhost", "::1"}:
        userinfo, at, hostport = parts.netloc.rpartition("@")
        _, colon, port = hostport.partition(":")
        body["endpoint_url"] = urlunsplit(parts._replace(
            netloc=f"{userinfo}{at}{LOCAL_HOST}{colon}{port}"))


def _judge(case: Any, base_url: str, session: Any, route: Route, mode: str,
           checks: list[Callable[..., Any]], run: GeneratedRun) -> list[Failure]:
    """Send one drawn request and return what its answer broke (empty when nothing)."""
    import requests
    from schemathesis.core.failures import FailureGroup

    try:
        response = case.call(base_url=base_url, session=session, timeout=15)
    except requests.RequestException as exc:
        return [Failure(str(route), mode, "server error", None,
                        f"no answer: {type(exc).__name__}: {str(exc)[:200]}",
                        _curl(case, base_url))]
    run.statuses[response.status_code] += 1
    failures = []
    if response.status_code >= 500:
        failures.append(Failure(str(route), mode, "server error", response.status_code,
                                _text(response), _curl(case, base_url)))
    try:
        case.validate_response(response, checks=checks)
    except FailureGroup as group:
        failures += [Failure(str(route), mode, failure.title, response.status_code,
                             f"{failure.message[:400]} — answer: {_text(response)}",
                             _curl(case, base_url)) for failure in group.exceptions]
    except AssertionError as exc:
        failures.append(Failure(str(route), mode, "schema", response.status_code,
                                f"{str(exc)[:400]} — answer: {_text(response)}",
                                _curl(case, base_url)))
    return failures


def _text(response: Any, limit: int = 300) -> str:
    text = response.text if isinstance(getattr(response, "text", None), str) else ""
    return text if len(text) <= limit else text[:limit] + "…"


# A curl command longer than this is cut in the report (a drawn body can be large); the head
# still shows what was sent.
MAX_CURL = 8_000


def _curl(case: Any, base_url: str) -> str:
    try:
        command = case.as_curl_command(base_url=base_url)
    except Exception as exc:  # a request curl cannot express: say so, keep the judgement
        return f"(no curl form: {type(exc).__name__}: {exc})"
    return command if len(command) <= MAX_CURL else command[:MAX_CURL] + " …(cut)"
