"""The current template of every platform, for matching what people say to real setting names."""

from __future__ import annotations

from typing import Any

from memory.db import Conn
from memory.structure import Structure, TemplateSetting


async def templates_fingerprint(conn: Conn) -> tuple[Any, ...]:
    """Changes whenever a platform or template version is added: a cheap cache key."""
    row = await (await conn.execute(
        "SELECT (SELECT count(*) FROM platforms) AS p, count(*) AS n, max(created_at) AS at FROM templates"
    )).fetchone()
    return (row["p"], row["n"], row["at"])


async def current_labels(conn: Conn) -> tuple[list[tuple[str, str]], list[tuple[str, TemplateSetting]]]:
    """(slug, name) of each platform, and (slug, setting) for each setting of its current template."""
    rows = await (await conn.execute(
        """SELECT p.slug, p.name, t.structure FROM platforms p LEFT JOIN LATERAL (
               SELECT structure FROM templates WHERE platform_id = p.id ORDER BY version DESC LIMIT 1) t ON true
           ORDER BY p.slug""")).fetchall()
    platforms = [(r["slug"], r["name"]) for r in rows]
    settings = [(r["slug"], s) for r in rows if r["structure"] for s in Structure.from_json(r["structure"]).settings]
    return platforms, settings
