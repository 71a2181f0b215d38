"""Extension devices: pairing codes, the devices they create, and rotating refresh tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from memory.db import Conn
from memory.errors import NotFound
from memory.users import audit

DEVICE_COLUMNS = "id, name, created_at, last_seen_at, revoked_at"


class PairingRejected(NotFound):
    """An unknown, used or expired code: one answer for all three, so codes cannot be probed."""

    code = "pairing_code_invalid"


class RefreshRejected(NotFound):
    code = "refresh_token_invalid"


async def create_pairing_code(conn: Conn, user_id: UUID, code_hash: str, ttl: timedelta,
                              device_name: str | None) -> datetime:
    expires = datetime.now(UTC) + ttl
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO pairing_codes (code_hash, user_id, device_name, expires_at) VALUES (%s, %s, %s, %s)",
            (code_hash, user_id, device_name, expires),
        )
        await audit(conn, user_id, "pairing_code.created", {})
    return expires


async def redeem_pairing_code(conn: Conn, code_hash: str, device_name: str, refresh_hash: str,
                              refresh_ttl: timedelta) -> dict[str, Any]:
    """Use a code once: a new device with its first refresh token. Returns the device and user tier."""
    async with conn.transaction():
        code = await (await conn.execute(
            """UPDATE pairing_codes SET used_at = now()
               WHERE code_hash = %s AND used_at IS NULL AND expires_at > now() RETURNING user_id, device_name""",
            (code_hash,),
        )).fetchone()
        if code is None:
            raise PairingRejected("this pairing code is unknown, used or expired")
        device = await (await conn.execute(
            f"""INSERT INTO devices (user_id, name, last_seen_at) VALUES (%s, %s, now())
                RETURNING {DEVICE_COLUMNS}, user_id""",
            (code["user_id"], code["device_name"] or device_name),
        )).fetchone()
        await _insert_refresh(conn, device["id"], code["user_id"], refresh_hash, refresh_ttl)
        tier = await (await conn.execute("SELECT tier FROM users WHERE id = %s", (code["user_id"],))).fetchone()
        await audit(conn, code["user_id"], "device.paired", {"device_id": str(device["id"])})
    return {**device, "tier": tier["tier"]}


async def _insert_refresh(conn: Conn, device_id: UUID, user_id: UUID, refresh_hash: str, ttl: timedelta) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (device_id, user_id, token_hash, expires_at) VALUES (%s, %s, %s, %s)",
        (device_id, user_id, refresh_hash, datetime.now(UTC) + ttl),
    )


async def rotate_refresh(conn: Conn, old_hash: str, new_hash: str, ttl: timedelta) -> dict[str, Any]:
    """Trade a refresh token for the next one. A token used twice was copied: its device is revoked."""
    async with conn.transaction():
        row = await (await conn.execute(
            """SELECT r.id, r.device_id, r.user_id, r.used_at, r.expires_at, d.revoked_at, u.tier
               FROM refresh_tokens r JOIN devices d ON d.id = r.device_id JOIN users u ON u.id = r.user_id
               WHERE r.token_hash = %s FOR UPDATE OF r""",
            (old_hash,),
        )).fetchone()
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= datetime.now(UTC):
            raise RefreshRejected("this refresh token is unknown, expired or revoked")
        if row["used_at"] is not None:
            await _revoke(conn, row["user_id"], row["device_id"], reason="refresh_token_reused")
            return {"reused": True, **row}
        await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE id = %s", (row["id"],))
        await _insert_refresh(conn, row["device_id"], row["user_id"], new_hash, ttl)
        await conn.execute("UPDATE devices SET last_seen_at = now() WHERE id = %s", (row["device_id"],))
    return {"reused": False, **row}


async def list_devices(conn: Conn, user_id: UUID) -> list[dict[str, Any]]:
    return await (await conn.execute(
        f"SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = %s ORDER BY created_at DESC", (user_id,)
    )).fetchall()


async def get_device(conn: Conn, user_id: UUID, device_id: UUID) -> dict[str, Any]:
    row = await (await conn.execute(
        f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = %s AND user_id = %s", (device_id, user_id)
    )).fetchone()
    if row is None:
        raise NotFound("no such device")
    return row


async def active_device(conn: Conn, user_id: UUID, device_id: UUID) -> dict[str, Any] | None:
    return await (await conn.execute(
        """SELECT d.id, d.user_id, u.tier FROM devices d JOIN users u ON u.id = d.user_id
           WHERE d.id = %s AND d.user_id = %s AND d.revoked_at IS NULL""",
        (device_id, user_id),
    )).fetchone()


async def revoke_device(conn: Conn, user_id: UUID, device_id: UUID) -> dict[str, Any]:
    async with conn.transaction():
        await get_device(conn, user_id, device_id)
        await _revoke(conn, user_id, device_id, reason="revoked_by_user")
    return await get_device(conn, user_id, device_id)


async def _revoke(conn: Conn, user_id: UUID, device_id: UUID, *, reason: str) -> None:
    await conn.execute("UPDATE devices SET revoked_at = COALESCE(revoked_at, now()) WHERE id = %s AND user_id = %s",
                       (device_id, user_id))
    await conn.execute("DELETE FROM refresh_tokens WHERE device_id = %s", (device_id,))
    await audit(conn, user_id, "device.revoked", {"device_id": str(device_id), "reason": reason})
