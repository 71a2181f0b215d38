"""Template versions in Postgres: create once per platform version, diff once, fan out to every user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from memory.catalog import PlatformDef
from memory.db import Conn
from memory.errors import PlatformNotFound, TemplateNotFound
from memory.scoring import score_settings
from memory.structure import PlatformChange, Structure, diff_structures


@dataclass(frozen=True)
class Template:
    id: UUID
    platform_id: UUID
    version: int
    label: str
    source: str
    structure: Structure
    analysis: dict[str, Any] | None
    created_at: datetime


def _template(row: dict[str, Any]) -> Template:
    return Template(
        id=row["id"], platform_id=row["platform_id"], version=row["version"], label=row["label"],
        source=row["source"], structure=Structure.from_json(row["structure"]), analysis=row["analysis"],
        created_at=row["created_at"],
    )


async def upsert_platform(conn: Conn, platform: PlatformDef | dict[str, Any]) -> UUID:
    p = platform.model_dump() if isinstance(platform, PlatformDef) else platform
    row = await (await conn.execute(
        """INSERT INTO platforms (slug, name, privacy_url, policy_url) VALUES (%s, %s, %s, %s)
           ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name,
               privacy_url = COALESCE(EXCLUDED.privacy_url, platforms.privacy_url),
               policy_url = COALESCE(EXCLUDED.policy_url, platforms.policy_url)
           RETURNING id""",
        (p["slug"], p["name"], p.get("privacy_url"), p.get("policy_url")),
    )).fetchone()
    return row["id"]


async def platform_by_slug(conn: Conn, slug: str) -> dict[str, Any]:
    row = await (await conn.execute("SELECT * FROM platforms WHERE slug = %s", (slug,))).fetchone()
    if row is None:
        raise PlatformNotFound(f"no platform '{slug}' (run `privyloop catalog load` first?)")
    return row


async def list_platforms(conn: Conn) -> list[dict[str, Any]]:
    return await (await conn.execute(
        """SELECT p.slug, p.name, p.privacy_url, p.policy_url, t.version, t.label,
                  jsonb_array_length(t.structure->'settings') AS settings
           FROM platforms p LEFT JOIN LATERAL (
               SELECT version, label, structure FROM templates WHERE platform_id = p.id
               ORDER BY version DESC LIMIT 1) t ON true
           ORDER BY p.slug""")).fetchall()


async def current_template(conn: Conn, platform_id: UUID) -> Template:
    row = await (await conn.execute(
        "SELECT * FROM templates WHERE platform_id = %s ORDER BY version DESC LIMIT 1", (platform_id,)
    )).fetchone()
    if row is None:
        raise TemplateNotFound("this platform has no settings template yet (run `privyloop catalog load`)")
    return _template(row)


_CACHE: dict[UUID, Template] = {}
_CACHE_MAX = 256


async def cached_template(conn: Conn, template_id: UUID) -> Template:
    """A template version's structure never changes once written, so each process parses it once.

    (Only `analysis` is filled in later; read it with template_by_id.)
    """
    hit = _CACHE.get(template_id)
    if hit is None:
        hit = await template_by_id(conn, template_id)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[template_id] = hit
    return hit


async def template_by_id(conn: Conn, template_id: UUID) -> Template:
    row = await (await conn.execute("SELECT * FROM templates WHERE id = %s", (template_id,))).fetchone()
    if row is None:
        raise TemplateNotFound(f"template {template_id} does not exist")
    return _template(row)


async def platform_changes_between(conn: Conn, platform_id: UUID, after_version: int,
                                   upto_version: int) -> list[PlatformChange]:
    """Every platform-made change in the versions (after_version, upto_version], oldest first."""
    rows = await (await conn.execute(
        """SELECT tc.changes FROM template_changes tc JOIN templates t ON t.id = tc.to_template_id
           WHERE tc.platform_id = %s AND t.version > %s AND t.version <= %s ORDER BY t.version""",
        (platform_id, after_version, upto_version),
    )).fetchall()
    return [PlatformChange(**c) for row in rows for c in row["changes"]]


async def create_version(conn: Conn, platform_id: UUID, structure: Structure, *, label: str, source: str,
                         at: datetime | None = None) -> tuple[Template, list[PlatformChange]] | None:
    """Add a version unless the current one is identical; computes its changes once and fans them out.

    Must run inside the caller's transaction. Returns None when nothing changed.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('template:' || %s::text))", (str(platform_id),))
    try:
        previous: Template | None = await current_template(conn, platform_id)
    except TemplateNotFound:
        previous = None
    if previous is not None and previous.structure.content_hash() == structure.content_hash():
        return None
    version = 1 if previous is None else previous.version + 1
    row = await (await conn.execute(
        """INSERT INTO templates (platform_id, version, label, source, content_hash, structure, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, COALESCE(%s, now())) RETURNING *""",
        (platform_id, version, label, source, structure.content_hash(), Jsonb(structure.to_json()), at),
    )).fetchone()
    template = _template(row)
    if previous is None:
        return template, []
    changes = diff_structures(previous.structure, structure)
    await fan_out(conn, platform_id, previous, template, changes, at)
    return template, changes


async def fan_out(conn: Conn, platform_id: UUID, previous: Template, template: Template,
                  changes: list[PlatformChange], at: datetime | None) -> None:
    """One template_changes row, one event per connected user and change, scores moved to the new weights."""
    tc = await (await conn.execute(
        """INSERT INTO template_changes (platform_id, from_template_id, to_template_id, changes, created_at)
           VALUES (%s, %s, %s, %s, COALESCE(%s, now())) RETURNING id, created_at""",
        (platform_id, previous.id, template.id, Jsonb([c.to_dict() for c in changes]), at),
    )).fetchone()
    if changes:
        await conn.execute(
            """INSERT INTO change_events (user_id, platform_id, kind, attribution, setting_key, setting_label,
                   before, after, direction, impact, summary, template_version_before, template_version_after,
                   template_change_id, occurred_at)
               SELECT c.user_id, c.platform_id, ch->>'kind', 'platform', ch->>'key', ch->>'label',
                      ch->'before', ch->'after', ch->>'direction', ch->>'impact', ch->>'summary', %s, %s, %s, %s
               FROM connections c CROSS JOIN jsonb_array_elements(%s) AS ch
               WHERE c.platform_id = %s AND c.status = 'connected'
               ON CONFLICT DO NOTHING""",
            (previous.version, template.version, tc["id"], tc["created_at"],
             Jsonb([c.to_dict() for c in changes]), platform_id),
        )
    rows = await (await conn.execute(
        """SELECT cs.connection_id, cs.user_id, cs.values, cs.score FROM current_settings cs
           JOIN connections c ON c.id = cs.connection_id
           WHERE c.platform_id = %s AND c.status = 'connected' FOR UPDATE OF cs""",
        (platform_id,),
    )).fetchall()
    notified = 0
    for r in rows:
        result = score_settings(template.structure, r["values"])
        await conn.execute(
            """UPDATE current_settings SET template_id = %s, score = %s, updated_at = %s WHERE connection_id = %s""",
            (template.id, result.score, tc["created_at"], r["connection_id"]),
        )
        if result.score is not None and result.score != r["score"]:
            await conn.execute(
                """INSERT INTO score_history (connection_id, user_id, template_id, score, reason, computed_at)
                   VALUES (%s, %s, %s, %s, 'template', %s)""",
                (r["connection_id"], r["user_id"], template.id, result.score, tc["created_at"]),
            )
        notified += 1
    await conn.execute("UPDATE template_changes SET users_notified = %s WHERE id = %s", (notified, tc["id"]))
