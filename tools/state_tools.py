"""Tools over the user's own privacy state: state, what changed, score, explain, fix plan.

Each reads the user from the run's context (runtime.context.user_id); none has a user argument.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from memory import state as st
from memory.connections import connected_platforms
from memory.db import Database
from memory.scoring import score_settings
from memory.templates import current_template, list_platforms, platform_by_slug
from memory.threads import last_visit
from tools.matching import find_settings
from tools.memories import memory_texts, waived
from tools.results import ATTRIBUTION, ToolFailed, result


def user_of(runtime: ToolRuntime[Any, Any]) -> UUID:
    return runtime.context.user_id


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ToolFailed(f"'{value}' is not a date (use YYYY-MM-DD)") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def build_state_tools(db: Database) -> list[BaseTool]:
    @tool
    async def privacy_state(platform: str | None = None, *, runtime: ToolRuntime[Any, Any]) -> str:
        """The person's current settings per connected platform, each against the recommended value.

        platform: a platform slug (e.g. "google"), or omit for all connected platforms.
        """
        async with db.connection() as conn:
            rows = await st.privacy_state(conn, user_of(runtime), platform)
        return result({"platforms": [{
            "platform": r["platform"], "name": r["name"], "score": r["score"], "scanned_at": r["scanned_at"],
            "template_version": r["template_version"],
            "settings": [{k: s[k] for k in ("key", "label", "value", "recommended", "at_recommended", "weight",
                                            "deep_link")} for s in r["settings"] if s["shown"]],
            "not_shown": r["not_shown"], "unknown_settings": len(r["unknown"]),
        } for r in rows]})

    @tool
    async def what_changed(since: str | None = None, platform: str | None = None, since_last_visit: bool = False,
                           *, runtime: ToolRuntime[Any, Any]) -> str:
        """What changed in the person's settings and the platforms' templates, who changed it, and its impact.

        since: ISO date; since_last_visit: only changes after the person's previous conversation.
        """
        user_id = user_of(runtime)
        after = _since(since)
        async with db.connection() as conn:
            if since_last_visit and after is None:
                thread_id = (runtime.config.get("configurable") or {}).get("thread_id")
                after = await last_visit(conn, user_id, excluding=str(thread_id) if thread_id else None)
            rows = await st.changes(conn, user_id, since=after, platform=platform, limit=40)
            connected = await connected_platforms(conn, user_id)
        return result({"since": after, "platform": platform,
                       "connected": connected, "changes": [{
            "platform": r["platform"], "platform_name": r["platform_name"], "kind": r["kind"],
            "setting_key": r["setting_key"], "setting": r["setting_label"], "before": r["before"],
            "after": r["after"], "changed_by": ATTRIBUTION.get(r["attribution"], r["attribution"]),
            "attribution": r["attribution"], "direction": r["direction"], "impact": r["impact"],
            "summary": r["summary"], "when": r["occurred_at"],
        } for r in rows]})

    @tool
    async def privacy_score(platform: str | None = None, *, runtime: ToolRuntime[Any, Any]) -> str:
        """The privacy score (0 exposed .. 100 private) overall and per platform, with its breakdown and
        what fixing the top risks would gain."""
        user_id = user_of(runtime)
        async with db.connection() as conn:
            data = await st.scores(conn, user_id, platform)
            history = await st.score_history(conn, user_id, platform)
        out = []
        for p in data["platforms"]:
            b = p["breakdown"] or {}
            moves = [h for h in history if h["platform"] == p["platform"]]
            out.append({
                "platform": p["platform"], "name": p["name"], "score": p["score"],
                "previous_score": moves[-2]["score"] if len(moves) > 1 else None,
                "top_risks": [{k: c[k] for k in ("key", "label", "value", "recommended", "points_lost", "deep_link")}
                              for c in b.get("top_risks", [])],
                "score_if_top_fixed": b.get("score_if_top_fixed"), "score_if_all_fixed": b.get("score_if_all_fixed"),
            })
        return result({"overall": data["overall"], "platforms": out})

    @tool
    async def explain_setting(setting: str, platform: str | None = None, *, runtime: ToolRuntime[Any, Any]) -> str:
        """Explain one setting: what it controls, what it exposes, the trade-off, the person's value, the
        recommendation and the deep link to change it. setting: its name as the person said it."""
        user_id = user_of(runtime)
        async with db.connection() as conn:
            current = {r["platform"]: r for r in await st.privacy_state(conn, user_id, platform)}
            slugs = [platform] if platform else ([*current] or [p["slug"] for p in await list_platforms(conn)])
            candidates = []
            for slug in slugs:
                template = await current_template(conn, (await platform_by_slug(conn, slug))["id"])
                candidates += [(slug, s) for s in template.structure.settings]
        matches = find_settings(setting, candidates)
        if not matches:
            return result({"found": False, "asked": setting, "platforms_searched": slugs})
        m = matches[0]
        value = next((s["value"] for s in current.get(m.platform, {}).get("settings", []) if s["key"] == m.setting.key),
                     None)
        return result({
            "found": True, "platform": m.platform, "key": m.setting.key, "label": m.setting.label,
            "section": m.setting.section, "explanation": m.setting.explanation, "value": value,
            "recommended": m.setting.recommended_value, "default": m.setting.default,
            "deep_link": m.setting.deep_link,
            "also_matched": [{"platform": o.platform, "label": o.setting.label} for o in matches[1:]],
        })

    @tool
    async def fix_plan(platform: str | None = None, limit: int = 5, *, runtime: ToolRuntime[Any, Any]) -> str:
        """Ordered steps to improve privacy, biggest gain first, each with the deep link to change it.
        Settings the person said they are fine with are left out and listed separately."""
        user_id = user_of(runtime)
        async with db.connection() as conn:
            rows = await st.privacy_state(conn, user_id, platform)
        notes = await memory_texts(runtime.store, user_id)
        steps, kept = [], []
        for r in rows:
            async with db.connection() as conn:
                structure = (await current_template(conn, (await platform_by_slug(conn, r["platform"]))["id"])).structure
            values = {s["key"]: s["value"] for s in r["settings"] if s["shown"]}
            base = score_settings(structure, values).score or 0
            for s in r["settings"]:
                if not s["shown"] or s["at_recommended"] or s["recommended"] is None or s["exposure"] is None:
                    continue
                # the gain is exactly what the platform's score would move by, so plan and score agree
                gain = (score_settings(structure, {**values, s["key"]: s["recommended"]}).score or 0) - base
                if gain <= 0:
                    continue
                step: dict[str, Any] = {"platform": r["platform"], "platform_name": r["name"], "key": s["key"],
                                        "label": s["label"], "from": s["value"], "to": s["recommended"],
                                        "gain_points": gain, "deep_link": s["deep_link"]}
                note = waived(notes, s["label"], s["key"])
                (kept if note else steps).append({**step, "you_said": note} if note else step)
        steps.sort(key=lambda s: (-s["gain_points"], s["platform"], s["label"]))
        return result({"steps": steps[:max(1, min(limit, 10))], "more": max(0, len(steps) - limit),
                       "left_as_you_asked": kept})

    return [privacy_state, what_changed, privacy_score, explain_setting, fix_plan]
