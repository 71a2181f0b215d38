"""Reads over a user's privacy state: current values against the template, changes, scores, replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from memory.db import Conn
from memory.diffing import replay
from memory.errors import NotFound
from memory.scoring import overall_score, score_settings
from memory.structure import Structure
from memory.templates import platform_by_slug


async def privacy_state(conn: Conn, user_id: UUID, platform: str | None = None) -> list[dict[str, Any]]:
    """Per connected platform: each setting's value next to the template's default and recommendation."""
    rows = await (await conn.execute(
        """SELECT p.slug, p.name, cs.values, cs.unknown, cs.score, c.last_scan_at AS scanned_at, t.version,
                  t.structure,
                  t.label AS template_label
           FROM current_settings cs JOIN connections c ON c.id = cs.connection_id
           JOIN platforms p ON p.id = c.platform_id JOIN templates t ON t.id = cs.template_id
           WHERE cs.user_id = %s AND c.status = 'connected' AND (%s::text IS NULL OR p.slug = %s)
           ORDER BY p.slug""",
        (user_id, platform, platform),
    )).fetchall()
    out = []
    for r in rows:
        structure = Structure.from_json(r["structure"])
        values: dict[str, str] = r["values"]
        settings = []
        for s in structure.settings:
            value = values.get(s.key)
            settings.append({
                "key": s.key, "label": s.label, "section": s.section, "type": s.type, "value": value,
                "shown": value is not None, "default": s.default, "recommended": s.recommended_value,
                "at_recommended": value is not None and value == s.recommended_value,
                "exposure": s.exposure_of(value), "weight": s.weight, "risk": s.risk,
                "deep_link": s.deep_link, "curated": s.curated,
            })
        out.append({
            "platform": r["slug"], "name": r["name"], "template_version": r["version"],
            "template_label": r["template_label"], "scanned_at": r["scanned_at"], "score": r["score"],
            "settings": settings,
            "unknown": [{"key": k, "value": values.get(k), **meta} for k, meta in sorted(r["unknown"].items())],
            "not_shown": [s["key"] for s in settings if not s["shown"]],
        })
    return out


async def changes(conn: Conn, user_id: UUID, *, since: datetime | None = None, platform: str | None = None,
                  limit: int = 200) -> list[dict[str, Any]]:
    return await (await conn.execute(
        """SELECT e.id, p.slug AS platform, p.name AS platform_name, e.kind, e.attribution, e.setting_key,
                  e.setting_label, e.before, e.after, e.direction, e.impact, e.summary,
                  e.template_version_before, e.template_version_after, e.occurred_at
           FROM change_events e JOIN platforms p ON p.id = e.platform_id
           WHERE e.user_id = %s AND (%s::timestamptz IS NULL OR e.occurred_at > %s)
             AND (%s::text IS NULL OR p.slug = %s)
           ORDER BY e.occurred_at DESC, e.setting_key LIMIT %s""",
        (user_id, since, since, platform, platform, limit),
    )).fetchall()


async def scores(conn: Conn, user_id: UUID, platform: str | None = None) -> dict[str, Any]:
    """The overall score and, per platform, the score with its breakdown."""
    rows = await (await conn.execute(
        """SELECT p.slug, p.name, cs.score, cs.values, c.last_scan_at AS scanned_at, t.version, t.structure
           FROM current_settings cs JOIN connections c ON c.id = cs.connection_id
           JOIN platforms p ON p.id = c.platform_id JOIN templates t ON t.id = cs.template_id
           WHERE cs.user_id = %s AND c.status = 'connected' AND (%s::text IS NULL OR p.slug = %s)
           ORDER BY p.slug""",
        (user_id, platform, platform),
    )).fetchall()
    # The breakdown is a pure function of the template and the values, so it is derived, not stored.
    platforms = [{"platform": r["slug"], "name": r["name"], "score": r["score"], "template_version": r["version"],
                  "scanned_at": r["scanned_at"],
                  "breakdown": score_settings(Structure.from_json(r["structure"]), r["values"]).to_dict()}
                 for r in rows]
    return {"overall": overall_score(p["score"] for p in platforms), "platforms": platforms}


async def score_history(conn: Conn, user_id: UUID, platform: str | None = None) -> list[dict[str, Any]]:
    return await (await conn.execute(
        """SELECT p.slug AS platform, s.score, s.reason, s.computed_at FROM score_history s
           JOIN connections c ON c.id = s.connection_id JOIN platforms p ON p.id = c.platform_id
           WHERE s.user_id = %s AND (%s::text IS NULL OR p.slug = %s) ORDER BY s.computed_at, s.id""",
        (user_id, platform, platform),
    )).fetchall()


async def replay_at(conn: Conn, user_id: UUID, platform: str, at: datetime) -> dict[str, Any] | None:
    """The user's values on a platform as they stood at `at`: the nearest keyframe plus later deltas."""
    p = await platform_by_slug(conn, platform)
    connection = await (await conn.execute(
        "SELECT id FROM connections WHERE user_id = %s AND platform_id = %s", (user_id, p["id"])
    )).fetchone()
    if connection is None:
        raise NotFound(f"you have not connected {platform}")
    rows = await (await conn.execute(
        """SELECT kind, body, seq, template_id, effective_at FROM settings_history
           WHERE connection_id = %s AND effective_at <= %s
             AND seq >= COALESCE((SELECT max(seq) FROM settings_history WHERE connection_id = %s
                                  AND kind = 'keyframe' AND effective_at <= %s), 0)
           ORDER BY seq""",
        (connection["id"], at, connection["id"], at),
    )).fetchall()
    values = replay((r["kind"], r["body"]) for r in rows)
    if values is None:
        return None
    last = rows[-1]
    return {"platform": platform, "at": at, "values": values, "as_of": last["effective_at"],
            "template_id": last["template_id"], "entries_read": len(rows)}
