"""Conversation threads: ownership and titles; their checkpoints are LangGraph's, erased with them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from memory.db import Conn
from memory.errors import NotFound

TITLE_MAX = 80


def title_from(message: str) -> str:
    """A thread's title: the first question, on one line, cut at a word."""
    text = " ".join(message.split())
    if len(text) <= TITLE_MAX:
        return text or "New conversation"
    return text[:TITLE_MAX].rsplit(" ", 1)[0] + "…"


async def ensure_thread(conn: Conn, user_id: UUID, thread_id: UUID, *, first_message: str = "",
                        channel: str = "chat") -> dict[str, Any]:
    """The user's thread, created on first use; a thread id owned by someone else is NotFound (not 403,
    so ids cannot be probed)."""
    row = await (await conn.execute(
        """INSERT INTO threads (id, user_id, title, channel) VALUES (%s, %s, %s, %s)
           ON CONFLICT (id) DO UPDATE SET updated_at = now() WHERE threads.user_id = EXCLUDED.user_id
           RETURNING *""",
        (thread_id, user_id, title_from(first_message), channel),
    )).fetchone()
    if row is None:
        raise NotFound("no such conversation")
    return row


async def get_thread(conn: Conn, user_id: UUID, thread_id: UUID) -> dict[str, Any]:
    row = await (await conn.execute(
        "SELECT * FROM threads WHERE id = %s AND user_id = %s", (thread_id, user_id)
    )).fetchone()
    if row is None:
        raise NotFound("no such conversation")
    return row


async def list_threads(conn: Conn, user_id: UUID, *, limit: int = 50) -> list[dict[str, Any]]:
    return await (await conn.execute(
        """SELECT id, title, channel, created_at, updated_at FROM threads WHERE user_id = %s
           ORDER BY updated_at DESC LIMIT %s""",
        (user_id, limit),
    )).fetchall()


async def rename_thread(conn: Conn, user_id: UUID, thread_id: UUID, title: str) -> dict[str, Any]:
    row = await (await conn.execute(
        "UPDATE threads SET title = %s, updated_at = now() WHERE id = %s AND user_id = %s RETURNING *",
        (title_from(title), thread_id, user_id),
    )).fetchone()
    if row is None:
        raise NotFound("no such conversation")
    return row


async def set_metadata(conn: Conn, user_id: UUID, thread_id: UUID, metadata: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE threads SET metadata = metadata || %s WHERE id = %s AND user_id = %s",
        (Jsonb(metadata), thread_id, user_id),
    )


async def delete_thread(conn: Conn, user_id: UUID, thread_id: UUID) -> None:
    """Delete one thread; a trigger (migration 0003) deletes its checkpoints in the same statement."""
    cur = await conn.execute("DELETE FROM threads WHERE id = %s AND user_id = %s", (thread_id, user_id))
    if cur.rowcount == 0:
        raise NotFound("no such conversation")


async def last_visit(conn: Conn, user_id: UUID, *, excluding: str | None = None) -> Any:
    """When the user last talked to the agent in another thread (None if never)."""
    row = await (await conn.execute(
        "SELECT max(updated_at) AS at FROM threads WHERE user_id = %s AND id::text <> %s",
        (user_id, excluding or ""),
    )).fetchone()
    return row["at"] if row else None
