"""Template analyses: cached by the hash of their inputs, stored on the template version they describe."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from memory.db import Conn


async def cached_analysis(conn: Conn, input_hash: str) -> dict[str, Any] | None:
    row = await (await conn.execute("SELECT analysis FROM policy_analyses WHERE input_hash = %s",
                                    (input_hash,))).fetchone()
    return row["analysis"] if row else None


async def store_analysis(conn: Conn, template_id: UUID, input_hash: str, model: str,
                         analysis: dict[str, Any]) -> None:
    """Cache the analysis by its input hash and attach it to the template version, in one transaction."""
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO policy_analyses (input_hash, model, analysis) VALUES (%s, %s, %s)
               ON CONFLICT (input_hash) DO NOTHING""", (input_hash, model, Jsonb(analysis)))
        await conn.execute("UPDATE templates SET analysis = %s WHERE id = %s", (Jsonb(analysis), template_id))


async def lock_analysis(conn: Conn, input_hash: str) -> None:
    """Two processes analysing the same inputs at once would pay twice; the second waits and reuses."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('analysis:' || %s))", (input_hash,))


async def platforms_with_policies(conn: Conn) -> list[str]:
    rows = await (await conn.execute(
        """SELECT DISTINCT p.slug FROM platforms p JOIN policy_documents d ON d.platform_id = p.id
           ORDER BY p.slug""")).fetchall()
    return [r["slug"] for r in rows]
