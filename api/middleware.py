"""Edge middleware, pure ASGI so streamed (SSE) responses pass through untouched: security headers and
request body limits."""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory.settings import Settings

# Pages get a CSP that allows nothing but our own origin; pages that need more (the API docs) set their own.
STRICT_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SCAN_PATHS = ("/api/extension/scans",)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hsts = settings.env != "development"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", STRICT_CSP)
                else:
                    # JSON and streams are never rendered; deny everything should one be opened as a page.
                    headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, with_headers)


class _TooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing re-raises it (it turns other errors into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over {limit} bytes")
        self.limit = limit


class BodyLimit:
    """413 in the JSON error format for bodies over the limit, declared (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.default = settings.max_request_bytes
        self.scans = settings.max_scan_bytes

    def limit_for(self, path: str) -> int:
        return self.scans if path.startswith(SCAN_PATHS) else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_413(send, limit)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"error": {"code": "payload_too_large", "message": f"the body is over {limit} bytes",
                                 "details": {"limit_bytes": limit}}}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
