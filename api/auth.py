"""Who is calling: a session cookie (web UI), an API token (scripts) or an extension access token (JWT).

Cookie-authenticated requests that change state must carry the CSRF header (double submit, bound to the
session by HMAC); bearer-token requests cannot be forged cross-site, so they need none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from fastapi import Request, Response

from api.errors import CsrfRejected, Unauthenticated
from api.security import csrf_matches, csrf_token, read_access_token, token_hash
from memory import accounts, devices
from memory.db import Conn
from memory.settings import Settings

SESSION_COOKIE = "privyloop_session"
CSRF_COOKIE = "privyloop_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

Kind = Literal["session", "token", "extension"]


@dataclass(frozen=True)
class Principal:
    """Who is calling, and through which kind of credential."""

    user_id: UUID
    tier: str
    kind: Kind
    device_id: UUID | None = None      # extension credentials only
    credential_id: UUID | None = None  # the session, API token or device row that authenticated


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def authenticate(request: Request, conn: Conn, settings: Settings) -> Principal:
    token = _bearer(request)
    if token is not None:
        return await _from_bearer(conn, settings, token)
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        row = await accounts.session_user(conn, token_hash(session))
        if row is not None:
            if request.method not in SAFE_METHODS and not csrf_matches(
                    settings, session, request.headers.get(CSRF_HEADER)):
                raise CsrfRejected(f"state-changing requests with a session cookie need the {CSRF_HEADER} header")
            return Principal(row["user_id"], row["tier"], "session", credential_id=row["id"])
    raise Unauthenticated("sign in, or send a bearer token", headers={"WWW-Authenticate": "Bearer"})


async def _from_bearer(conn: Conn, settings: Settings, token: str) -> Principal:
    if token.startswith("plt_"):
        row = await accounts.api_token_user(conn, token_hash(token))
        if row is not None:
            return Principal(row["user_id"], row["tier"], "token", credential_id=row["id"])
    elif token.count(".") == 2:
        claims = read_access_token(settings, token)
        if claims is not None:
            # The JWT alone would outlive a revocation; the device row is checked on every request.
            row = await devices.active_device(conn, UUID(claims["sub"]), UUID(claims["dev"]))
            if row is not None:
                return Principal(row["user_id"], row["tier"], "extension", device_id=row["id"],
                                 credential_id=row["id"])
    raise Unauthenticated("the token is invalid, expired or revoked", headers={"WWW-Authenticate": "Bearer"})


def set_session_cookies(response: Response, settings: Settings, session_token: str) -> str:
    """The HttpOnly session cookie plus a readable CSRF cookie the web UI echoes in the header."""
    secure = settings.env == "production"
    max_age = settings.session_ttl_hours * 3600
    response.set_cookie(SESSION_COOKIE, session_token, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure, path="/")
    csrf = csrf_token(settings, session_token)
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure,
                        path="/")
    return csrf


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
