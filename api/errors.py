"""The API's own errors and the one JSON error format every failure is answered with.

`{"error": {"code", "message", "details"}}`: our exceptions (memory/, ingest/, api/) map to a status by
class; FastAPI's validation errors and Starlette's HTTP errors get the same shape; anything unexpected is
a 500 with no traceback (it is logged, never sent).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from memory.devices import PairingRejected, RefreshRejected
from memory.errors import CatalogInvalid, Conflict, NotFound, PrivyLoopError, ScanRejected

log = logging.getLogger(__name__)


class ApiError(PrivyLoopError):
    """An error raised by the API layer itself; subclasses fix the status."""

    code = "api_error"
    status = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}
        self.headers = headers or {}


class Unauthenticated(ApiError):
    code = "unauthenticated"
    status = 401


class Forbidden(ApiError):
    """Not allowed for this kind of credential (never used to hide someone else's data: that is 404)."""

    code = "forbidden"
    status = 403


class CsrfRejected(Forbidden):
    code = "csrf_rejected"


class RateLimited(ApiError):
    code = "rate_limited"
    status = 429


class PayloadTooLarge(ApiError):
    code = "payload_too_large"
    status = 413


class BadRequest(ApiError):
    code = "bad_request"
    status = 400


# Lower layers' errors: the most specific class listed first wins.
STATUS_BY_CLASS: list[tuple[type[Exception], int]] = [
    (PairingRejected, 401),  # credentials that do not work, whatever the reason
    (RefreshRejected, 401),
    (NotFound, 404),
    (Conflict, 409),
    (ScanRejected, 422),
    (CatalogInvalid, 500),
]

HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited"}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": jsonable_encoder(details or {})}}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def status_of(exc: PrivyLoopError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    for cls, status in STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 400


async def _ours(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PrivyLoopError)
    status = status_of(exc)
    if status >= 500:
        log.error("server-side failure %s on %s", exc.code, request.url.path, exc_info=exc)
        return error_response(status, exc.code, "the server could not complete this request")
    details = exc.details if isinstance(exc, ApiError) else {}
    headers = exc.headers if isinstance(exc, ApiError) else None
    return error_response(status, exc.code, str(exc), details, headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only where and what: echoing the rejected input back could reflect secrets (passwords) into logs.
    problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                for e in exc.errors()]
    return error_response(422, "invalid_request", "the request is not valid", {"problems": problems})


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, None, getattr(exc, "headers", None))


async def _bad_value(request: Request, exc: Exception) -> JSONResponse:
    # Postgres refused a value the caller sent (a NUL byte in text, a number out of range): their mistake.
    return error_response(422, "invalid_value", "a value in the request cannot be stored or searched")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "the server could not complete this request")


def install(app: FastAPI) -> None:
    app.add_exception_handler(PrivyLoopError, _ours)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(psycopg.DataError, _bad_value)
    app.add_exception_handler(Exception, _unexpected)
