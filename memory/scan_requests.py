"""Scan requests: the agent asks, the extension (settings) or the policy worker (policy) picks them up."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from memory.db import Conn
from memory.errors import NotFound
from memory.templates import platform_by_slug

Kind = Literal["settings", "policy"]
OPEN = ("pending", "picked_up")


async def request_scan(conn: Conn, user_id: UUID, platform: str, *, kind: Kind = "settings",
                       requested_by: str = "agent", note: str | None = None) -> dict[str, Any]:
    """Record a request, or return the open one; `created` says which. Nothing is scanned here."""
    p = await platform_by_slug(conn, platform)
    async with conn.transaction():
        row = await (await conn.execute(
            """INSERT INTO scan_requests (user_id, platform_id, kind, requested_by, note)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (user_id, platform_id, kind) WHERE status IN ('pending', 'picked_up') DO NOTHING
               RETURNING *""",
            (user_id, p["id"], kind, requested_by, note),
        )).fetchone()
        created = row is not None
        if row is None:
            row = await (await conn.execute(
                """SELECT * FROM scan_requests WHERE user_id = %s AND platform_id = %s AND kind = %s
                   AND status IN ('pending', 'picked_up')""",
                (user_id, p["id"], kind),
            )).fetchone()
        last = await (await conn.execute(
            """SELECT max(last_scan_at) AS at FROM connections WHERE user_id = %s AND platform_id = %s""",
            (user_id, p["id"]),
        )).fetchone()
    return {**row, "platform": p["slug"], "platform_name": p["name"], "created": created,
            "last_scan_at": last["at"] if last else None}


async def open_requests(conn: Conn, user_id: UUID, *, kind: Kind | None = None) -> list[dict[str, Any]]:
    """What the extension should scan next for this user, oldest first."""
    return await (await conn.execute(
        """SELECT r.*, p.slug AS platform FROM scan_requests r JOIN platforms p ON p.id = r.platform_id
           WHERE r.user_id = %s AND r.status IN ('pending', 'picked_up') AND (%s::text IS NULL OR r.kind = %s)
           ORDER BY r.requested_at""",
        (user_id, kind, kind),
    )).fetchall()


async def set_status(conn: Conn, user_id: UUID, request_id: UUID,
                     status: Literal["picked_up", "done", "failed", "cancelled"]) -> dict[str, Any]:
    """Move one of the user's requests along; the user id keeps one user from touching another's."""
    row = await (await conn.execute(
        """UPDATE scan_requests SET status = %s,
               picked_up_at = CASE WHEN %s = 'picked_up' THEN now() ELSE picked_up_at END,
               completed_at = CASE WHEN %s IN ('done', 'failed', 'cancelled') THEN now() ELSE completed_at END
           WHERE id = %s AND user_id = %s RETURNING *""",
        (status, status, status, request_id, user_id),
    )).fetchone()
    if row is None:
        raise NotFound("no such scan request")
    return row
