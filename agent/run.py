"""Running one turn: stream it (for the API and the CLI) or collect it (for tests, digests and benchmarks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.messages import AIMessageChunk, HumanMessage
from langgraph.errors import GraphRecursionError

from agent.context import Context
from memory.db import Database
from memory.errors import PrivyLoopError
from memory.threads import ensure_thread

TURN_SECONDS = 60.0
STREAM_MODES = ["messages", "custom", "updates"]


async def stream_turn(graph: Any, *, thread_id: UUID | str, message: str, context: Context,
                      db: Database | None = None, turn_seconds: float = TURN_SECONDS
                      ) -> AsyncIterator[tuple[str, Any]]:
    """Yield (mode, payload) as the turn runs: "messages" (token chunk, metadata), "custom" (tool_start,
    tool_end, citations, answer_done, error events) and "updates" (node outputs).

    With db, the thread is registered to (and checked against) the context's user first.
    """
    if db is not None:
        async with db.connection() as conn:
            await ensure_thread(conn, context.user_id, UUID(str(thread_id)), first_message=message,
                                channel=context.channel)
    config = {"configurable": {"thread_id": str(thread_id)}}
    # Chat threads are resumable after each step; the popup and digests only need the final state kept.
    durability = "async" if context.channel == "chat" else "exit"
    try:
        async with asyncio.timeout(turn_seconds):
            async for mode, payload in graph.astream({"messages": [HumanMessage(message)]}, config,
                                                     context=context, stream_mode=STREAM_MODES,
                                                     durability=durability):
                yield mode, payload
    except TimeoutError:
        yield "custom", {"event": "error", "code": "turn_timeout",
                         "message": "Sorry, that took too long to answer. Please try again."}
    except GraphRecursionError:
        yield "custom", {"event": "error", "code": "too_many_steps",
                         "message": "Sorry, I needed too many steps for that question."}
    except PrivyLoopError as exc:
        yield "custom", {"event": "error", "code": exc.code, "message": str(exc)}


@dataclass
class Turn:
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    route: str | None = None
    intent: str | None = None
    llm_calls: int = 0
    fallback: str | None = None
    error: str | None = None
    first_token_s: float | None = None
    total_s: float = 0.0


async def ask(graph: Any, *, thread_id: UUID | str, message: str, context: Context, db: Database | None = None,
              turn_seconds: float = TURN_SECONDS) -> Turn:
    """Run a turn to the end and collect what a client would have shown."""
    turn = Turn()
    started = time.perf_counter()
    streamed = ""
    async for mode, payload in stream_turn(graph, thread_id=thread_id, message=message, context=context, db=db,
                                           turn_seconds=turn_seconds):
        if mode == "messages":
            chunk, meta = payload
            if isinstance(chunk, AIMessageChunk) and meta.get("langgraph_node") == "agent" and chunk.content:
                if turn.first_token_s is None:
                    turn.first_token_s = time.perf_counter() - started
                streamed += chunk.text
        elif mode == "custom":
            turn.events.append(payload)
            if payload["event"] == "tool_start":
                turn.tool_calls.append({"name": payload["tool"], "args": payload["args"]})
            elif payload["event"] == "citations":
                turn.citations = payload["citations"]
            elif payload["event"] == "answer_done":
                turn.route, turn.intent = payload["route"], payload["intent"]
                turn.llm_calls, turn.fallback = payload["llm_calls"], payload["fallback"]
            elif payload["event"] == "error":
                turn.error = payload["message"]
        elif mode == "updates" and "finalize" in (payload or {}):
            final = (payload["finalize"] or {}).get("messages")
            if final:
                streamed = str(final[-1].content)  # the checked answer replaces what was streamed
    turn.text = streamed or (turn.error or "")
    turn.total_s = time.perf_counter() - started
    return turn
