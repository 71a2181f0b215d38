"""Which platforms a user has connected, and when each was last scanned."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from memory.db import Conn


async def connected_platforms(conn: Conn, user_id: UUID) -> dict[str, datetime | None]:
    rows = await (await conn.execute(
        """SELECT p.slug, c.last_scan_at AS scanned_at FROM connections c JOIN platforms p ON p.id = c.platform_id
           WHERE c.user_id = %s AND c.status = 'connected' ORDER BY p.slug""",
        (user_id,),
    )).fetchall()
    return {r["slug"]: r["scanned_at"] for r in rows}
