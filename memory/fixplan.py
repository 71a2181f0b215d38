"""The fix plan and top risks: plain functions over privacy_state() output (no SQL, no framework)."""

from __future__ import annotations

from typing import Any


def _total_weight(settings: list[dict[str, Any]]) -> int:
    # The same denominator as the score: rated settings the page showed.
    return sum(s["weight"] for s in settings if s["exposure"] is not None and s["weight"] > 0)


def fix_plan(state: list[dict[str, Any]], exposure_of: dict[tuple[str, str], float | None]) -> list[dict[str, Any]]:
    """Every change to a recommended value, ordered by score points gained on its platform (most first).

    `exposure_of[(platform, key)]` is the recommended value's exposure (the template knows it).
    """
    steps = []
    for p in state:
        total = _total_weight(p["settings"])
        for s in p["settings"]:
            if not total or s["exposure"] is None or s["at_recommended"] or s["recommended"] is None:
                continue
            target = exposure_of.get((p["platform"], s["key"])) or 0.0
            gain = 100.0 * s["weight"] * (s["exposure"] - target) / total
            if gain <= 0:
                continue
            steps.append({
                "platform": p["platform"], "platform_name": p["name"], "key": s["key"], "label": s["label"],
                "value": s["value"], "recommended": s["recommended"], "points_gained": round(gain, 2),
                "risk": s["risk"], "deep_link": s["deep_link"],
            })
    steps.sort(key=lambda x: (-x["points_gained"], x["platform"], x["key"]))
    return steps


def top_risks(scores: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """The heaviest exposed settings across platforms, from each platform's stored score breakdown."""
    risks = []
    for p in scores["platforms"]:
        for r in (p.get("breakdown") or {}).get("top_risks", []):
            risks.append({"platform": p["platform"], **r})
    risks.sort(key=lambda r: (-r["points_lost"], r["platform"], r["key"]))
    return risks[:limit]
