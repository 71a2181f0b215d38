"""Builders shared by the memory tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory.catalog import PlatformDef, load_platform_file

DATA = Path(__file__).parent / "data"
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)

LABELS = {
    "location_history": ("Location History", "Location"),
    "ad_personalization": ("Personalized ads", "Ads"),
    "post_audience": ("Who can see your future posts", "Audience"),
    "two_step": ("Two-step verification", "Security"),
}


def acme() -> PlatformDef:
    return load_platform_file(DATA / "acme.yaml")


def acme_with(**changes: Any) -> PlatformDef:
    """The acme platform with some settings' fields replaced: acme_with(ad_personalization={"default": "off"})."""
    p = acme().model_dump()
    p["catalog_version"] = "test-2"
    for key, fields in changes.items():
        for s in p["settings"]:
            if s["key"] == key:
                s.update(fields)
    return PlatformDef.model_validate(p)


def scan(values: dict[str, str], *, at: datetime | None = None, key: str | None = None,
         extra: list[dict[str, Any]] | None = None, by_label: bool = False) -> dict[str, Any]:
    settings = []
    for k, v in values.items():
        label, section = LABELS[k]
        item: dict[str, Any] = {"label": label, "section": section, "value": v}
        if not by_label:
            item["key"] = k
        settings.append(item)
    settings.extend(extra or [])
    return {
        "platform": "acme",
        "scanned_at": (at or T0).isoformat(),
        "scraper_version": "test",
        "idempotency_key": key or uuid.uuid4().hex,
        "settings": settings,
    }


def days(n: float) -> timedelta:
    return timedelta(days=n)


DEFAULTS = {"location_history": "on", "ad_personalization": "on", "post_audience": "public", "two_step": "off"}
