"""An httpx client for the platform contract that records every exchange for the report."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from canaryspec.responses import MISSING, dig
from canaryspec.vocabulary import API, OPENAPI, JobKind

# Values under keys like these never reach a report.
SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|authori[sz]ation|credential",
                        re.IGNORECASE)
REDACTED = "***"


# In text (a malformed body, a URL's query): `"password": "x"`, `password=x`, `token: x`.
# A key starts where a word starts (the look-behind): without it, every position inside a long
# word was a new start, and a 10 kB body took seconds (seen: ten minutes for one report).
SECRET_IN_TEXT = re.compile(
    r"""(?<![\w.-])(?P<key>["']?[\w.-]*(?:pass(?:word)?|secret|token|api[_-]?key|"""
    r"""authori[sz]ation|credential)[\w.-]*["']?\s*[:=]\s*)(?P<quote>["']?)"""
    r"""(?P<value>[^"'&,\s}]+)""",
    re.IGNORECASE)


def redact_text(text: str) -> str:
    """Text with the value after every secret-looking key masked."""
    return SECRET_IN_TEXT.sub(lambda m: f"{m['key']}{m['quote']}{REDACTED}", text)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with every secret-looking field's value masked."""
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and SECRET_KEY.search(k) else redact(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


# What a report keeps of one body: a hostile request of a megabyte is shown by its start.
MAX_SHOWN = 4_000


def _cut(text: str) -> str:
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}… ({len(text):,} characters in all)"


def _shown(body: Any) -> Any:
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return body if len(text) <= MAX_SHOWN else _cut(text)


@dataclass
class Exchange:
    """One HTTP request and its answer, as a QA reviewer would want to read it."""

    method: str
    url: str
    request_body: Any
    status: int | None
    response_body: Any
    elapsed_ms: float
    error: str | None = None

    def render(self) -> str:
        lines = [f"{self.method} {redact_text(self.url)}"]
        if self.request_body is not None:
            body = self.request_body
            text = redact_text(body) if isinstance(body, str) else json.dumps(
                redact(body), indent=2, default=str)
            lines.append(f"request: {text}")
        if self.error:
            lines.append(f"error: {self.error}")
        else:
            lines.append(f"status: {self.status} ({self.elapsed_ms:.0f} ms)")
            body = self.response_body
            text = json.dumps(redact(body), indent=2, default=str) if not isinstance(body, str) \
                else redact_text(body)
            lines.append(f"response: {_cut(text)}")
        return "\n".join(lines)


# Keys under which an answer repeats what it was sent (pydantic's `input`): not what it says.
ECHO_KEYS = frozenset({"input"})


def _without_echo(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_echo(v) for k, v in value.items() if k not in ECHO_KEYS}
    if isinstance(value, list):
        return [_without_echo(v) for v in value]
    return value


@dataclass
class Reply:
    """A response reduced to what steps assert on."""

    status: int
    body: Any
    # The answer's size in bytes and its media type, as sent (0 and "" when not known).
    size: int = 0
    content_type: str = ""

    def brief(self, limit: int = 400) -> str:
        text = json.dumps(self.body, default=str) if not isinstance(self.body, str) else self.body
        return f"{self.status} {text[:limit]}"

    def mentions(self, text: str) -> bool:
        """Whether the answer says `text` anywhere (a field name, a value, a message)."""
        body = self.body if isinstance(self.body, str) else json.dumps(self.body, default=str)
        return text in body

    def says(self, text: str) -> bool:
        """Whether the answer says `text` (case aside) in its own words: what it repeats of the
        request (a validation error's `input`) does not count, so an error that echoes the
        whole body back does not "name" every field in it."""
        own = self.body if isinstance(self.body, str) else json.dumps(_without_echo(self.body),
                                                                      default=str)
        return text.lower() in own.lower()

    @property
    def is_json_object(self) -> bool:
        """Whether the answer is a JSON object (an error in a shape, not plain text)."""
        return self.content_type.split(";")[0].strip() == "application/json" and \
            isinstance(self.body, dict)

    def field(self, path: str) -> Any:
        """A field of the answer by dotted path (`database.migrated`), or None."""
        value = dig(self.body, path)
        return None if value is MISSING else value

    def detail(self, key: str) -> Any:
        """A field of the error's `detail` object (the contract's 503 body), or None."""
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return detail.get(key) if isinstance(detail, dict) else None

    @property
    def operation_id(self) -> str | None:
        """Training answers `task_id`, backtests `operation_id` (the contract differs by
        route)."""
        if not isinstance(self.body, dict):
            return None
        return self.body.get("operation_id") or self.body.get("task_id")


# How many exchanges not yet in the report a client keeps: a long watch polls ten times a
# second for as long as a job makes progress, and the real platform's answers are large (a
# run against it grew to 1.8 GB); the report keeps the latest and says how many it left out.
KEPT_EXCHANGES = 300


@dataclass
class PlatformClient:
    """The platform's HTTP API at `base_url`; its calls are kept in `exchanges` until they are
    reported (the latest KEPT_EXCHANGES of them)."""

    base_url: str
    timeout_s: float = 10.0
    exchanges: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout_s)
        self._reported = 0
        self.left_out = 0  # unreported exchanges dropped since the last report

    def close(self) -> None:
        self._http.close()

    def unreported(self) -> list[Exchange]:
        """Exchanges since the last call: each goes into the report once (the reported ones
        are let go: the report holds them)."""
        new = self.exchanges[self._reported:]
        self.exchanges, self._reported, self.left_out = [], 0, 0
        return new

    def _keep(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        if len(self.exchanges) - self._reported > KEPT_EXCHANGES:
            del self.exchanges[self._reported]
            self.left_out += 1

    def request(self, method: str, path: str, *, json_body: Any = None,
                params: dict[str, Any] | None = None, raw_body: str | None = None,
                content_type: str = "application/json") -> Reply:
        """Send one request (a JSON body, or `raw_body` sent as-is and labelled
        `content_type`); transport errors propagate (waits treat them as transient)."""
        url = f"{self.base_url}{path}"
        sent = raw_body if raw_body is not None else json_body
        extra: dict[str, Any] = {"json": json_body} if raw_body is None else {
            "content": raw_body, "headers": {"Content-Type": content_type}}
        started = time.perf_counter()
        try:
            response = self._http.request(method, path, params=params, **extra)
        except httpx.HTTPError as exc:
            self._keep(Exchange(method, url, _shown(sent), None, None,
                                (time.perf_counter() - started) * 1000, str(exc)))
            raise
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        # The report shows an answer cut to MAX_SHOWN: keep no more of it. The real platform's
        # operation grows a metrics history (15 MB into a long training): kept whole, 300 of
        # them held a run at 9.4 GB.
        kept = body if len(response.content) <= MAX_SHOWN else _cut(response.text)
        self._keep(Exchange(method, str(response.request.url), _shown(sent),
                            response.status_code, kept, (time.perf_counter() - started) * 1000))
        return Reply(response.status_code, body, len(response.content),
                     response.headers.get("content-type", ""))

    # --- the contract, by resource -------------------------------------------------------
    def health(self) -> Reply:
        return self.request("GET", f"{API}/health")

    def workers(self, worker_type: str | None = None, status: str | None = None) -> Reply:
        params = {k: v for k, v in {"worker_type": worker_type, "status": status}.items() if v}
        return self.request("GET", f"{API}/workers", params=params or None)

    def worker(self, worker_id: str) -> Reply:
        return self.request("GET", f"{API}/workers/{worker_id}")

    def send_raw(self, method: str, path: str, content: str) -> Reply:
        """Send a body as-is (malformed JSON included), labelled as JSON."""
        return self.request(method, path, raw_body=content)

    def send(self, method: str, path: str, body: Any, content_type: str) -> Reply:
        """Send whatever a hostile request is: no body, JSON, or text under its own type."""
        if body is None:
            return self.request(method, path)
        if isinstance(body, str) or content_type != "application/json":
            return self.request(method, path, raw_body=str(body), content_type=content_type)
        return self.request(method, path, json_body=body)

    def start(self, job: JobKind, request: dict[str, Any] | str) -> Reply:
        """Ask for a job: a JSON request, or text sent as-is (malformed JSON included)."""
        if isinstance(request, str):
            return self.send_raw("POST", job.start_path, request)
        return self.request("POST", job.start_path, json_body=request)

    def operation(self, operation_id: str) -> Reply:
        return self.request("GET", f"{API}/operations/{operation_id}")

    def operations(self, **filters: Any) -> Reply:
        params = {k: v for k, v in filters.items() if v is not None}
        return self.request("GET", f"{API}/operations", params=params or None)

    def operation_results(self, operation_id: str) -> Reply:
        return self.request("GET", f"{API}/operations/{operation_id}/results")

    def cancel_operation(self, operation_id: str) -> Reply:
        return self.request("DELETE", f"{API}/operations/{operation_id}")

    def api_document(self) -> Reply:
        """The backend's OpenAPI document."""
        return self.request("GET", OPENAPI)

    def strategies(self) -> Reply:
        return self.request("GET", f"{API}/strategies")



def declared_statuses(document: Any, method: str, route: str) -> frozenset[str]:
    """The response codes an OpenAPI document declares for one route (`route` as the document
    writes it, e.g. /api/v1/operations/{operation_id}), as it writes them: "503", a range such
    as "5XX", or "default"; empty when it has no such route."""
    try:
        return frozenset(str(code) for code in
                         document["paths"][route][method.lower()]["responses"])
    except (KeyError, TypeError, AttributeError):
        return frozenset()


@dataclass(frozen=True)
class RouteAnswer:
    """One route's answer beside what the backend's API document declares for the route."""

    route: str                 # as the document writes it (/api/v1/operations/{operation_id})
    reply: Reply
    declared: frozenset[str]   # its response codes as the document writes them

    def declares(self, status: int) -> bool:
        """The document declares this status for the route (itself, its range, or default)."""
        return bool({str(status), f"{status // 100}XX", "default"} & self.declared)

    def refusal_problem(self) -> str:
        """Why this answer is not what a route whose database is away must give — a server-side
        refusal (5xx) the document declares — ("" when it is)."""
        if self.reply.status // 100 != 5:
            return (f"{self.route} answered {self.reply.brief(200)}: not a refusal saying the "
                    "server cannot answer now (a 5xx)")
        if not self.declares(self.reply.status):
            return (f"{self.route} answered {self.reply.status}, a status its API document does "
                    f"not declare for it (declared: {', '.join(sorted(self.declared)) or 'none'})")
        return ""
