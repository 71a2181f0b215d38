"""What the extension and the dashboard read about a user's platforms: connections, scans, requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from memory.db import Conn
from memory.errors import NotFound
from memory.templates import platform_by_slug
from memory.users import audit

# A platform not scanned for this long is reported "stale" so the extension re-scans it.
STALE_AFTER = timedelta(days=14)


async def scan_status(conn: Conn, user_id: UUID, scan_id: UUID) -> dict[str, Any]:
    row = await (await conn.execute(
        """SELECT s.id, p.slug AS platform, s.scraper_version, s.scanned_at, s.received_at, s.result
           FROM scans s JOIN platforms p ON p.id = s.platform_id WHERE s.id = %s AND s.user_id = %s""",
        (scan_id, user_id),
    )).fetchone()
    if row is None:
        raise NotFound("no such scan")
    return {**row, "status": "stored"}


async def get_scan_request(conn: Conn, user_id: UUID, request_id: UUID) -> dict[str, Any]:
    row = await (await conn.execute(
        """SELECT r.*, p.slug AS platform FROM scan_requests r JOIN platforms p ON p.id = r.platform_id
           WHERE r.id = %s AND r.user_id = %s""",
        (request_id, user_id),
    )).fetchone()
    if row is None:
        raise NotFound("no such scan request")
    return row


async def complete_settings_requests(conn: Conn, user_id: UUID, platform: str) -> int:
    """A stored settings scan answers any open settings request for that platform."""
    cur = await conn.execute(
        """UPDATE scan_requests r SET status = 'done', completed_at = now() FROM platforms p
           WHERE p.id = r.platform_id AND p.slug = %s AND r.user_id = %s AND r.kind = 'settings'
             AND r.status IN ('pending', 'picked_up')""",
        (platform, user_id),
    )
    return cur.rowcount


def scraper_status(last_scan_at: datetime | None, now: datetime | None = None) -> str:
    if last_scan_at is None:
        return "never_scanned"
    return "stale" if (now or datetime.now(UTC)) - last_scan_at > STALE_AFTER else "ok"


async def platforms_for(conn: Conn, user_id: UUID) -> list[dict[str, Any]]:
    """Every catalog platform with this user's connection, last scan, score and scraper status."""
    rows = await (await conn.execute(
        """SELECT p.slug, p.name, p.privacy_url, c.status AS connection, c.last_scan_at, cs.score,
                  last.scraper_version, last.id AS last_scan_id,
                  EXISTS (SELECT 1 FROM scan_requests r WHERE r.user_id = %s AND r.platform_id = p.id
                          AND r.status IN ('pending', 'picked_up')) AS scan_requested
           FROM platforms p
           LEFT JOIN connections c ON c.platform_id = p.id AND c.user_id = %s
           LEFT JOIN current_settings cs ON cs.connection_id = c.id
           LEFT JOIN LATERAL (SELECT id, scraper_version FROM scans s WHERE s.user_id = %s
                              AND s.platform_id = p.id ORDER BY s.scanned_at DESC LIMIT 1) last ON true
           ORDER BY p.slug""",
        (user_id, user_id, user_id),
    )).fetchall()
    now = datetime.now(UTC)
    return [{**r, "connection": r["connection"] or "not_connected",
             "scraper_status": scraper_status(r["last_scan_at"], now)} for r in rows]


async def set_connection(conn: Conn, user_id: UUID, platform: str, status: str) -> dict[str, Any]:
    p = await platform_by_slug(conn, platform)
    async with conn.transaction():
        if status == "connected":
            row = await (await conn.execute(
                """INSERT INTO connections (user_id, platform_id) VALUES (%s, %s)
                   ON CONFLICT (user_id, platform_id) DO UPDATE SET status = 'connected'
                   RETURNING status, last_scan_at""",
                (user_id, p["id"]),
            )).fetchone()
        else:
            row = await (await conn.execute(
                """UPDATE connections SET status = 'disconnected' WHERE user_id = %s AND platform_id = %s
                   RETURNING status, last_scan_at""",
                (user_id, p["id"]),
            )).fetchone()
            if row is None:
                raise NotFound(f"you have not connected {platform}")
        await audit(conn, user_id, f"platform.{status}", {"platform": platform})
    return {"platform": platform, **row}


PREF_FIELDS = ("email_enabled", "change_notifications", "recommendation_notifications",
               "scan_failure_notifications", "frequency")


async def notification_preferences(conn: Conn, user_id: UUID) -> dict[str, Any]:
    row = await (await conn.execute(
        f"SELECT {', '.join(PREF_FIELDS)}, updated_at FROM notification_preferences WHERE user_id = %s",
        (user_id,),
    )).fetchone()
    if row is None:
        raise NotFound("no notification preferences")
    return row


async def update_notification_preferences(conn: Conn, user_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    fields = [f for f in PREF_FIELDS if f in changes]
    if fields:
        assignments = ", ".join(f"{f} = %s" for f in fields)  # names come from PREF_FIELDS, never the caller
        await conn.execute(
            f"UPDATE notification_preferences SET {assignments}, updated_at = now() WHERE user_id = %s",
            (*[changes[f] for f in fields], user_id),
        )
    return await notification_preferences(conn, user_id)
