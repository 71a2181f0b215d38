"""Accounts: register, log in and out, API tokens for scripts, extension pairing and devices."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from api import security
from api.auth import clear_session_cookies, set_session_cookies
from api.deps import AppSettings, CurrentUser, DbConn, OwnedDevice, OwnedToken
from api.errors import Unauthenticated
from api.login_limit import check_login_allowed
from memory import accounts, devices
from memory.errors import Conflict
from memory.users import create_user, get_user

router = APIRouter(prefix="/api/auth", tags=["accounts"])

Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, Field(min_length=10, max_length=256)]


class Register(BaseModel):
    email: Email
    password: Password
    name: str | None = Field(None, max_length=120)


class Login(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    id: UUID
    email: str
    name: str | None
    tier: str
    kind: str
    csrf_token: str | None = None


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=80)


class TokenInfo(BaseModel):
    id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedToken(TokenInfo):
    token: str  # shown once; only its hash is stored


class PairingRequest(BaseModel):
    device_name: str | None = Field(None, max_length=80)


class PairingCode(BaseModel):
    code: str
    expires_at: datetime


class PairingExchange(BaseModel):
    code: str = Field(min_length=8, max_length=16)
    device_name: str = Field("Browser extension", min_length=1, max_length=80)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class ExtensionTokens(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_at: datetime
    refresh_token: str
    device_id: UUID


class DeviceInfo(BaseModel):
    id: UUID
    name: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


async def _start_session(conn: DbConn, settings: AppSettings, response: Response, user: dict[str, Any]) -> Me:
    token = security.new_token("session")
    await accounts.create_session(conn, user["id"], security.token_hash(token),
                                  timedelta(hours=settings.session_ttl_hours))
    csrf = set_session_cookies(response, settings, token)
    return Me(id=user["id"], email=user["email"], name=user["name"], tier=user["tier"], kind="session",
              csrf_token=csrf)


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=Me)
async def register(body: Register, request: Request, response: Response, conn: DbConn,
                   settings: AppSettings) -> Me:
    await check_login_allowed(request, settings, body.email)
    try:
        user = await create_user(conn, body.email, name=body.name,
                                 password_hash=await asyncio.to_thread(security.hash_password, body.password))
    except Conflict as exc:
        raise Conflict("an account with this email already exists") from exc
    return await _start_session(conn, settings, response, user)


@router.post("/login", response_model=Me)
async def login(body: Login, request: Request, response: Response, conn: DbConn, settings: AppSettings) -> Me:
    await check_login_allowed(request, settings, body.email)
    record = await accounts.login_record(conn, body.email)
    # argon2 is deliberately slow: off the event loop so other requests keep flowing.
    stored = record["password_hash"] if record else None
    if not await asyncio.to_thread(security.verify_password, stored, body.password):
        raise Unauthenticated("wrong email or password")
    return await _start_session(conn, settings, response, await get_user(conn, record["id"]))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, conn: DbConn, response: Response) -> Response:
    if user.kind == "session" and user.credential_id is not None:
        await accounts.delete_session(conn, user.user_id, user.credential_id)
    clear_session_cookies(response)
    response.status_code = status.HTTP_204_NO_CONTENT
    return response


@router.get("/me", response_model=Me)
async def me(user: CurrentUser, conn: DbConn, request: Request, settings: AppSettings) -> Me:
    row = await get_user(conn, user.user_id)
    session = request.cookies.get("privyloop_session") if user.kind == "session" else None
    return Me(id=row["id"], email=row["email"], name=row["name"], tier=row["tier"], kind=user.kind,
              csrf_token=security.csrf_token(settings, session) if session else None)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=CreatedToken)
async def create_token(body: NewToken, user: CurrentUser, conn: DbConn, settings: AppSettings) -> CreatedToken:
    token = security.new_token("api")
    row = await accounts.create_api_token(conn, user.user_id, body.name, token[:10], security.token_hash(token),
                                          timedelta(days=settings.api_token_ttl_days))
    return CreatedToken(**row, token=token)


@router.get("/tokens", response_model=list[TokenInfo])
async def list_tokens(user: CurrentUser, conn: DbConn) -> list[dict[str, Any]]:
    return await accounts.list_api_tokens(conn, user.user_id)


@router.delete("/tokens/{token_id}", response_model=TokenInfo)
async def revoke_token(token: OwnedToken, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await accounts.revoke_api_token(conn, user.user_id, token["id"])


@router.post("/pairing-codes", status_code=status.HTTP_201_CREATED, response_model=PairingCode)
async def create_pairing_code(body: PairingRequest, user: CurrentUser, conn: DbConn,
                              settings: AppSettings) -> PairingCode:
    code = security.new_pairing_code()
    expires = await devices.create_pairing_code(conn, user.user_id, security.token_hash(code),
                                                timedelta(minutes=settings.pairing_code_ttl_minutes),
                                                body.device_name)
    return PairingCode(code=code, expires_at=expires)


@router.post("/extension/pair", response_model=ExtensionTokens)
async def pair_extension(body: PairingExchange, request: Request, conn: DbConn,
                         settings: AppSettings) -> ExtensionTokens:
    """The extension trades a pairing code (no other credential) for its own tokens."""
    await check_login_allowed(request, settings, "pairing")
    refresh = security.new_token("refresh")
    device = await devices.redeem_pairing_code(
        conn, security.token_hash(security.normalise_pairing_code(body.code)), body.device_name,
        security.token_hash(refresh), timedelta(days=settings.refresh_token_ttl_days))
    access, expires = security.issue_access_token(settings, device["user_id"], device["id"], device["tier"])
    return ExtensionTokens(access_token=access, expires_at=expires, refresh_token=refresh, device_id=device["id"])


@router.post("/extension/refresh", response_model=ExtensionTokens)
async def refresh_extension(body: RefreshRequest, conn: DbConn, settings: AppSettings) -> ExtensionTokens:
    new_refresh = security.new_token("refresh")
    row = await devices.rotate_refresh(conn, security.token_hash(body.refresh_token),
                                       security.token_hash(new_refresh),
                                       timedelta(days=settings.refresh_token_ttl_days))
    if row["reused"]:
        raise devices.RefreshRejected("this refresh token was already used; the device has been signed out")
    access, expires = security.issue_access_token(settings, row["user_id"], row["device_id"], row["tier"])
    return ExtensionTokens(access_token=access, expires_at=expires, refresh_token=new_refresh,
                           device_id=row["device_id"])


@router.get("/devices", response_model=list[DeviceInfo])
async def list_devices(user: CurrentUser, conn: DbConn) -> list[dict[str, Any]]:
    return await devices.list_devices(conn, user.user_id)


@router.delete("/devices/{device_id}", response_model=DeviceInfo)
async def revoke_device(device: OwnedDevice, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await devices.revoke_device(conn, user.user_id, device["id"])


