"""Streaming-side test helpers: users with API tokens, small graphs on the real persistence, live servers.

Import with `from tests.api.stream_fixtures import *`. Live servers are real uvicorn instances on loopback:
in a thread (fast) or, where process boundaries or signals matter, in a subprocess started from __main__ here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Annotated, Any, TypedDict
from uuid import UUID

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AnyMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime

from agent.context import Context
from api.app import create_app
from api.security import new_token, token_hash
from memory import accounts
from memory.settings import Settings
from memory.users import create_user

__all__ = [
    "ANSWER",
    "CANCELLED",
    "LiveServer",
    "ServerProcess",
    "free_port",
    "live_server",
    "make_user",
    "sdk_settings",
    "stream_settings",
    "tiny_graph_factory",
]

ANSWER = "Two settings changed since your last scan."
# Run ids whose graph node saw cancellation: the disconnect test reads it.
CANCELLED: list[str] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def make_user(conn: Any, email: str, tier: str = "free") -> tuple[UUID, str]:
    """A user and a bearer API token for them."""
    user = await create_user(conn, email, tier=tier)
    token = new_token("api")
    await accounts.create_api_token(conn, user["id"], "tests", token[:8], token_hash(token), timedelta(days=1))
    return user["id"], token


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def tiny_graph_factory(*, delay: float = 0.0, steps: int = 1, fail: bool = False) -> Any:
    """A one-node graph shaped like the agent: tool step + citation as custom events, a streamed model answer
    that names the context's user (so tests see whose run it was)."""

    def factory(*, checkpointer: Any, store: Any) -> Any:
        async def agent(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
            write = get_stream_writer()
            write({"type": "tool_step", "tool": "recent_changes", "status": "started"})
            try:
                for i in range(steps):
                    await asyncio.sleep(delay)
                    write({"type": "tool_step", "tool": "recent_changes", "status": "working", "step": i})
            except asyncio.CancelledError:
                CANCELLED.append(str(runtime.context.user_id))
                raise
            if fail:
                raise RuntimeError("secret internal detail")
            write({"type": "citation", "source": "acme settings", "url": "https://acme.test/settings"})
            model = FakeListChatModel(responses=[f"{ANSWER} (for {runtime.context.user_id}, {runtime.context.tier})"])
            return {"messages": [await model.ainvoke(state["messages"])]}

        builder = StateGraph(State, context_schema=Context)
        builder.add_node("agent", agent)
        builder.add_edge(START, "agent")
        builder.add_edge("agent", END)
        return builder.compile(checkpointer=checkpointer, store=store)

    return factory


class LiveServer:
    """create_app(settings) served by uvicorn in a background thread on a free loopback port."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on",
                                timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def call(self, coro: Any, timeout: float = 10) -> Any:
        """Run a coroutine on the server's own event loop (where its Redis and pools live)."""
        loop = self.app.state.loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def stream_settings(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(update={"sse_heartbeat_seconds": 15.0, "shutdown_grace_seconds": 2.0,
                                       "redis_probe_seconds": 0.2, **overrides})


@contextlib.contextmanager
def live_server(settings: Settings, graph_factory: Any = None, *, real_agent: bool = False) -> Iterator[LiveServer]:
    """real_agent=True serves the agent package's graph (offline model without a Gemini key)."""
    app = create_app(settings)
    if not real_agent:
        app.state.graph_factory = graph_factory or tiny_graph_factory()

    server = LiveServer(app)
    _remember_loop(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _remember_loop(app: FastAPI) -> None:
    """Record the serving loop, so tests can run coroutines next to the server's Redis client and pools."""
    original = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        a.state.loop = asyncio.get_running_loop()
        async with original(a):
            yield

    app.router.lifespan_context = lifespan


class ServerProcess:
    """The app in a separate process (`python -m tests.api.stream_fixtures`): for signals and cross-process."""

    def __init__(self, database_url: str, redis_url: str = "", *, delay: float = 0.0, steps: int = 1,
                 grace: float = 2.0, log_path: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PRIVYLOOP_ENV": "test",
               "PRIVYLOOP_SHUTDOWN_GRACE_SECONDS": str(grace), "PRIVYLOOP_REDIS_PROBE_SECONDS": "0.2"}
        self.log = open(log_path or os.devnull, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.api.stream_fixtures", str(self.port), str(delay), str(steps)],
            env=env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                httpx.get(self.url + "/info", timeout=0.5)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@pytest.fixture
def sdk_settings(settings: Settings) -> Settings:
    return stream_settings(settings)


if __name__ == "__main__":  # the ServerProcess entry point
    port, delay, steps = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    application = create_app(Settings())
    application.state.graph_factory = tiny_graph_factory(delay=delay, steps=steps)
    uvicorn.run(application, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=10)
