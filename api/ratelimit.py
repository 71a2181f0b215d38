"""Per-user and per-IP rate limits with the `limits` library: Redis-backed, in-process while Redis is down.

Counting in Redis makes a limit hold across API processes. When Redis is unreachable the limits still apply
per process (a fallback, not fail-open), so an outage does not turn into a free-for-all.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import RateLimited
from api.redis_state import RedisState
from memory.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets; 0 when allowed


class RateLimiter:
    """Fixed-window limits keyed by ("user", id) or ("ip", address)."""

    def __init__(self, redis: RedisState, settings: Settings) -> None:
        self.redis = redis
        self.user_limit: RateLimitItem = parse(settings.rate_limit_user)
        self.ip_limit: RateLimitItem = parse(settings.rate_limit_ip)
        url = redis.url.replace("redis://", "async+redis://", 1)
        # Share the API's connection pool: its short timeouts and no-retry policy apply, and one pool closes.
        self._shared = FixedWindowRateLimiter(RedisStorage(
            url, implementation="redispy", wrap_exceptions=True, key_prefix="privyloop-rl",
            connection_pool=redis.client.connection_pool,
        ))
        self._local = FixedWindowRateLimiter(MemoryStorage())

    async def check(self, item: RateLimitItem, *key: str) -> Verdict:
        limiter = self._local
        if self.redis.up:
            try:
                return await self._verdict(self._shared, item, key)
            except StorageError as exc:
                self.redis.mark_down(exc)
        return await self._verdict(limiter, item, key)

    @staticmethod
    async def _verdict(limiter: FixedWindowRateLimiter, item: RateLimitItem, key: tuple[str, ...]) -> Verdict:
        if await limiter.hit(item, *key):
            return Verdict(True, 0)
        stats = await limiter.get_window_stats(item, *key)
        return Verdict(False, max(1, math.ceil(stats.reset_time - time.time())))

    async def check_user(self, user_id: Any) -> Verdict:
        return await self.check(self.user_limit, "user", str(user_id))

    async def check_ip(self, address: str) -> Verdict:
        return await self.check(self.ip_limit, "ip", address)

    async def close(self) -> None:
        """Nothing of its own to close: the Redis pool belongs to RedisState."""


def too_many(verdict: Verdict) -> RateLimited:
    return RateLimited("too many requests; retry later", details={"retry_after": verdict.retry_after},
                       headers={"Retry-After": str(verdict.retry_after)})


async def limit_user(request: Request, user_id: Any) -> None:
    """Raise 429 when this user is over their limit; routes call it through a dependency after auth."""
    limiter: RateLimiter | None = getattr(request.app.state, "ratelimiter", None)
    if limiter is None:
        return
    verdict = await limiter.check_user(user_id)
    if not verdict.allowed:
        raise too_many(verdict)


# Cheap, unauthenticated probes stay outside the per-IP limit so monitoring never locks itself out.
EXEMPT_PATHS = ("/api/health", "/metrics")


class IPRateLimitMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so streaming responses pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        limiter: RateLimiter | None = getattr(scope["app"].state, "ratelimiter", None)
        client = scope.get("client")
        if limiter is not None and client:
            verdict = await limiter.check_ip(client[0])
            if not verdict.allowed:
                await _send_429(send, verdict)
                return
        await self.app(scope, receive, send)


async def _send_429(send: Send, verdict: Verdict) -> None:
    body = json.dumps({"error": {"code": "rate_limited", "message": "too many requests; retry later",
                                 "details": {"retry_after": verdict.retry_after}}}).encode()
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(verdict.retry_after).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
