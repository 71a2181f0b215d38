"""Secrets: argon2 password hashes, random tokens stored as SHA-256, extension JWTs, CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from memory.settings import Settings

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps login timing the same for known and unknown users.
_DUMMY_HASH = _hasher.hash("privyloop-timing-equaliser")

TOKEN_PREFIXES = {"session": "pls_", "api": "plt_", "refresh": "plr_"}
JWT_ALG = "HS256"
JWT_AUDIENCE = "privyloop-extension"
# Unambiguous characters for codes people type (no 0/O, 1/I/L).
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(kind: str) -> str:
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_pairing_code() -> str:
    raw = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_pairing_code(code: str) -> str:
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:]}"


def csrf_token(settings: Settings, session_token: str) -> str:
    """Bound to the session: a token from another session (or forged) never matches."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(settings: Settings, session_token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(settings, session_token), presented)


def _jwt_key(settings: Settings) -> bytes:
    # A derived 256-bit key: the signing key is never the raw secret, whatever its length.
    return hmac.new(settings.secret_key.get_secret_value().encode(), b"jwt:extension", hashlib.sha256).digest()


def issue_access_token(settings: Settings, user_id: UUID, device_id: UUID, tier: str) -> tuple[str, datetime]:
    expires = datetime.now(UTC) + timedelta(minutes=settings.access_token_ttl_minutes)
    claims = {"sub": str(user_id), "dev": str(device_id), "tier": tier, "aud": JWT_AUDIENCE,
              "exp": expires, "iat": datetime.now(UTC), "jti": secrets.token_hex(8)}
    return jwt.encode(claims, _jwt_key(settings), algorithm=JWT_ALG), expires


def read_access_token(settings: Settings, token: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired extension token; None for anything else."""
    try:
        return jwt.decode(token, _jwt_key(settings), algorithms=[JWT_ALG],
                          audience=JWT_AUDIENCE, options={"require": ["sub", "dev", "exp", "aud"]})
    except jwt.PyJWTError:
        return None
