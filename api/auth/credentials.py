"""Credential material: argon2 password hashes, JWT access tokens, opaque tokens.

Device, tracking and refresh tokens are 256-bit random strings; only their SHA-256
is stored (a random token needs no slow hash, and the hash allows lookup).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.auth.principals import USER_ROLES, Role
from api.errors import Unauthenticated

DEVICE_PREFIX = "rxd_dev_"
TRACKING_PREFIX = "rxd_trk_"
REFRESH_PREFIX = "rxd_rt_"
JWT_ALGORITHM = "HS256"
_ISSUER = "rxdispatch"

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verifying against this keeps unknown-user logins as slow as wrong passwords;
    # made on first use, not at import (an argon2 hash costs ~0.1 s and 64 MiB).
    return _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; constant work when the user is unknown."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and bool(
            stored_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def new_opaque_token(prefix: str) -> str:
    """A fresh unguessable token (256 bits) with a type prefix."""
    return prefix + secrets.token_urlsafe(32)


def derive_token(key: bytes, message: str) -> str:
    """A 256-bit token derived from ``message`` with HMAC-SHA256 under ``key``."""
    mac = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_digest(token: str) -> bytes:
    """The stored form of an opaque token."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified content of a user access token."""

    user_id: str
    role: Role
    username: str
    expires_at: datetime


def issue_access_token(
    *,
    secret: str,
    user_id: str,
    username: str,
    role: Role,
    ttl_s: int,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A signed short-lived JWT and its expiry."""
    issued_at = now or datetime.now(UTC)
    expires_at = issued_at + timedelta(seconds=ttl_s)
    claims = {
        "iss": _ISSUER,
        "sub": user_id,
        "name": username,
        "role": role.value,
        "iat": issued_at,
        "exp": expires_at,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), expires_at


def decode_access_token(token: str, *, secret: str) -> AccessClaims:
    """Verify signature, issuer and expiry; raise :class:`Unauthenticated`."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        role = Role(claims["role"])
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The access token has expired.") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise Unauthenticated("The access token is not valid.") from exc
    if role not in USER_ROLES:
        raise Unauthenticated("The access token is not valid.")
    return AccessClaims(
        user_id=str(claims["sub"]),
        role=role,
        username=str(claims.get("name", "")),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )
