"""Taking a scan from a scraper: check it against the one published JSON Schema, normalise, store."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker

from memory.db import Conn
from memory.errors import ScanRejected
from memory.resolution import ScannedSetting
from memory.scans import Scan, apply_scan
from memory.settings import Settings

SCAN_SCHEMA_PATH = Path(__file__).parent / "schemas" / "scan.schema.json"


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(SCAN_SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _fast_check() -> Any:
    return fastjsonschema.compile(_schema())


def _first_error(payload: Any) -> str | None:
    """None for a valid scan; else the first problem and where it is (the precise validator, on failure only)."""
    try:
        _fast_check()(payload)
        return None
    except fastjsonschema.JsonSchemaException as fast_error:
        validator = Draft7Validator(_schema(), format_checker=FormatChecker())
        error = next(iter(sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))), None)
        if error is None:  # the two disagree only on corner cases; keep the fast one's word
            return f"invalid scan: {fast_error.message}"
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        return f"invalid scan at {where}: {error.message}"


def parse_scan(payload: Any) -> Scan:
    """A validated Scan, or ScanRejected naming the first problem and where it is."""
    if isinstance(payload, dict) and payload.get("settings") == []:
        raise ScanRejected("the scan has no settings; an empty page would look as if every setting vanished")
    problem = _first_error(payload)
    if problem is not None:
        raise ScanRejected(problem)
    try:
        scanned_at = datetime.fromisoformat(payload["scanned_at"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScanRejected(f"invalid scan at scanned_at: {payload['scanned_at']!r} is not a date-time") from exc
    if scanned_at.tzinfo is None:
        raise ScanRejected("invalid scan at scanned_at: the time needs a time zone")
    items = []
    for item in payload["settings"]:
        value = item["value"]
        if isinstance(value, bool):
            value = "on" if value else "off"
        items.append(ScannedSetting(
            label=item["label"].strip(), value=value.strip(), key=item.get("key"),
            section=(item.get("section") or "").strip() or None,
            options=tuple(o.strip() for o in item["options"]) if "options" in item else None,
        ))
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return Scan(
        platform=payload["platform"], scanned_at=scanned_at, scraper_version=payload["scraper_version"],
        idempotency_key=payload["idempotency_key"], settings=tuple(items),
        payload_hash=hashlib.sha256(canonical.encode()).digest()[:16],
    )


async def submit_scan(conn: Conn, user_id: UUID, payload: Any, settings: Settings) -> dict[str, Any]:
    """Validate and store one scan for the user (idempotent on its idempotency_key)."""
    return await apply_scan(conn, user_id, parse_scan(payload), settings)
