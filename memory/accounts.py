"""Account credentials in Postgres: password hashes, web sessions, API tokens (only hashes are stored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from memory.db import Conn
from memory.errors import NotFound
from memory.users import audit


async def login_record(conn: Conn, email: str) -> dict[str, Any] | None:
    """The user's id, tier and password hash for a login attempt; None when no such email."""
    return await (await conn.execute(
        "SELECT id, tier, password_hash FROM users WHERE lower(email) = lower(%s)", (email.strip(),)
    )).fetchone()


async def password_hash_of(conn: Conn, user_id: UUID) -> str | None:
    row = await (await conn.execute("SELECT password_hash FROM users WHERE id = %s", (user_id,))).fetchone()
    return row["password_hash"] if row else None


async def create_session(conn: Conn, user_id: UUID, token_hash: str, ttl: timedelta) -> dict[str, Any]:
    async with conn.transaction():
        row = await (await conn.execute(
            """INSERT INTO sessions (user_id, token_hash, expires_at) VALUES (%s, %s, %s)
               RETURNING id, created_at, expires_at""",
            (user_id, token_hash, datetime.now(UTC) + ttl),
        )).fetchone()
        await audit(conn, user_id, "session.created", {})
    return row


async def session_user(conn: Conn, token_hash: str) -> dict[str, Any] | None:
    """The live session's user; touching last_seen_at at most once a minute keeps reads cheap."""
    return await (await conn.execute(
        """UPDATE sessions s SET last_seen_at = CASE WHEN s.last_seen_at < now() - interval '1 minute'
                                                     THEN now() ELSE s.last_seen_at END
           FROM users u WHERE s.token_hash = %s AND s.expires_at > now() AND u.id = s.user_id
           RETURNING s.id, s.user_id, u.tier""",
        (token_hash,),
    )).fetchone()


async def delete_session(conn: Conn, user_id: UUID, session_id: UUID) -> None:
    await conn.execute("DELETE FROM sessions WHERE id = %s AND user_id = %s", (session_id, user_id))


async def create_api_token(conn: Conn, user_id: UUID, name: str, prefix: str, token_hash: str,
                           ttl: timedelta) -> dict[str, Any]:
    async with conn.transaction():
        row = await (await conn.execute(
            """INSERT INTO api_tokens (user_id, name, prefix, token_hash, expires_at)
               VALUES (%s, %s, %s, %s, %s)
               RETURNING id, name, prefix, created_at, expires_at, last_used_at, revoked_at""",
            (user_id, name, prefix, token_hash, datetime.now(UTC) + ttl),
        )).fetchone()
        await audit(conn, user_id, "api_token.created", {"token_id": str(row["id"])})
    return row


TOKEN_COLUMNS = "id, name, prefix, created_at, expires_at, last_used_at, revoked_at"


async def list_api_tokens(conn: Conn, user_id: UUID) -> list[dict[str, Any]]:
    return await (await conn.execute(
        f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = %s ORDER BY created_at DESC", (user_id,)
    )).fetchall()


async def get_api_token(conn: Conn, user_id: UUID, token_id: UUID) -> dict[str, Any]:
    row = await (await conn.execute(
        f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = %s AND user_id = %s", (token_id, user_id)
    )).fetchone()
    if row is None:
        raise NotFound("no such token")
    return row


async def revoke_api_token(conn: Conn, user_id: UUID, token_id: UUID) -> dict[str, Any]:
    async with conn.transaction():
        row = await (await conn.execute(
            f"""UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now())
                WHERE id = %s AND user_id = %s RETURNING {TOKEN_COLUMNS}""",
            (token_id, user_id),
        )).fetchone()
        if row is None:
            raise NotFound("no such token")
        await audit(conn, user_id, "api_token.revoked", {"token_id": str(token_id)})
    return row


async def api_token_user(conn: Conn, token_hash: str) -> dict[str, Any] | None:
    return await (await conn.execute(
        """UPDATE api_tokens t SET last_used_at = now() FROM users u
           WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > now() AND u.id = t.user_id
           RETURNING t.id, t.user_id, u.tier""",
        (token_hash,),
    )).fetchone()


async def set_password_if_missing(conn: Conn, user_id: UUID, password_hash: str) -> bool:
    """Give a passwordless account (the CLI-made demo user) a password; never overwrites a real one."""
    cur = await conn.execute("UPDATE users SET password_hash = %s WHERE id = %s AND password_hash IS NULL",
                             (password_hash, user_id))
    return cur.rowcount == 1
