"""Users: create, find, export everything about one, erase every row of one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from memory.db import Conn
from memory.errors import Conflict, UserNotFound

# Every table holding a user's rows, and the column naming the user. erase() and export() walk this list;
# tests check it against information_schema so a new table cannot be forgotten.
USER_TABLES: list[tuple[str, str]] = [
    ("refresh_tokens", "user_id"),  # accounts (0004): before devices, which they reference
    ("pairing_codes", "user_id"),
    ("devices", "user_id"),
    ("api_tokens", "user_id"),
    ("sessions", "user_id"),
    ("threads", "user_id"),  # a trigger drops their LangGraph checkpoints
    ("scan_requests", "user_id"),
    ("audit_log", "user_id"),
    ("notification_preferences", "user_id"),
    ("structure_observations", "user_id"),
    ("score_history", "user_id"),
    ("change_events", "user_id"),
    ("scans", "user_id"),
    ("settings_history", "user_id"),
    ("current_settings", "user_id"),
    ("connections", "user_id"),
]


async def create_user(conn: Conn, email: str, *, name: str | None = None, tier: str = "free",
                      password_hash: str | None = None) -> dict[str, Any]:
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise Conflict(f"'{email}' is not an email address")
    async with conn.transaction():
        row = await (await conn.execute(
            """INSERT INTO users (email, name, tier, password_hash) VALUES (%s, %s, %s, %s)
               ON CONFLICT ((lower(email))) DO NOTHING RETURNING id, email, name, tier, created_at""",
            (email, name, tier, password_hash),
        )).fetchone()
        if row is None:
            raise Conflict(f"a user with email {email} already exists")
        await conn.execute("INSERT INTO notification_preferences (user_id) VALUES (%s)", (row["id"],))
        await audit(conn, row["id"], "user.created", {})
    return row


async def get_user(conn: Conn, user_id: UUID) -> dict[str, Any]:
    row = await (await conn.execute(
        "SELECT id, email, name, tier, created_at FROM users WHERE id = %s", (user_id,)
    )).fetchone()
    if row is None:
        raise UserNotFound("no such user")
    return row


async def user_by_email(conn: Conn, email: str) -> dict[str, Any]:
    row = await (await conn.execute(
        "SELECT id, email, name, tier, created_at FROM users WHERE lower(email) = lower(%s)", (email.strip(),)
    )).fetchone()
    if row is None:
        raise UserNotFound(f"no user with email {email}")
    return row


async def audit(conn: Conn, user_id: UUID | None, action: str, detail: dict[str, Any]) -> None:
    await conn.execute("INSERT INTO audit_log (user_id, action, detail) VALUES (%s, %s, %s)",
                       (user_id, action, Jsonb(detail)))


async def export_user(conn: Conn, user_id: UUID) -> dict[str, Any]:
    """Everything stored about the user, one key per table, as one JSON-ready document."""
    user = await get_user(conn, user_id)
    doc: dict[str, Any] = {"user": user}
    async with conn.transaction():
        for table, column in USER_TABLES:
            rows = await (await conn.execute(
                sql.SQL("SELECT * FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(column)),
                (user_id,),
            )).fetchall()
            # bytes (hashes) as hex, so the document is JSON as it stands
            doc[table] = [{k: v.hex() if isinstance(v, bytes) else v for k, v in r.items()} for r in rows]
        await audit(conn, user_id, "user.exported", {})
    return doc


async def erase_user(conn: Conn, user_id: UUID) -> dict[str, int]:
    """Delete every row of the user, in one transaction; returns the count per table."""
    counts: dict[str, int] = {}
    async with conn.transaction():
        await get_user(conn, user_id)
        for table, column in USER_TABLES:
            cur = await conn.execute(
                sql.SQL("DELETE FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(column)),
                (user_id,),
            )
            counts[table] = cur.rowcount
        cur = await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
        counts["users"] = cur.rowcount
        # The erasure itself is recorded without anything that identifies the person.
        await audit(conn, None, "user.erased", {"rows": sum(counts.values())})
    return counts
