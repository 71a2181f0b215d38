"""Cross-process user events over Redis pub/sub, and GET /api/events, the user's SSE feed of them.

A scan finishing in one API process is published on the user's channel; every process holds one pattern
subscription and hands each message to its local streams for that user. One Redis connection per process
(not per stream) is what lets a process hold thousands of open streams.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent

from api import sse
from api.cache import invalidate_user
from api.deps import CurrentUser
from api.redis_state import RedisState

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "privyloop:events:"
QUEUE_SIZE = 100
# Events after which a user's cached reads are stale.
INVALIDATING = {"scan.completed", "scan.failed", "settings.changed"}


class EventHub:
    """Local fan-out of the process's single pattern subscription."""

    def __init__(self, redis: RedisState) -> None:
        self.redis = redis
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._recovered = asyncio.Event()
        redis.on_recover(self._recovered.set)
        redis.hub = self  # type: ignore[attr-defined]  # publish_user_event's in-process fallback

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def subscribe(self, user_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[user_id].add(queue)
        return queue

    def unsubscribe(self, user_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        queues = self._subscribers.get(user_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[user_id]

    def deliver(self, user_id: str, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(user_id, ())):
            if queue.full():  # a stalled client loses its oldest event rather than stalling everyone
                queue.get_nowait()
            queue.put_nowait(event)

    async def _listen(self) -> None:
        while True:
            if not self.redis.up:
                self._recovered.clear()
                await self._recovered.wait()
            pubsub = self.redis.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                while self.redis.up:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    user_id = message["channel"].decode()[len(CHANNEL_PREFIX):]
                    self.deliver(user_id, json.loads(message["data"]))
            except (RedisError, OSError) as exc:
                self.redis.mark_down(exc)
            finally:
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass


async def publish_user_event(redis: RedisState, user_id: Any, event: dict[str, Any]) -> None:
    """Send `event` ({"type": ..., ...}) to the user's open streams in every process sharing this Redis.

    Without Redis it still reaches this process's streams; other processes miss it (and say so in health).
    """
    uid = str(user_id)
    if event.get("type") in INVALIDATING:
        await invalidate_user(redis, uid)
    if redis.up:
        try:
            await redis.client.publish(CHANNEL_PREFIX + uid, sse.dumps(event))
            return
        except (RedisError, OSError) as exc:
            redis.mark_down(exc)
    hub: EventHub | None = getattr(redis, "hub", None)
    if hub is not None:
        hub.deliver(uid, event)


router = APIRouter(tags=["events"])


@router.get("/api/events", response_class=EventSourceResponse)
async def user_events(request: Request, user: CurrentUser) -> EventSourceResponse:
    """The signed-in user's events (scan finished, changes detected) as SSE, until the client leaves."""
    hub: EventHub = request.app.state.events
    uid = str(user.user_id)
    queue = hub.subscribe(uid)

    async def relay() -> AsyncIterator[ServerSentEvent]:
        try:
            yield sse.event(sse.METADATA, {"stream": "events"})
            while True:
                yield sse.event(sse.EVENT, await queue.get())
        finally:
            hub.unsubscribe(uid, queue)

    settings = request.app.state.settings
    return sse.response(relay(), kind="events", heartbeat=settings.sse_heartbeat_seconds,
                        grace=settings.shutdown_grace_seconds)
