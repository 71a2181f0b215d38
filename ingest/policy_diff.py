"""Section-level diff between two versions of a policy, and the one-line summary users are told."""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz

from ingest.chunking import Section


def section_records(text: str, sections: list[Section]) -> list[dict[str, Any]]:
    """What a later version is compared against; duplicate headings get a counter so keys stay unique."""
    seen: dict[str, int] = {}
    records = []
    for s in sections:
        key = s.heading or "(untitled)"
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key} ({seen[key]})"
        records.append({"heading": key, "start": s.start, "end": s.end, "hash": s.fingerprint(text)})
    return records


def diff_sections(old_text: str, old: list[dict[str, Any]], new_text: str,
                  new: list[dict[str, Any]]) -> dict[str, Any]:
    """added / removed / changed section headings (in document order), with how similar changed ones remain."""
    before = {r["heading"]: r for r in old}
    after = {r["heading"]: r for r in new}
    added = [h for h in after if h not in before]
    removed = [h for h in before if h not in after]
    changed = []
    for h, r in after.items():
        if h in before and before[h]["hash"] != r["hash"]:
            a = old_text[before[h]["start"]:before[h]["end"]]
            b = new_text[r["start"]:r["end"]]
            changed.append({"section": h, "similarity": round(fuzz.ratio(a, b) / 100, 2)})
    return {"added": added, "removed": removed, "changed": changed}


def summarise(diff: dict[str, Any], *, limit: int = 6) -> str:
    """A short factual sentence: which sections changed, were added or were removed."""
    parts = [f"section '{c['section']}' changed" for c in diff["changed"]]
    parts += [f"'{h}' added" for h in diff["added"]]
    parts += [f"'{h}' removed" for h in diff["removed"]]
    if not parts:
        return "Policy updated: wording changed outside any section"
    more = len(parts) - limit
    text = "; ".join(parts[:limit]) + (f"; and {more} more" if more > 0 else "")
    return f"Policy updated: {text}"
