"""Running the agent for one request and turning its LangGraph stream into SSE events.

The graph runs in its own task feeding a bounded queue: the SSE generator only relays, so a client that
disconnects closes the generator, whose cleanup cancels the task (unless the run asked to continue), and a
slow client applies back-pressure instead of buffering a whole answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sse_starlette import ServerSentEvent

from api import sse
from api.metrics import RUNS

log = logging.getLogger(__name__)

# Platform stream mode -> (LangGraph stream mode, SSE event name).
STREAM_MODES: dict[str, tuple[str, str]] = {
    "values": ("values", sse.VALUES),
    "updates": ("updates", sse.UPDATES),
    "messages-tuple": ("messages", sse.MESSAGES),
    "custom": ("custom", sse.CUSTOM),
}
QUEUE_SIZE = 256
_DONE = object()
_NO_LIMIT = contextlib.nullcontext()


@dataclass
class RunSpec:
    """What one run needs; `context` is built from the authenticated principal, never from the body."""

    run_id: UUID
    thread_id: UUID
    input: Any
    stream_modes: list[str]
    context: Any
    command: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    on_disconnect: str = "cancel"
    metadata: dict[str, Any] = field(default_factory=dict)


def graph_input(spec: RunSpec) -> Any:
    if spec.command:
        from langgraph.types import Command

        return Command(resume=spec.command.get("resume"), update=spec.command.get("update"),
                       goto=spec.command.get("goto") or ())
    return spec.input


def run_config(spec: RunSpec) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": str(spec.thread_id)}
    if spec.checkpoint_id:
        configurable["checkpoint_id"] = spec.checkpoint_id
    return {"configurable": configurable, "run_id": spec.run_id,
            "metadata": {**spec.metadata, "run_id": str(spec.run_id)}}


def _error_data(exc: BaseException) -> dict[str, str]:
    # The class name tells the client what kind of failure; the text of unexpected errors stays in the logs.
    return {"error": type(exc).__name__, "message": "the agent could not finish this answer"}


async def stream_run(graph: Any, spec: RunSpec, background: set[asyncio.Task[Any]] | None = None,
                     on_finish: Any = None, slots: asyncio.Semaphore | None = None) -> AsyncIterator[ServerSentEvent]:
    """metadata, then one event per stream chunk, then `end` (or `error`)."""
    queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
    modes = [STREAM_MODES[m][0] for m in spec.stream_modes]
    names = {STREAM_MODES[m][0]: STREAM_MODES[m][1] for m in spec.stream_modes}

    async def produce() -> None:
        status = "success"
        try:
            # A cap on runs executing at once keeps the event loop responsive (new streams, health) under load;
            # a queued run has already sent its metadata event.
            async with slots or _NO_LIMIT:
                async for mode, chunk in graph.astream(graph_input(spec), run_config(spec), context=spec.context,
                                                       stream_mode=modes):
                    await queue.put((mode, chunk))
            await queue.put(_DONE)
        except asyncio.CancelledError:
            status = "interrupted"
            raise
        except Exception as exc:  # reported to the client as an error event, logged with its traceback
            status = "error"
            log.error("run failed", exc_info=exc, extra={"run_id": str(spec.run_id)})
            await queue.put(exc)
        finally:
            RUNS.labels(status).inc()
            if on_finish is not None:
                on_finish()

    task: asyncio.Task[None] | None = None
    try:
        yield sse.event(sse.METADATA, {"run_id": str(spec.run_id), "thread_id": str(spec.thread_id)})
        task = asyncio.create_task(produce(), name=f"run-{spec.run_id}")
        while True:
            item = await queue.get()
            if item is _DONE:
                yield sse.event(sse.END, {"run_id": str(spec.run_id), "status": "success"})
                return
            if isinstance(item, BaseException):
                yield sse.event(sse.ERROR, _error_data(item))
                return
            mode, chunk = item
            if mode == "messages":
                message, meta = chunk
                chunk = [message, meta]
            yield sse.event(names[mode], chunk)
    finally:
        if task is None:  # closed before the run started: nothing ran, but the thread must be released
            if on_finish is not None:
                on_finish()
        elif not task.done():
            if spec.on_disconnect == "continue" and background is not None:
                # The run finishes (and checkpoints) without a listener; keep a reference so it is not collected.
                background.add(task)
                task.add_done_callback(background.discard)
                _drain(queue, task)
            else:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


def _drain(queue: asyncio.Queue[Any], task: asyncio.Task[Any]) -> None:
    """Keep a detached run from blocking on its full queue."""

    async def drain() -> None:
        while not task.done():
            try:
                await asyncio.wait_for(queue.get(), timeout=1)
            except TimeoutError:
                continue

    asyncio.get_running_loop().create_task(drain())


def checkpoint_json(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    c = config.get("configurable", {})
    return {"thread_id": c.get("thread_id"), "checkpoint_ns": c.get("checkpoint_ns", ""),
            "checkpoint_id": c.get("checkpoint_id"), "checkpoint_map": c.get("checkpoint_map")}


def snapshot_json(snap: Any) -> dict[str, Any]:
    """A LangGraph StateSnapshot in the Platform's ThreadState shape."""
    return {
        "values": snap.values,
        "next": list(snap.next),
        "checkpoint": checkpoint_json(snap.config),
        "metadata": snap.metadata or {},
        "created_at": snap.created_at,
        "parent_checkpoint": checkpoint_json(snap.parent_config),
        "tasks": [{"id": t.id, "name": t.name, "error": type(t.error).__name__ if t.error else None,
                   "interrupts": [{"value": i.value, "id": i.id} for i in t.interrupts],
                   "checkpoint": None, "state": None, "result": getattr(t, "result", None)} for t in snap.tasks],
        "interrupts": [{"value": i.value, "id": i.id} for i in getattr(snap, "interrupts", ())],
    }
