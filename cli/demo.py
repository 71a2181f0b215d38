"""Demo data: a person with four weeks of scans, their own changes, a platform change and a silent flip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ingest.scans import submit_scan
from memory import state
from memory.catalog import load_catalog
from memory.catalog_store import load_platform
from memory.db import Conn, Database
from memory.errors import UserNotFound
from memory.settings import get_settings
from memory.structure import Structure
from memory.templates import current_template, platform_by_slug
from memory.users import create_user, user_by_email

DEMO_EMAIL = "demo@privyloop.local"
NEIGHBOURS = [f"neighbour{i}@privyloop.local" for i in range(1, 4)]
PLATFORMS = ["google", "facebook", "openai", "linkedin"]
NEW_LINKEDIN_SETTING = {"label": "Share my profile with partner AI services", "section": "Data privacy",
                        "value": "on"}


async def _structure(conn: Conn, slug: str) -> Structure:
    return (await current_template(conn, (await platform_by_slug(conn, slug))["id"])).structure


def _defaults(structure: Structure) -> dict[str, str]:
    return {s.key: s.default for s in structure.settings if s.curated and s.default is not None}


def _by_weight(structure: Structure) -> list[str]:
    """Curated settings whose default is exposed, heaviest first (stable for a given catalog)."""
    exposed = [s for s in structure.settings if s.curated and s.exposure_of(s.default)]
    return [s.key for s in sorted(exposed, key=lambda s: (-s.weight, s.key))]


async def _scan(conn: Conn, user_id: UUID, slug: str, values: dict[str, str], at: datetime, tag: str,
                extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    structure = await _structure(conn, slug)
    items: list[dict[str, Any]] = []
    for key, value in values.items():
        s = structure.get(key)
        if s is not None:
            items.append({"key": key, "label": s.label, "section": s.section, "value": value})
    items.extend(extra or [])
    payload = {"platform": slug, "scanned_at": at.isoformat(), "scraper_version": "demo-1.0",
               "idempotency_key": f"demo-{tag}-{slug}-{user_id}", "settings": items}
    return await submit_scan(conn, user_id, payload, get_settings())


async def _user(conn: Conn, email: str, name: str) -> tuple[UUID, bool]:
    try:
        return (await user_by_email(conn, email))["id"], False
    except UserNotFound:
        return (await create_user(conn, email, name=name, tier="pro"))["id"], True


async def load_demo(db: Database) -> dict[str, Any]:
    """Build the demo once (later runs only read it back) and return its changes and scores."""
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=28)
    async with db.connection() as conn:
        catalog = load_catalog()
        for platform in catalog.values():
            await load_platform(conn, platform, at=start - timedelta(days=1))
        from ingest.policies import load_bundled_policies

        await load_bundled_policies(conn, at=start - timedelta(days=1))   # seeds only platforms without one
        demo, fresh = await _user(conn, DEMO_EMAIL, "Demo Person")
        if fresh:
            await _build(conn, demo, start, [p for p in PLATFORMS if p in catalog])
        return {
            "email": DEMO_EMAIL,
            "changes": await state.changes(conn, demo),
            "scores": await state.scores(conn, demo),
        }


async def _build(conn: Conn, demo: UUID, start: datetime, platforms: list[str]) -> None:
    day = lambda n: start + timedelta(days=n)  # noqa: E731
    neighbours = [(await _user(conn, email, f"Neighbour {i}"))[0] for i, email in enumerate(NEIGHBOURS, 1)]
    base: dict[str, dict[str, str]] = {}
    for slug in platforms:
        base[slug] = _defaults(await _structure(conn, slug))
    flip_key = _by_weight(await _structure(conn, "facebook"))[1] if "facebook" in platforms else None
    if flip_key:
        structure = await _structure(conn, "facebook")
        base["facebook"][flip_key] = structure.get(flip_key).protective  # everyone had opted out

    # Week 0: a first look at every platform (a baseline: no changes yet).
    for slug in platforms:
        await _scan(conn, demo, slug, base[slug], day(0), "w0")
    for n in neighbours:
        for slug in ("facebook", "linkedin"):
            if slug in platforms:
                await _scan(conn, n, slug, base[slug], day(0), "w0")

    # Week 1: the person follows two recommendations on Google and one on OpenAI.
    mine = {slug: dict(values) for slug, values in base.items()}
    for slug, count in (("google", 2), ("openai", 1)):
        if slug in platforms:
            structure = await _structure(conn, slug)
            for key in _by_weight(structure)[:count]:
                mine[slug][key] = structure.get(key).recommended_value
            await _scan(conn, demo, slug, mine[slug], day(7), "w1")

    # Week 2: LinkedIn shows a new setting on everyone's page; agreeing pages make a new template version.
    if "linkedin" in platforms:
        for i, uid in enumerate([*neighbours[:2], demo]):
            await _scan(conn, uid, "linkedin", mine["linkedin"], day(14) + timedelta(hours=i), "w2",
                        extra=[NEW_LINKEDIN_SETTING])

    # Day 20: the same Facebook setting flips back on for several people at once: a suspected silent change.
    if flip_key:
        flipped = {**mine["facebook"], flip_key: (await _structure(conn, "facebook")).get(flip_key).default}
        for i, uid in enumerate([*neighbours, demo]):
            await _scan(conn, uid, "facebook", flipped, day(20) + timedelta(hours=i), "d20")

    # Day 24: Google publishes a new privacy policy; every connected user gets one platform_policy_updated.
    if "google" in platforms:
        from ingest.pipeline import ingest_policy
        from ingest.policies import bundled_update_path

        await ingest_policy(conn, bundled_update_path(), platform="google", at=day(24))

    # Day 27: a Google re-scan that changes nothing stores nothing new.
    if "google" in platforms:
        await _scan(conn, demo, "google", mine["google"], day(27), "w4")
