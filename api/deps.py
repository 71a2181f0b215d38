"""Named dependencies every route builds on: the database connection, the caller, ownership checks.

Routes never repeat "is this yours?": they take `OwnedScan`, `OwnedDevice`, ... which load the row *for the
current user* and raise NotFound (404) otherwise, so another user's id looks exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request

from api.auth import Principal, authenticate
from api.errors import Forbidden
from memory import accounts, devices, extension
from memory.db import Conn, Database
from memory.settings import Settings

__all__ = ["AppSettings", "CurrentUser", "Db", "DbConn", "ExtensionCaller", "Principal"]


# `async def` although they never await: FastAPI runs a plain `def` dependency in the thread pool, a thread
# hop per dependency per request for a dictionary lookup.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.db


async def db_conn(request: Request) -> AsyncIterator[Conn]:
    """One pooled connection per request (shared by auth and the route through FastAPI's dependency cache)."""
    db: Database = request.app.state.db
    async with db.connection() as conn:
        yield conn


AppSettings = Annotated[Settings, Depends(get_settings_dep)]
Db = Annotated[Database, Depends(get_database)]
DbConn = Annotated[Conn, Depends(db_conn)]


async def any_principal(request: Request, db: Db, settings: AppSettings) -> Principal:
    """The caller from a session cookie or a bearer token, whatever its kind; 401 without one.

    Its own short-lived connection: a long-poll or a stream must not hold a pooled connection for auth.
    """
    async with db.connection() as conn:
        return await authenticate(request, conn, settings)


async def rate_limited(request: Request, principal: Annotated[Principal, Depends(any_principal)]) -> Principal:
    """Apply the per-user rate limit (api.ratelimit, when the Redis side is running)."""
    try:
        from api.ratelimit import limit_user  # the Redis side's module; absent, there is no per-user limit
    except ModuleNotFoundError:
        return principal
    await limit_user(request, principal.user_id)
    return principal


async def user_principal(principal: Annotated[Principal, Depends(rate_limited)]) -> Principal:
    """A person (web session or script token): everything except extension credentials."""
    if principal.kind == "extension":
        raise Forbidden("extension credentials can only submit scans and read scan status",
                        details={"allowed": "/api/extension/*"})
    return principal


# People (session or API token). FastAPI honours one Depends per Annotated, so the checks chain instead.
CurrentUser = Annotated[Principal, Depends(user_principal)]
# Any authenticated caller, extension tokens included: only for the extension's routes.
ExtensionCaller = Annotated[Principal, Depends(rate_limited)]


async def owned_scan(scan_id: UUID, principal: ExtensionCaller, conn: DbConn) -> dict[str, Any]:
    return await extension.scan_status(conn, principal.user_id, scan_id)


async def owned_device(device_id: UUID, principal: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await devices.get_device(conn, principal.user_id, device_id)


async def owned_token(token_id: UUID, principal: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await accounts.get_api_token(conn, principal.user_id, token_id)


async def owned_scan_request(request_id: UUID, principal: ExtensionCaller, conn: DbConn) -> dict[str, Any]:
    return await extension.get_scan_request(conn, principal.user_id, request_id)


OwnedScan = Annotated[dict[str, Any], Depends(owned_scan)]
OwnedDevice = Annotated[dict[str, Any], Depends(owned_device)]
OwnedToken = Annotated[dict[str, Any], Depends(owned_token)]
OwnedScanRequest = Annotated[dict[str, Any], Depends(owned_scan_request)]
