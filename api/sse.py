"""The one SSE event format, used by the LangGraph-compatible run streams and by /api/events.

Each event is `event: <name>` plus a single `data:` line of compact JSON (json.dumps escapes newlines, so data
never spans lines), separated by a blank line; heartbeats are comment lines (`: ping`), which every SSE parser
(the official langgraph_sdk included) skips. Framing is sse-starlette's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import anyio
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.metrics import ACTIVE_STREAMS

# Event names. The run-stream ones are LangGraph Platform's, so its clients parse them unchanged.
METADATA = "metadata"  # first event of a run: {"run_id", "thread_id"}
VALUES = "values"
UPDATES = "updates"
MESSAGES = "messages"  # stream_mode "messages-tuple": [message_chunk, metadata]
CUSTOM = "custom"  # tool steps and citations, written by the agent through its stream writer
ERROR = "error"  # {"error": <kind>, "message": <text>}; the stream ends after it
END = "end"  # last event when a run ends normally or the server shuts down
EVENT = "event"  # /api/events: one user event ({"type": ..., ...})

SHUTTING_DOWN = {"error": "ServerShuttingDown", "message": "the server is shutting down; retry shortly"}


def to_jsonable(obj: Any) -> Any:
    """json.dumps default: LangChain messages and other pydantic models, dataclasses, ids and times."""
    if isinstance(obj, BaseModel):
        return obj.model_dump()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (UUID, Enum)):
        return str(obj.value if isinstance(obj, Enum) else obj)
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    # Anything else (callbacks, config objects in run metadata) is not the client's business.
    return None


def dumps(data: Any) -> str:
    return json.dumps(data, default=to_jsonable, separators=(",", ":"), ensure_ascii=False)


def event(name: str, data: Any) -> ServerSentEvent:
    return ServerSentEvent(data=dumps(data), event=name, sep="\n")


async def _until_shutdown(
    source: AsyncIterator[ServerSentEvent], shutdown: anyio.Event, kind: str
) -> AsyncIterator[ServerSentEvent]:
    """Relay `source`; when the server starts shutting down, say so and end the stream cleanly."""
    ACTIVE_STREAMS.labels(kind).inc()
    waiter = asyncio.ensure_future(shutdown.wait())
    nxt: asyncio.Future[ServerSentEvent] | None = None
    try:
        while True:
            nxt = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({nxt, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if nxt in done:
                try:
                    item = nxt.result()
                except StopAsyncIteration:
                    return
                nxt = None
                yield item
                continue
            yield event(ERROR, SHUTTING_DOWN)
            yield event(END, {"status": "interrupted", "reason": "shutdown"})
            return
    finally:
        ACTIVE_STREAMS.labels(kind).dec()
        waiter.cancel()
        # Shielded: on disconnect the surrounding anyio scope is cancelled, and this cleanup (which cancels a
        # run's task inside the source's finally) must still run to the end.
        with anyio.CancelScope(shield=True):
            if nxt is not None and not nxt.done():
                nxt.cancel()
                await asyncio.gather(nxt, return_exceptions=True)
            await source.aclose()  # type: ignore[attr-defined]


def response(source: AsyncIterator[ServerSentEvent], *, kind: str, heartbeat: float,
             grace: float, headers: dict[str, str] | None = None) -> EventSourceResponse:
    shutdown = anyio.Event()
    return EventSourceResponse(
        _until_shutdown(source, shutdown, kind), ping=heartbeat, headers=headers,
        shutdown_event=shutdown, shutdown_grace_period=grace, sep="\n",
    )
