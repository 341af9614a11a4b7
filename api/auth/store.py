"""PostgreSQL persistence of credentials (schema ``auth``); SQL as named constants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import Connection
from psycopg.rows import class_row, dict_row
from psycopg_pool import ConnectionPool

from api.auth.credentials import (
    DEVICE_PREFIX,
    TRACKING_PREFIX,
    derive_token,
    hash_password,
    new_opaque_token,
    token_digest,
)
from api.auth.principals import USER_ROLES, Role
from api.auth.token_cache import DeviceTokenCache
from api.errors import ApiConflict, ApiRuleViolation

INSERT_USER = """
INSERT INTO auth.user_account (username, password_hash, role)
VALUES (%(username)s, %(password_hash)s, %(role)s)
RETURNING user_id::text AS user_id
"""
UPSERT_USER = """
INSERT INTO auth.user_account (username, password_hash, role)
VALUES (%(username)s, %(password_hash)s, %(role)s)
ON CONFLICT (username) DO UPDATE
  SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, active = true
RETURNING user_id::text AS user_id
"""
SELECT_USER_BY_NAME = """
SELECT user_id::text AS user_id, username, password_hash, role, active
FROM auth.user_account WHERE username = %(username)s
"""
LIST_USERS = """
SELECT user_id::text AS user_id, username, password_hash, role, active
FROM auth.user_account ORDER BY username
"""
INSERT_DEVICE = """
INSERT INTO auth.device_token (token_sha256, rider_id, label)
VALUES (%(digest)s, %(rider_id)s, %(label)s)
"""
SELECT_DEVICE_RIDER = """
SELECT rider_id FROM auth.device_token
WHERE token_sha256 = %(digest)s AND revoked_at IS NULL
"""
REVOKE_DEVICE_TOKENS = """
UPDATE auth.device_token SET revoked_at = now()
WHERE rider_id = %(rider_id)s AND revoked_at IS NULL
"""
INSERT_TRACKING_LINK = """
INSERT INTO auth.tracking_link (token_sha256, order_id, expires_at)
VALUES (%(digest)s, %(order_id)s, %(expires_at)s)
ON CONFLICT (token_sha256) DO NOTHING
"""
SELECT_TRACKING_LINK = """
SELECT link_id::text AS link_id, order_id, expires_at, closed_at
FROM auth.tracking_link WHERE token_sha256 = %(digest)s
"""
MOVE_TRACKING_LINKS = """
UPDATE auth.tracking_link
SET order_id = %(to_order)s, closed_at = NULL,
    expires_at = greatest(expires_at, %(min_expires_at)s)
