"""Every error a tradelab API answers, in one documented JSON shape (never plain text).

    {"success": false,
     "error": {"code": "VALIDATION_ERROR", "message": "symbol: String should match pattern …",
               "field": "symbol", "details": [{"field": "symbol", "message": "…"}]},
     "detail": …}

`error` is the real platform's error envelope (its validation errors have this shape);
`error.field` names the first field refused (null when no one field is to blame); `detail` is
what the contract's clients read from an HTTP error (a string, or the 503's object naming the
missing worker type). Bodies are bounded: messages are cut, at most MAX_DETAILS fields are
listed, and nothing echoes the request back (a 1 MB name is never repeated in the answer).
Unexpected errors are a 500 in the same shape, naming no internals.

Shared by the backend and the workers; no torch here.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tradelab.errors")

MAX_MESSAGE = 300          # characters of one message
MAX_DETAILS = 10           # fields listed in one error
MAX_DETAIL_JSON = 2_000    # characters of the contract's `detail` once serialised
# A request body larger than this is refused before it is read (the largest valid request is a
# few hundred bytes; a megabyte name must still reach validation and be refused by its field).
MAX_BODY_BYTES = 4 * 1024 * 1024

CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
         409: "CONFLICT", 413: "CONTENT_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
         422: "VALIDATION_ERROR", 500: "INTERNAL_ERROR", 502: "WORKER_REFUSED",
         503: "UNAVAILABLE"}


class FieldError(BaseModel):
    field: str | None = Field(description="the field refused (dotted path), or null")
    message: str


class ErrorInfo(BaseModel):
    code: str = Field(description="one of " + ", ".join(sorted(set(CODES.values()))))
    message: str
    field: str | None = Field(default=None, description="the first field refused, or null")
    details: list[FieldError] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The one shape of every error answer."""

    success: bool = False
    error: ErrorInfo
    detail: Any = Field(default=None, description="the contract's HTTP error detail")


def plain_json(value: Any) -> Any:
    """A validator for free-form JSON a request carries (capabilities, a result summary):
    `value` if no string in it holds a NUL byte and no number is NaN or infinite. Either would
    pass a loose schema and fail later, where the error is no longer the client's: PostgreSQL
    refuses both, and a JSON answer cannot carry a NaN."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            raise ValueError("text must not contain a NUL byte")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite (no NaN or infinity)")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return value


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each status it may answer besides 200, in the error
    shape (the 500 of an unexpected error on every route)."""
    return {status: {"model": ErrorBody, "description": CODES.get(status, "error")}
            for status in sorted({*statuses, 500})}


class Refused(Exception):
    """A request refused by a route's own check, naming the field to blame."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 detail: Any = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.detail = message if detail is None else detail


def _cut(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _bounded_detail(detail: Any) -> Any:
    if isinstance(detail, str):
        return _cut(detail, MAX_DETAIL_JSON)
    try:
        shown = json.dumps(detail, default=str)
    except (TypeError, ValueError):
        return None
    return detail if len(shown) <= MAX_DETAIL_JSON else _cut(shown, MAX_DETAIL_JSON)


def error_body(status: int, message: str, *, field: str | None = None,
               details: Iterable[FieldError] = (), detail: Any = None) -> dict[str, Any]:
    listed = list(details)[:MAX_DETAILS]
    return ErrorBody(error=ErrorInfo(code=CODES.get(status, f"HTTP_{status}"),
                                     message=_cut(message), field=field, details=listed),
                     detail=_bounded_detail(detail)).model_dump(mode="json")


def respond(status: int, message: str, *, headers: dict[str, str] | None = None,
            **kwargs: Any) -> JSONResponse:
    return JSONResponse(error_body(status, message, **kwargs), status_code=status,
                        headers=headers)


def _field_of(loc: Iterable[Any]) -> str:
    """("body", "symbols", 0) -> "symbols.0"; ("body",) or a JSON position -> "body"."""
    parts = [str(p) for p in loc if p not in {"body", "query", "path", "header"}
             and not isinstance(p, int | float)] or ["body"]
    return ".".join(parts)


def _message_of(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        message = f"Malformed JSON: {reason}" if reason else "Malformed JSON"
    return _cut(message.removeprefix("Value error, "))


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    details = [FieldError(field=_field_of(err.get("loc", ())), message=_message_of(err))
               for err in exc.errors()]
    first = details[0] if details else FieldError(field=None, message="invalid request")
    return respond(422, f"Request validation failed: {first.field}: {first.message}",
                   field=first.field, details=details, detail=f"{first.field}: {first.message}")


async def _refused(_: Request, exc: Refused) -> JSONResponse:
    details = [FieldError(field=exc.field, message=_cut(exc.message))] if exc.field else []
    return respond(exc.status, exc.message, field=exc.field, details=details, detail=exc.detail)


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    detail = exc.detail
    message = str(detail.get("error") or detail) if isinstance(detail, dict) else str(detail)
    return respond(exc.status_code, message, detail=detail, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The cause goes to the log under a reference the answer gives; never to the client.
    reference = secrets.token_hex(4)
    log.error("unexpected error %s on %s %s", reference, request.method, request.url.path,
              exc_info=exc)
    return respond(500, f"Internal error (reference {reference}); nothing was recorded",
                   detail=f"Internal error (reference {reference})")


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"Request body larger than {MAX_BODY_BYTES} bytes")


class BoundedBody:
    """Refuse a request body past MAX_BODY_BYTES: at once when its Content-Length says so,
    else as soon as the bytes read pass it (the route's handler then answers 413)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            # Not read: the connection is closed after the answer, whatever is still coming.
            response = respond(413, f"Request body larger than {self.max_bytes} bytes",
                               field="body", headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)


def require_json(request: Request) -> None:
    """A route's dependency: a body it reads must be sent as JSON (a form or plain text is
    415, naming the header, not a confusing 'Input should be a valid dictionary')."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        shown = _cut(content_type, 60) or "none"
        raise Refused(415, f"Content-Type {shown!r} is not accepted: send application/json",
                      field="Content-Type")


def install(app: FastAPI) -> None:
    """Give `app` the one error shape for every error, and the body bound."""
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Refused, _refused)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BoundedBody)
