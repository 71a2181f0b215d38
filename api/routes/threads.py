"""The LangGraph Platform subset the official `langgraph_sdk` client uses: threads, their state, streamed runs.

Every thread route goes through `OwnedThread`, which loads the thread *for the caller*: someone else's thread
id is a 404, exactly like a missing one. The run's Context comes from the authenticated principal only.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sse_starlette import EventSourceResponse

from api import runs, sse
from api.auth import Principal
from api.deps import CurrentUser, Db, DbConn
from api.errors import ApiError, BadRequest
from memory import threads as thread_store
from memory.errors import Conflict, NotFound

router = APIRouter(tags=["threads"])

ASSISTANT_IDS = {"agent", "privyloop"}


class ThreadBusy(ApiError):
    code = "thread_busy"
    status = 409


class AgentUnavailable(ApiError):
    code = "agent_unavailable"
    status = 503


def _graph(request: Request) -> Any:
    graph = getattr(request.app.state, "graph", None)
    if graph is None:
        raise AgentUnavailable("the agent is not available on this server")
    return graph


class ThreadCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    thread_id: UUID | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"


class ThreadSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0)
    ids: list[UUID] | None = None
    metadata: dict[str, Any] | None = None


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(10, ge=1, le=100)
    before: dict[str, Any] | str | None = None
    metadata: dict[str, Any] | None = None


class RunCreate(BaseModel):
    # `context` and `config` from the body are accepted for compatibility and ignored on purpose: who the run
    # acts for is decided by the credentials, never by the request.
    model_config = ConfigDict(extra="ignore")
    assistant_id: str
    input: dict[str, Any] | None = None
    command: dict[str, Any] | None = None
    stream_mode: str | list[str] = Field("values", validate_default=True)
    metadata: dict[str, Any] = Field(default_factory=dict)
    checkpoint_id: str | None = None
    on_disconnect: Literal["cancel", "continue"] = "cancel"
    if_not_exists: Literal["reject", "create"] = "reject"
    multitask_strategy: Literal["reject"] | None = None

    @field_validator("stream_mode")
    @classmethod
    def _known_modes(cls, value: str | list[str]) -> list[str]:
        modes = [value] if isinstance(value, str) else list(dict.fromkeys(value))
        unknown = [m for m in modes if m not in runs.STREAM_MODES]
        if unknown or not modes:
            raise ValueError(f"unsupported stream_mode {unknown}; supported: {sorted(runs.STREAM_MODES)}")
        return modes


async def owned_thread(thread_id: UUID, principal: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await thread_store.get_thread(conn, principal.user_id, thread_id)


OwnedThread = Annotated[dict[str, Any], Depends(owned_thread)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def thread_json(row: dict[str, Any], request: Request, values: Any = None) -> dict[str, Any]:
    busy = str(row["id"]) in request.app.state.__dict__.get("busy_threads", set())
    return {"thread_id": str(row["id"]), "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
            "metadata": {**(row.get("metadata") or {}), "title": row.get("title"), "channel": row.get("channel")},
            "status": "busy" if busy else "idle", "values": values or {}, "interrupts": {}}


def _config(thread_id: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": str(thread_id)}}


@router.get("/info")
async def info() -> dict[str, Any]:
    return {"version": "privyloop-0.1", "langgraph_py_version": "1.x",
            "flags": {"assistants": False, "crons": False, "langsmith": False}}


@router.post("/threads")
async def create_thread(body: ThreadCreate, principal: CurrentUser, conn: DbConn, request: Request) -> dict[str, Any]:
    thread_id = body.thread_id or uuid.uuid4()
    try:
        existing = await thread_store.get_thread(conn, principal.user_id, thread_id)
    except NotFound:
        existing = None
    if existing is not None:
        if body.if_exists == "raise":
            raise Conflict("thread already exists")
        return thread_json(existing, request)
    # ensure_thread refuses (NotFound) an id that another user owns, so ids cannot be claimed or probed.
    row = await thread_store.ensure_thread(conn, principal.user_id, thread_id, channel=_channel(principal))
    if body.metadata:
        await thread_store.set_metadata(conn, principal.user_id, thread_id, body.metadata)
        row = await thread_store.get_thread(conn, principal.user_id, thread_id)
    return thread_json(row, request)


@router.get("/threads/{thread_id}")
async def get_thread(thread: OwnedThread, request: Request) -> dict[str, Any]:
    snap = await _graph(request).aget_state(_config(thread["id"]))
    return thread_json(thread, request, snap.values)


@router.post("/threads/search")
async def search_threads(body: ThreadSearch, principal: CurrentUser, conn: DbConn,
                         request: Request) -> list[dict[str, Any]]:
    rows = await thread_store.list_threads(conn, principal.user_id, limit=body.offset + body.limit)
    if body.ids is not None:
        wanted = set(body.ids)
        rows = [r for r in rows if r["id"] in wanted]
    if body.metadata:
        rows = [r for r in rows if all((r.get("metadata") or {}).get(k) == v for k, v in body.metadata.items())]
    return [thread_json(r, request) for r in rows[body.offset:body.offset + body.limit]]


@router.get("/threads/{thread_id}/state")
async def thread_state(thread: OwnedThread, request: Request) -> dict[str, Any]:
    snap = await _graph(request).aget_state(_config(thread["id"]))
    return runs.snapshot_json(snap)


@router.post("/threads/{thread_id}/history")
async def thread_history(body: HistoryQuery, thread: OwnedThread, request: Request) -> list[dict[str, Any]]:
    before = body.before
    if isinstance(before, str):
        before = {"checkpoint_id": before}
    before_config = {"configurable": {"thread_id": str(thread["id"]), **before}} if before else None
    graph = _graph(request)
    return [runs.snapshot_json(s) async for s in graph.aget_state_history(
        _config(thread["id"]), filter=body.metadata, before=before_config, limit=body.limit)]


# The stream routes take a short-lived connection (Db), not DbConn: a request-scoped connection would stay
# checked out for the whole stream, and 50 open answers would drain the pool.
@router.post("/threads/{thread_id}/runs/stream", response_class=EventSourceResponse)
async def stream_thread_run(thread_id: UUID, body: RunCreate, principal: CurrentUser, db: Db,
                            request: Request) -> EventSourceResponse:
    first = _first_message(body.input)
    async with db.connection() as conn:
        if body.if_not_exists == "create":
            row = await thread_store.ensure_thread(conn, principal.user_id, thread_id, first_message=first,
                                                   channel=_channel(principal))
        else:
            row = await thread_store.get_thread(conn, principal.user_id, thread_id)
        if first and row["title"] == thread_store.title_from(""):
            await thread_store.rename_thread(conn, principal.user_id, thread_id, first)
    return _start(request, principal, body, thread_id)


@router.post("/runs/stream", response_class=EventSourceResponse)
async def stream_stateless_run(body: RunCreate, principal: CurrentUser, db: Db,
                               request: Request) -> EventSourceResponse:
    """A run on a throwaway thread: owned by the caller while it runs, deleted (with its checkpoints) after."""
    thread_id = uuid.uuid4()
    async with db.connection() as conn:
        await thread_store.ensure_thread(conn, principal.user_id, thread_id,
                                         first_message=_first_message(body.input), channel=_channel(principal))
    user_id = principal.user_id

    async def cleanup() -> None:
        async with db.connection() as c:
            await thread_store.delete_thread(c, user_id, thread_id)

    return _start(request, principal, body, thread_id, cleanup=cleanup)


def _start(request: Request, principal: Principal, body: RunCreate, thread_id: UUID,
           cleanup: Any = None) -> EventSourceResponse:
    if body.assistant_id not in ASSISTANT_IDS:
        raise NotFound(f"no assistant {body.assistant_id!r}; use 'agent'")
    if body.input is None and body.command is None:
        raise BadRequest("a run needs `input` or `command`")
    graph = _graph(request)
    state = request.app.state
    busy: set[str] = state.__dict__.setdefault("busy_threads", set())
    background: set[asyncio.Task[Any]] = state.__dict__.setdefault("background_runs", set())
    key = str(thread_id)
    # One run per thread at a time (the Platform's "reject" strategy); this process's runs only, since a
    # thread's runs are all started through the process its client is talking to.
    if key in busy:
        raise ThreadBusy("this conversation is already answering; wait for it to finish")
    busy.add(key)

    def finished() -> None:
        busy.discard(key)
        if cleanup is not None:
            task = asyncio.get_running_loop().create_task(cleanup())
            background.add(task)
            task.add_done_callback(background.discard)

    spec = runs.RunSpec(run_id=uuid.uuid4(), thread_id=thread_id, input=body.input,
                        stream_modes=body.stream_mode, context=_context(request, principal),  # type: ignore[arg-type]
                        command=body.command, checkpoint_id=body.checkpoint_id,
                        on_disconnect=body.on_disconnect, metadata=body.metadata)
    settings = state.settings
    return sse.response(runs.stream_run(graph, spec, background, on_finish=finished,
                                        slots=getattr(state, "run_slots", None)), kind="run",
                        heartbeat=settings.sse_heartbeat_seconds, grace=settings.shutdown_grace_seconds,
                        headers={"Content-Location": f"/threads/{thread_id}/runs/{spec.run_id}"})


def _channel(principal: Principal) -> str:
    return "popup" if principal.kind == "extension" else "chat"


def _context(request: Request, principal: Principal) -> Any:
    factory = getattr(request.app.state, "context_factory", None)
    if factory is None:
        from agent.context import Context as factory
    return factory(user_id=principal.user_id, tier=principal.tier, channel=_channel(principal))


def _first_message(payload: dict[str, Any] | None) -> str:
    messages = (payload or {}).get("messages") or []
    for message in messages:
        if isinstance(message, dict) and message.get("role", message.get("type")) in ("user", "human"):
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""