WHERE order_id = %(from_order)s
"""
CLOSE_TRACKING_LINKS = """
UPDATE auth.tracking_link SET closed_at = %(closed_at)s
WHERE order_id = %(order_id)s AND closed_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A stored user (the hash never leaves the API's auth modules)."""

    user_id: str
    username: str
    password_hash: str
    role: Role
    active: bool


@dataclass(frozen=True, slots=True)
class TrackingLink:
    """A patient's link to one order."""

    link_id: str
    order_id: str
    expires_at: datetime
    closed_at: datetime | None

    def usable_at(self, now: datetime, grace_s: int) -> bool:
        """Whether the link still opens at ``now``."""
        if now >= self.expires_at:
            return False
        return self.closed_at is None or now < self.closed_at + timedelta(
            seconds=grace_s
        )


def _user(row: dict[str, object]) -> UserRecord:
    return UserRecord(
        user_id=str(row["user_id"]),
        username=str(row["username"]),
        password_hash=str(row["password_hash"]),
        role=Role(str(row["role"])),
        active=bool(row["active"]),
    )


class AuthStore:
    """Users, device tokens and tracking links in PostgreSQL.

    Device-token checks are cached for ``device_cache_ttl_s`` (see
    :mod:`api.auth.token_cache`): a revocation through this store takes effect at once
    here, and in other processes within that many seconds.
    """

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        link_key: bytes = b"",
        device_cache_ttl_s: float = 0,
    ) -> None:
        self._pool = pool
        self._link_key = link_key or new_opaque_token("").encode()
        self.device_cache = DeviceTokenCache(device_cache_ttl_s)

    def add_user(
        self, *, username: str, password: str, role: Role, replace: bool = False
    ) -> str:
        """Create (or with ``replace``, reset) a user; return its id."""
        if role not in USER_ROLES:
            raise ApiRuleViolation(f"role {role.value!r} cannot log in with a password")
        if len(password) < 12:
            raise ApiRuleViolation("passwords need at least 12 characters")
        params = {
            "username": username.lower(),
            "role": role.value,
            "password_hash": hash_password(password),
        }
        try:
            with (
                self._pool.connection() as conn,
                conn.cursor(row_factory=dict_row) as cur,
            ):
                row = cur.execute(
                    UPSERT_USER if replace else INSERT_USER, params
                ).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise ApiConflict(f"user {username.lower()!r} already exists") from exc
        except psycopg.errors.CheckViolation as exc:
            raise ApiRuleViolation(
                "usernames are 3-64 characters of a-z, 0-9 and . _ @ -"
            ) from exc
        if row is None:  # pragma: no cover - RETURNING always yields a row
            raise ApiConflict(f"user {username.lower()!r} was not stored")
        return str(row["user_id"])

    def user_by_name(self, username: str) -> UserRecord | None:
        """The user called ``username``, or None."""
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                SELECT_USER_BY_NAME, {"username": username.lower()}
            ).fetchone()
        return _user(row) if row else None

    def list_users(self) -> list[UserRecord]:
        """Every user, by username."""
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return [_user(r) for r in cur.execute(LIST_USERS).fetchall()]

    def issue_device_token(self, *, rider_id: str, label: str = "") -> str:
        """A new device token for ``rider_id`` (returned once, stored hashed)."""
        token = new_opaque_token(DEVICE_PREFIX)
        with self._pool.connection() as conn:
            conn.execute(
                INSERT_DEVICE,
                {"digest": token_digest(token), "rider_id": rider_id, "label": label},
            )
        return token

    def rider_for_device_token(self, token: str) -> str | None:
        """The rider a live device token belongs to, or None (refusals are not
        cached: each unknown token reads the database)."""
        digest = token_digest(token)
        cached = self.device_cache.get(digest)
        if cached is not None:
            return cached
        epoch = self.device_cache.epoch
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(SELECT_DEVICE_RIDER, {"digest": digest}).fetchone()
        if row is None:
            return None
        rider_id = str(row["rider_id"])
        self.device_cache.put(digest, rider_id, epoch)
        return rider_id

    def revoke_device_tokens(self, rider_id: str) -> int:
        """Revoke every live token of ``rider_id``; return how many. Refused in
        this process from now on (the cache is evicted after the commit)."""
        with self._pool.connection() as conn:
            revoked = conn.execute(
                REVOKE_DEVICE_TOKENS, {"rider_id": rider_id}
            ).rowcount
        self.device_cache.evict_rider(rider_id)
        return revoked

    def ensure_tracking_link(
        self, *, order_id: str, ttl_s: int, now: datetime | None = None
    ) -> str:
        """The order's primary tracking token: derived from the order id with a
        server key, so an idempotent retry of order creation gets the same link."""
        token = TRACKING_PREFIX + derive_token(self._link_key, "track:" + order_id)
        expires_at = (now or datetime.now(UTC)) + timedelta(seconds=ttl_s)
        with self._pool.connection() as conn:
            conn.execute(
                INSERT_TRACKING_LINK,
                {
                    "digest": token_digest(token),
                    "order_id": order_id,
                    "expires_at": expires_at,
                },
            )
        return token

    def tracking_link(self, token: str) -> TrackingLink | None:
        """The link a token opens, or None."""
        if not token.startswith(TRACKING_PREFIX):
            return None
        with (
            self._pool.connection() as conn,
            conn.cursor(row_factory=class_row(TrackingLink)) as cur,
        ):
            return cur.execute(
                SELECT_TRACKING_LINK, {"digest": token_digest(token)}
            ).fetchone()

    @staticmethod
    def move_tracking_links(
        conn: Connection[Any],
        *,
        from_order: str,
        to_order: str,
        min_expires_at: datetime,
    ) -> int:
        """Make ``from_order``'s links open ``to_order`` (its replacement), on the
        caller's connection so it commits with the replacement; returns how many."""
        return conn.execute(
            MOVE_TRACKING_LINKS,
            {
                "from_order": from_order,
                "to_order": to_order,
                "min_expires_at": min_expires_at,
            },
        ).rowcount

    def close_tracking_links(self, order_id: str, at: datetime) -> None:
        """Start the post-delivery grace period of ``order_id``'s links."""
        with self._pool.connection() as conn:
            conn.execute(CLOSE_TRACKING_LINKS, {"order_id": order_id, "closed_at": at})
