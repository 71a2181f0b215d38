"""Operations surface: request ids, JSON logs without personal values, Prometheus metrics, /api/health.

`install(app)` mounts all of it, plus the per-IP rate limit and the user event stream (/api/events), which
share this module's middleware and lifecycle.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import time
import uuid
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import LATENCY, REDIS_UP, REQUESTS
from memory.settings import Settings

log = logging.getLogger("privyloop.access")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# ---------------------------------------------------------------- logs

# Whatever slips into a message, these never reach the log: emails, bearer/JWT-looking tokens, URL passwords.
_SCRUB = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(?i)bearer\s+[\w.~+/=-]+"), "Bearer [token]"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+"), "[jwt]"),
    (re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key)(\"?\s*[:=]\s*\"?)[^\s\",}]+"), r"\1\2[redacted]"),
    (re.compile(r"://([^:/@\s]+):([^@\s]+)@"), r"://\1:[redacted]@"),
]
# Extra attributes a log call may attach; anything else passed as `extra` is dropped, not dumped.
_ALLOWED_EXTRAS = ("method", "route", "status", "duration_ms", "component", "error", "run_id", "event")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id, scrubbed of secrets and personal values."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s and len(s) >= 4]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[setting]")
        for pattern, replacement in _SCRUB:
            text = pattern.sub(replacement, text)
        return text

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": round(record.created, 3), "level": record.levelname.lower(), "logger": record.name,
            "request_id": record.__dict__.get("request_id") or request_id_var.get(), "msg": record.getMessage(),
        }
        for key in _ALLOWED_EXTRAS:
            if key in record.__dict__:
                doc[key] = record.__dict__[key]
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return self.scrub(json.dumps(doc, default=str))


def secret_values(settings: Settings) -> list[str]:
    """Setting values that must never be printed: secrets and connection strings."""
    values = [settings.secret_key.get_secret_value(), settings.database_url, settings.redis_url]
    if settings.gemini_api_key is not None:
        values.append(settings.gemini_api_key.get_secret_value())
    return [v for v in values if v]


def configure_logging(settings: Settings, level: int = logging.INFO) -> JsonFormatter:
    """Route the root logger (and uvicorn's) through the JSON formatter; idempotent per process."""
    formatter = JsonFormatter(secret_values(settings))
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_privyloop", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._privyloop = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(formatter)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # ours logs route templates, never query strings
    return formatter


# ---------------------------------------------------------------- request ids, access log, metrics

class RequestContextMiddleware:
    """X-Request-ID in and out, one access-log line and metrics per request; pure ASGI so SSE is not buffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                route = _route_of(scope)
                LATENCY.labels(scope["method"], route).observe(time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = _route_of(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            log.info("request", extra={"request_id": rid, "method": scope["method"], "route": route, "status": status,
                                       "duration_ms": round((time.perf_counter() - start) * 1000, 1)})
            request_id_var.reset(token)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


# ---------------------------------------------------------------- health

router = APIRouter(tags=["operations"])
_model_cache: dict[str, Any] = {"at": 0.0, "value": None}


async def _postgres(request: Request) -> dict[str, Any]:
    db = getattr(request.app.state, "db", None)
    if db is None:
        return {"status": "down", "error": "not_started"}
    try:
        async with asyncio.timeout(2):
            async with db.connection() as conn:
                await conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure is "down"; its class name says which
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "up"}


async def _redis(request: Request) -> dict[str, Any]:
    state = getattr(request.app.state, "redis", None)
    if state is None:
        return {"status": "down", "error": "not_started"}
    up = await state.probe()
    REDIS_UP.set(1 if up else 0)
    if up:
        return {"status": "up"}
    return {"status": "down", "error": state.last_error,
            "fallback": "rate limits per process, cache bypassed, events reach this process only"}


async def _model(settings: Settings) -> dict[str, Any]:
    """The chat model provider; probed at most every 10 s so health stays cheap under load."""
    now = time.monotonic()
    if _model_cache["value"] is not None and now - _model_cache["at"] < 10:
        return dict(_model_cache["value"])
    if settings.gemini_base_url:
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                await client.get(settings.gemini_base_url)
            value: dict[str, Any] = {"status": "up", "provider": "gemini"}
        except httpx.HTTPError as exc:
            value = {"status": "down", "provider": "gemini", "error": type(exc).__name__}
    elif settings.gemini_api_key is not None:
        value = {"status": "up", "provider": "gemini"}  # the public API is not probed: it costs quota
    else:
        # Development and tests run without a key; production without one cannot answer questions.
        value = {"status": "down" if settings.env == "production" else "not_configured", "provider": "gemini"}
    _model_cache.update(at=now, value=value)
    return dict(value)


@router.get("/api/health")
async def health(request: Request) -> JSONResponse:
    """200 when every component is up; 503 with the failing ones named when the API runs degraded."""
    settings: Settings = request.app.state.settings
    postgres, redis, model = await asyncio.gather(_postgres(request), _redis(request), _model(settings))
    components = {"postgres": postgres, "redis": redis, "model": model}
    degraded = any(c["status"] == "down" for c in components.values())
    return JSONResponse({"status": "degraded" if degraded else "ok", "components": components},
                        status_code=503 if degraded else 200)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """Middleware (request ids + metrics outermost, then per-IP limits) and the operational routes."""
    from api import events
    from api.ratelimit import IPRateLimitMiddleware

    settings = getattr(app.state, "settings", None)
    if settings is not None:
        configure_logging(settings)
    app.add_middleware(IPRateLimitMiddleware)
    app.add_middleware(RequestContextMiddleware)  # added last = outermost: it sees the 429s too
    app.include_router(router)
    app.include_router(events.router)
