"""Short-lived Redis cache for hot per-user reads (dashboard, changes), invalidated when a scan lands.

Invalidation bumps a per-user generation number that is part of every key, so one INCR retires all of a
user's cached reads without scanning keys; the stale entries expire on their own TTL. Without Redis the
loader simply runs: the cache is an optimisation, never a source of truth.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter
from redis.exceptions import RedisError

from api.redis_state import RedisState
from api.sse import dumps

CACHE = Counter("privyloop_cache_total", "Cached reads", ["result"])


def _gen_key(user_id: Any) -> str:
    return f"privyloop:cachegen:{user_id}"


async def cached_json(redis: RedisState, user_id: Any, name: str, ttl: int,
                      loader: Callable[[], Awaitable[Any]]) -> Any:
    """The loader's JSON-ready result, from cache when fresh. A hit returns decoded JSON (dates as strings)."""
    if not redis.up:
        CACHE.labels("bypass").inc()
        return await loader()
    try:
        generation = int(await redis.client.get(_gen_key(user_id)) or 0)
        key = f"privyloop:cache:{user_id}:{generation}:{name}"
        hit = await redis.client.get(key)
    except (RedisError, OSError) as exc:
        redis.mark_down(exc)
        CACHE.labels("bypass").inc()
        return await loader()
    if hit is not None:
        CACHE.labels("hit").inc()
        return json.loads(hit)
    CACHE.labels("miss").inc()
    value = await loader()
    try:
        await redis.client.set(key, dumps(value), ex=ttl)
    except (RedisError, OSError) as exc:
        redis.mark_down(exc)
    return value


async def invalidate_user(redis: RedisState, user_id: Any) -> None:
    if not redis.up:
        return  # entries written before the outage expire by TTL
    try:
        await redis.client.incr(_gen_key(user_id))
    except (RedisError, OSError) as exc:
        redis.mark_down(exc)
