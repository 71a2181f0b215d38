"""Applying one scan in one transaction: template → personal values → delta → events → score → store."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from psycopg.types.json import Jsonb

from memory.attribution import ChangeEvent, attribute_scan
from memory.db import Conn
from memory.diffing import compute_delta, settings_hash
from memory.errors import Conflict, ScanRejected, TemplateNotFound
from memory.resolution import Difference, ScannedSetting, resolve
from memory.scoring import score_settings
from memory.settings import Settings
from memory.structure import Structure, TemplateSetting
from memory.templates import Template, cached_template, create_version, platform_changes_between


@dataclass(frozen=True)
class Scan:
    platform: str
    scanned_at: datetime
    scraper_version: str
    idempotency_key: str
    settings: tuple[ScannedSetting, ...]
    payload_hash: bytes  # first 16 bytes of the canonical payload's SHA-256


_READ_STATE = """
SELECT p.id AS platform_id, p.slug, s.payload_hash AS done_hash, s.result AS done_result,
       t.id AS template_id, c.id AS connection_id, c.status, c.last_scan_at,
       cs.values, cs.template_id AS prev_template_id, cs.scan_template_id, cs.score, cs.history_seq,
       st.version AS template_version
FROM platforms p
LEFT JOIN scans s ON s.user_id = %(user)s AND s.idempotency_key = %(key)s
LEFT JOIN LATERAL (SELECT id FROM templates WHERE platform_id = p.id ORDER BY version DESC LIMIT 1) t ON true
LEFT JOIN connections c ON c.user_id = %(user)s AND c.platform_id = p.id
LEFT JOIN current_settings cs ON cs.connection_id = c.id
LEFT JOIN templates st ON st.id = cs.scan_template_id
WHERE p.slug = %(slug)s
"""


async def apply_scan(conn: Conn, user_id: UUID, scan: Scan, settings: Settings) -> dict[str, Any]:
    """Store a scan for a user; the same idempotency key returns the first result unchanged."""
    if not scan.settings:
        raise ScanRejected("the scan has no settings; an empty page would look as if every setting vanished")
    # Pipeline mode sends BEGIN, the lock and the read together: one round trip where there were three.
    async with conn.pipeline(), conn.transaction():
        # Scans of one user and platform serialize here, so history stays linear.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"scan:{user_id}:{scan.platform}",))
        # Everything the scan needs to know, in one round trip.
        row = await (await conn.execute(
            _READ_STATE, {"user": user_id, "key": scan.idempotency_key, "slug": scan.platform})).fetchone()
        if row is None:
            raise ScanRejected(f"unknown platform '{scan.platform}'")
        if row["done_hash"] is not None:
            if bytes(row["done_hash"]) != scan.payload_hash:
                raise Conflict("this idempotency key was already used for a different scan")
            return {**row["done_result"], "replayed": True}
        if row["template_id"] is None:
            raise TemplateNotFound("this platform has no settings template yet (run `privyloop catalog load`)")
        return await _apply(conn, user_id, row, scan, settings)


async def _apply(conn: Conn, user_id: UUID, row: dict[str, Any], scan: Scan,
                 settings: Settings) -> dict[str, Any]:
    platform_id = row["platform_id"]
    platform = {"id": platform_id, "slug": row["slug"]}
    template = await cached_template(conn, row["template_id"])
    connection_id = row["connection_id"]
    if connection_id is None or row["status"] != "connected":
        connection_id = (await (await conn.execute(
            """INSERT INTO connections (user_id, platform_id) VALUES (%s, %s)
               ON CONFLICT (user_id, platform_id) DO UPDATE SET status = 'connected' RETURNING id""",
            (user_id, platform_id),
        )).fetchone())["id"]
    prev = None if row["values"] is None else {
        "values": row["values"], "template_id": row["prev_template_id"], "scan_template_id": row["scan_template_id"],
        "score": row["score"], "history_seq": row["history_seq"], "template_version": row["template_version"],
    }
    if prev is not None and row["last_scan_at"] is not None and scan.scanned_at < row["last_scan_at"]:
        raise ScanRejected(
            f"the scan is older ({scan.scanned_at.isoformat()}) than the latest stored scan "
            f"({row['last_scan_at'].isoformat()}) for this platform"
        )
    resolution = resolve(template.structure, list(scan.settings))
    evolved = await _observe(conn, user_id, platform_id, template, resolution.differences, scan.scanned_at,
                             settings)
    if evolved is not None:
        template = evolved
        resolution = resolve(template.structure, list(scan.settings))

    values = resolution.values
    before = prev["values"] if prev is not None else None
    changes = (await platform_changes_between(conn, platform_id, prev["template_version"], template.version)
               if prev is not None and prev["template_version"] != template.version else [])
    events = attribute_scan(before, values, template.structure, changes)
    delta = compute_delta(before, values)
    scan_id = uuid4()  # known up front so history and events can point at the scan row written last

    seq = prev["history_seq"] if prev is not None else 0
    template_moved = prev is None or prev["template_id"] != template.id
    previous_score = prev["score"] if prev is not None else None
    score = previous_score
    # A scan that changes nothing rewrites nothing: no new row versions, no score recomputation.
    rewrite = prev is None or bool(delta) or template_moved or prev["scan_template_id"] != template.id
    if rewrite:
        score = score_settings(template.structure, values).score
    stored = await _store_events(conn, user_id, platform_id, scan_id, template, prev, events, scan.scanned_at,
                                 settings)
    out = {
        "scan_id": str(scan_id),
        "platform": platform["slug"],
        "template_version": template.version,
        "template_created": evolved is not None,
        "score": score,
        "previous_score": previous_score,
        "changes": stored,
        "unknown_settings": [{"key": k, **v} for k, v in sorted(resolution.unknown.items())],
        "not_shown": sorted(resolution.not_shown),
        "replayed": False,
    }
    # The writes depend on nothing they return: send them together, one round trip.
    async with conn.pipeline():
        if prev is None or delta:
            seq += 1
            keyframe = prev is None or seq % settings.keyframe_every == 1
            body = {"values": values} if keyframe else delta
            await conn.execute(
                """INSERT INTO settings_history (connection_id, user_id, seq, kind, template_id, body, scan_id,
                       effective_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                (connection_id, user_id, seq, "keyframe" if keyframe else "delta", template.id, Jsonb(body),
                 scan_id, scan.scanned_at),
            )
        if rewrite:
            if score is not None and score != previous_score:
                await conn.execute(
                    """INSERT INTO score_history (connection_id, user_id, template_id, score, reason, computed_at)
                       VALUES (%s, %s, %s, %s, 'scan', %s)""",
                    (connection_id, user_id, template.id, score, scan.scanned_at),
                )
            await _write_current(conn, connection_id, user_id, template.id, values, resolution.unknown, score,
                                 seq, scan.scanned_at)
        await conn.execute("UPDATE connections SET last_scan_at = %s WHERE id = %s",
                           (scan.scanned_at, connection_id))
        await conn.execute(
            """INSERT INTO scans (id, user_id, platform_id, idempotency_key, payload_hash, scraper_version,
                   scanned_at, result) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (scan_id, user_id, platform_id, scan.idempotency_key, scan.payload_hash, scan.scraper_version,
             scan.scanned_at, Jsonb(out)),
        )
    return out


async def _write_current(conn: Conn, connection_id: UUID, user_id: UUID, template_id: UUID,
                         values: dict[str, str], unknown: dict[str, Any], score: int | None, seq: int,
                         at: datetime) -> None:
    await conn.execute(
        """INSERT INTO current_settings (connection_id, user_id, template_id, scan_template_id, values, unknown,
               settings_hash, score, history_seq, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (connection_id) DO UPDATE SET template_id = EXCLUDED.template_id,
               scan_template_id = EXCLUDED.scan_template_id, values = EXCLUDED.values, unknown = EXCLUDED.unknown,
               settings_hash = EXCLUDED.settings_hash, score = EXCLUDED.score, history_seq = EXCLUDED.history_seq,
               updated_at = EXCLUDED.updated_at""",
        (connection_id, user_id, template_id, template_id, Jsonb(values), Jsonb(unknown), settings_hash(values),
         score, seq, at),
    )


async def _store_events(conn: Conn, user_id: UUID, platform_id: UUID, scan_id: UUID, template: Template,
                        prev: dict[str, Any] | None, events: list[ChangeEvent], at: datetime,
                        settings: Settings) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    for e in events:
        attribution = e.attribution
        if e.kind == "user_setting_changed" and attribution == "user":
            if await _is_silent_flip(conn, user_id, platform_id, e, at, settings):
                attribution = "suspected_platform"
        await conn.execute(
            """INSERT INTO change_events (user_id, platform_id, kind, attribution, setting_key, setting_label,
                   before, after, direction, impact, summary, template_version_before, template_version_after,
                   scan_id, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (user_id, platform_id, e.kind, attribution, e.key, e.label, Jsonb(e.before), Jsonb(e.after),
             e.direction, e.impact, e.summary, prev["template_version"] if prev else None, template.version,
             scan_id, at),
        )
        stored.append({**e.to_dict(), "attribution": attribution})
    return stored


async def _is_silent_flip(conn: Conn, user_id: UUID, platform_id: UUID, e: ChangeEvent, at: datetime,
                          settings: Settings) -> bool:
    """Many users' same setting flipping the same way in a short window, with no template change.

    When the threshold is reached, the earlier events of the cluster are re-labelled too.
    """
    window = timedelta(hours=settings.suspected_flip_window_hours)
    recent_template = await (await conn.execute(
        """SELECT 1 FROM template_changes tc, jsonb_array_elements(tc.changes) ch
           WHERE tc.platform_id = %s AND ch->>'key' = %s AND tc.created_at BETWEEN %s AND %s LIMIT 1""",
        (platform_id, e.key, at - window, at + window),
    )).fetchone()
    if recent_template is not None:
        return False
    row = await (await conn.execute(
        """SELECT count(DISTINCT user_id) AS others,
                  (SELECT count(*) FROM connections WHERE platform_id = %s AND status = 'connected') AS connected
           FROM change_events WHERE platform_id = %s AND setting_key = %s AND kind = 'user_setting_changed'
             AND before = %s AND after = %s AND occurred_at BETWEEN %s AND %s AND user_id <> %s""",
        (platform_id, platform_id, e.key, Jsonb(e.before), Jsonb(e.after), at - window, at + window, user_id),
    )).fetchone()
    users = row["others"] + 1
    needed = max(settings.suspected_flip_min_users, math.ceil(settings.suspected_flip_min_share * row["connected"]))
    if users < needed:
        return False
    await conn.execute(
        """UPDATE change_events SET attribution = 'suspected_platform'
           WHERE platform_id = %s AND setting_key = %s AND kind = 'user_setting_changed' AND attribution = 'user'
             AND before = %s AND after = %s AND occurred_at BETWEEN %s AND %s""",
        (platform_id, e.key, Jsonb(e.before), Jsonb(e.after), at - window, at + window),
    )
    return True


async def _observe(conn: Conn, user_id: UUID, platform_id: UUID, template: Template,
                   differences: list[Difference], at: datetime, settings: Settings) -> Template | None:
    """Record how this page differs from the template; a difference enough users agree on makes a version.

    A difference becomes part of the template when at least `template_quorum_users` distinct users saw it
    within `template_quorum_window_days`, and they are at least half of the users who scanned this
    template version in that window. One odd page (a region, an experiment) never forks the template.
    """
    if not differences:
        return None
    window_start = at - timedelta(days=settings.template_quorum_window_days)
    agreed: list[Difference] = []
    for d in differences:
        await conn.execute(
            """INSERT INTO structure_observations (platform_id, template_id, user_id, fingerprint, difference,
                   observed_at) VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (template_id, fingerprint, user_id) DO UPDATE SET observed_at = EXCLUDED.observed_at""",
            (platform_id, template.id, user_id, d.fingerprint,
             Jsonb({"kind": d.kind, "key": d.key, "detail": d.detail}), at),
        )
    rows = await (await conn.execute(
        """SELECT fingerprint, count(DISTINCT user_id) AS users FROM structure_observations
           WHERE template_id = %s AND fingerprint = ANY(%s) AND observed_at >= %s GROUP BY fingerprint""",
        (template.id, [d.fingerprint for d in differences], window_start),
    )).fetchall()
    counts = {r["fingerprint"]: r["users"] for r in rows}
    scanners = (await (await conn.execute(
        """SELECT count(*) AS n FROM (
               SELECT cs.user_id FROM current_settings cs JOIN connections c ON c.id = cs.connection_id
               WHERE cs.template_id = %s AND c.last_scan_at >= %s
               UNION SELECT %s::uuid) u""",
        (template.id, window_start, user_id),
    )).fetchone())["n"]
    for d in differences:
        users = counts.get(d.fingerprint, 0)
        if users >= settings.template_quorum_users and users * 2 >= scanners:
            agreed.append(d)
    if not agreed:
        return None
    structure = _evolve(template.structure, agreed)
    made = await create_version(conn, platform_id, structure, label=f"observed-{at.date().isoformat()}",
                                source="observed", at=at)
    return made[0] if made else None


def _evolve(structure: Structure, agreed: list[Difference]) -> Structure:
    settings = list(structure.settings)
    for d in agreed:
        if d.kind == "missing":
            settings = [s for s in settings if s.key != d.key]
        elif d.kind == "added" and structure.get(d.key) is None:
            options = tuple({"value": o, "label": o, "exposure": 0.5} for o in d.detail.get("options", []))
            settings.append(TemplateSetting(
                key=d.key, label=d.detail["label"], section=d.detail.get("section") or "Other",
                type="select" if len(options) > 2 else "toggle", options=options if len(options) > 2 else (),
                default=None, protective=None, recommended=None, risk=None, weight=0, explanation=None,
                deep_link=None, curated=False,
            ))
        elif d.kind == "options":
            settings = [_with_options(s, d.detail["options"]) if s.key == d.key else s for s in settings]
    return Structure(tuple(settings))


def _with_options(s: TemplateSetting, options: list[str]) -> TemplateSetting:
    known = {o["value"]: o for o in s.options}
    merged = tuple(known.get(v) or {"value": v, "label": v, "exposure": 0.5} for v in options)
    return TemplateSetting(**{**s.__dict__, "options": merged})

