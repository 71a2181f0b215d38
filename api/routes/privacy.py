"""Privacy endpoints for people (web session or API token): their state, history, changes, fixes, data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from api import security
from api.deps import AppSettings, CurrentUser, DbConn
from api.errors import Unauthenticated
from memory import accounts, extension, state
from memory.errors import NotFound
from memory.fixplan import fix_plan, top_risks
from memory.templates import current_template, platform_by_slug
from memory.users import erase_user, export_user

router = APIRouter(prefix="/api/privacy", tags=["privacy"])

PlatformQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


async def _cached(request: Request, user_id: Any, name: str, loader: Any) -> Any:
    """Hot reads through the Redis cache when the app has one (retired when a scan lands), else direct."""
    redis = getattr(request.app.state, "redis", None)
    if redis is None:
        return await loader()
    from api.cache import cached_json

    return await cached_json(redis, user_id, name, request.app.state.settings.cache_ttl_seconds, loader)


@router.get("/dashboard")
async def dashboard(user: CurrentUser, conn: DbConn, request: Request) -> dict[str, Any]:
    async def load() -> dict[str, Any]:
        scores = await state.scores(conn, user.user_id)
        last_scan = max((p["scanned_at"] for p in scores["platforms"] if p["scanned_at"]), default=None)
        return {
            "overall_score": scores["overall"],
            "platforms": [{k: p[k] for k in ("platform", "name", "score", "scanned_at", "template_version")}
                          for p in scores["platforms"]],
            "last_scan_at": last_scan,
            "recent_changes": await state.changes(conn, user.user_id, limit=10),
            "top_risks": top_risks(scores),
        }

    return await _cached(request, user.user_id, "dashboard", load)


@router.get("/history")
async def history(user: CurrentUser, conn: DbConn, platform: PlatformQuery = None) -> list[dict[str, Any]]:
    return await state.score_history(conn, user.user_id, platform)


@router.get("/replay")
async def replay(user: CurrentUser, conn: DbConn, platform: Annotated[str, Query(min_length=1, max_length=64)],
                 at: datetime) -> dict[str, Any]:
    result = await state.replay_at(conn, user.user_id, platform, _aware(at))  # type: ignore[arg-type]
    if result is None:
        raise NotFound(f"no {platform} settings were stored by {at.isoformat()}")
    return result


@router.get("/changes")
async def changes(user: CurrentUser, conn: DbConn, since: datetime | None = None, platform: PlatformQuery = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    return await state.changes(conn, user.user_id, since=_aware(since), platform=platform, limit=limit)


@router.get("/platforms/{platform}/settings/{key}")
async def explain(platform: str, key: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """What a setting controls, the user's value, what we recommend and where to change it."""
    template = await current_template(conn, (await platform_by_slug(conn, platform))["id"])
    setting = template.structure.get(key)
    if setting is None:
        raise NotFound(f"{platform} has no setting '{key}'")
    mine = next((s for p in await state.privacy_state(conn, user.user_id, platform)
                 for s in p["settings"] if s["key"] == key), None)
    return {
        "platform": platform, "key": key, "label": setting.label, "section": setting.section,
        "explanation": setting.explanation, "your_value": mine["value"] if mine else None,
        "default": setting.default, "recommended": setting.recommended_value,
        "at_recommended": bool(mine and mine["at_recommended"]), "risk": setting.risk,
        "deep_link": setting.deep_link,
    }


@router.get("/fix-plan")
async def get_fix_plan(user: CurrentUser, conn: DbConn, platform: PlatformQuery = None) -> dict[str, Any]:
    current = await state.privacy_state(conn, user.user_id, platform)
    targets: dict[tuple[str, str], float | None] = {}
    for p in current:
        template = await current_template(conn, (await platform_by_slug(conn, p["platform"]))["id"])
        for s in template.structure.settings:
            targets[(p["platform"], s.key)] = s.exposure_of(s.recommended_value)
    return {"steps": fix_plan(current, targets)}


@router.get("/policies/search")
async def policy_search(request: Request, user: CurrentUser, conn: DbConn, settings: AppSettings, q: Annotated[str, Query(min_length=2, max_length=300)],
                        platform: PlatformQuery = None, k: Annotated[int, Query(ge=1, le=20)] = 5) -> dict[str, Any]:
    from api.policy_search import search  # the ingest side's retrieval, loaded on first use

    return await search(request, conn, settings, q, platform=platform, k=k)


@router.get("/platforms")
async def platforms(user: CurrentUser, conn: DbConn) -> list[dict[str, Any]]:
    return await extension.platforms_for(conn, user.user_id)


@router.post("/platforms/{platform}/connection")
async def connect(platform: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await extension.set_connection(conn, user.user_id, platform, "connected")


@router.delete("/platforms/{platform}/connection")
async def disconnect(platform: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await extension.set_connection(conn, user.user_id, platform, "disconnected")


class Preferences(BaseModel):
    email_enabled: bool | None = None
    change_notifications: bool | None = None
    recommendation_notifications: bool | None = None
    scan_failure_notifications: bool | None = None
    frequency: Literal["immediate", "daily", "weekly", "never"] | None = None


@router.get("/notifications")
async def get_preferences(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await extension.notification_preferences(conn, user.user_id)


@router.put("/notifications")
async def put_preferences(body: Preferences, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await extension.update_notification_preferences(conn, user.user_id, body.model_dump(exclude_none=True))


@router.get("/export")
async def export(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    doc = await export_user(conn, user.user_id)
    # Credential hashes are secrets of the service, not personal data worth handing out.
    for table in ("sessions", "api_tokens", "refresh_tokens", "pairing_codes"):
        doc[table] = [{k: v for k, v in row.items() if not k.endswith("_hash")} for row in doc.get(table, [])]
    doc["user"] = dict(doc["user"])
    return doc


class Erase(BaseModel):
    password: str = Field(min_length=1, max_length=256)
    confirm: Literal["erase my account"]


@router.post("/erase", status_code=status.HTTP_204_NO_CONTENT)
async def erase(body: Erase, user: CurrentUser, conn: DbConn, settings: AppSettings) -> Response:
    """Every row of the user, gone in one transaction; the password is asked again first."""
    stored = await accounts.password_hash_of(conn, user.user_id)
    if not await asyncio.to_thread(security.verify_password, stored, body.password):
        raise Unauthenticated("the password is wrong; nothing was erased")
    await erase_user(conn, user.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


