"""What the browser extension calls: submit scans, pick up scan requests, list platforms, check a scan.

These routes take `ExtensionCaller` (extension tokens allowed); every other route takes `CurrentUser`,
which refuses extension tokens, so a paired extension can do exactly this much and no more.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response, status
from pydantic import BaseModel

from api.deps import AppSettings, Db, DbConn, ExtensionCaller, OwnedScan, OwnedScanRequest
from ingest.scans import SCAN_SCHEMA_PATH, submit_scan
from memory import extension
from memory.scan_requests import open_requests, set_status

router = APIRouter(prefix="/api/extension", tags=["extension"])

POLL_INTERVAL = 0.5


def _scan_schema() -> dict[str, Any]:
    schema = json.loads(SCAN_SCHEMA_PATH.read_text(encoding="utf-8"))
    return {k: v for k, v in schema.items() if not k.startswith("$")}  # the rest is valid OpenAPI 3.1


@router.post("/scans", status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "The same idempotency key again: the first result, unchanged"},
                        413: {"description": "The scan is over the size limit"}},
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"application/json": {"schema": _scan_schema()}}}})
async def submit(payload: Annotated[Any, Body()], caller: ExtensionCaller, conn: DbConn, settings: AppSettings,
                 request: Request, response: Response) -> dict[str, Any]:
    """Validate against the scan JSON Schema and store; idempotent on the payload's idempotency_key."""
    result = await submit_scan(conn, caller.user_id, payload, settings)
    if result.get("replayed"):
        response.status_code = status.HTTP_200_OK
        return result
    await extension.complete_settings_requests(conn, caller.user_id, result["platform"])
    redis = getattr(request.app.state, "redis", None)
    if redis is not None:
        # Open streams in every API process hear of it (the chat UI, the popup); cached reads are retired.
        from api.events import publish_user_event

        await publish_user_event(redis, caller.user_id, {
            "type": "scan.completed", "platform": result["platform"], "scan_id": result["scan_id"],
            "score": result["score"], "previous_score": result["previous_score"],
            "changes": len(result["changes"])})
    return result


@router.get("/scans/{scan_id}")
async def scan_status(scan: OwnedScan, caller: ExtensionCaller) -> dict[str, Any]:
    return scan


@router.get("/scan-requests")
async def pending_requests(caller: ExtensionCaller, db: Db, settings: AppSettings,
                           timeout: Annotated[float, Query(ge=0, le=120)] = 0) -> dict[str, Any]:
    """Open settings-scan requests; with `timeout`, wait up to that long (capped) for one to appear."""
    deadline = time.monotonic() + min(timeout, settings.longpoll_max_seconds)
    while True:
        # A connection per poll, never held across the wait: long-polls must not drain the pool.
        async with db.connection() as conn:
            rows = await open_requests(conn, caller.user_id, kind="settings")
        if rows or time.monotonic() >= deadline:
            return {"requests": rows, "waited": timeout > 0 and not rows}
        await asyncio.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))


class RequestUpdate(BaseModel):
    status: Literal["picked_up", "done", "failed"]


@router.post("/scan-requests/{request_id}")
async def update_request(body: RequestUpdate, scan_request: OwnedScanRequest, caller: ExtensionCaller,
                         conn: DbConn) -> dict[str, Any]:
    return await set_status(conn, caller.user_id, scan_request["id"], body.status)


@router.get("/platforms")
async def platforms(caller: ExtensionCaller, conn: DbConn) -> list[dict[str, Any]]:
    """Every platform with this user's connection, last scan and whether a scan is wanted."""
    return await extension.platforms_for(conn, caller.user_id)
