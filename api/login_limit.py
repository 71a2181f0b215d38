"""Brute-force brakes on login, registration and pairing: per client address and per account name.

Counts go through the shared Redis limiter when it runs (app.state.ratelimiter, so every API process sees
the same counts); without it, an in-process fixed window from the same `limits` library holds the line.
"""

from __future__ import annotations

import hashlib
import math
import time

from fastapi import Request
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter

from api.errors import RateLimited
from memory.settings import Settings


def _local(request: Request) -> FixedWindowRateLimiter:
    limiter = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = request.app.state.login_limiter = FixedWindowRateLimiter(MemoryStorage())
    return limiter


async def check_login_allowed(request: Request, settings: Settings, account: str) -> None:
    item = parse(settings.rate_limit_login)
    # The account name is hashed: rate-limit keys end up in Redis and must not carry personal values.
    who = hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]
    address = request.client.host if request.client else "unknown"
    shared = getattr(request.app.state, "ratelimiter", None)
    for key in (("login-ip", address), ("login-account", who)):
        if shared is not None:
            verdict = await shared.check(item, *key)
            allowed, retry = verdict.allowed, verdict.retry_after
        else:
            local = _local(request)
            allowed, retry = await local.hit(item, *key), 0
            if not allowed:
                stats = await local.get_window_stats(item, *key)
                retry = max(1, math.ceil(stats.reset_time - time.time()))
        if not allowed:
            raise RateLimited("too many attempts; retry later", details={"retry_after": retry},
                              headers={"Retry-After": str(retry)})
