"""PostgreSQL persistence of credentials (schema ``auth``); SQL as named constants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import Connection
from psycopg.rows import class_row, dict_row
from psycopg_pool import ConnectionPool

from api.auth.credentials import (
    DEVICE_PREFIX,
    REFRESH_PREFIX,
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
SELECT_USER_BY_ID = """
SELECT user_id::text, username, password_hash, role, active
FROM auth.user_account WHERE user_id = %(user_id)s
"""
LIST_USERS = """
SELECT user_id::text AS user_id, username, password_hash, role, active
FROM auth.user_account ORDER BY username
"""
INSERT_DEVICE = """
INSERT INTO auth.device_token
    (token_sha256, rider_id, label, created_at, expires_at, issued_by)
VALUES (%(digest)s, %(rider_id)s, %(label)s, %(now)s, %(expires_at)s, %(issued_by)s)
RETURNING token_id::text AS token_id
"""
SELECT_DEVICE_RIDER = """
SELECT rider_id, expires_at FROM auth.device_token
WHERE token_sha256 = %(digest)s AND revoked_at IS NULL AND expires_at > now()
"""
LIST_DEVICE_TOKENS = """
SELECT token_id::text AS token_id, rider_id, label, created_at, expires_at,
       issued_by, revoked_at, revoked_by
FROM auth.device_token WHERE rider_id = %(rider_id)s
ORDER BY created_at DESC, token_id
"""
# token_id NULL: every live token of the rider
REVOKE_DEVICE_TOKENS = """
UPDATE auth.device_token SET revoked_at = now(), revoked_by = %(revoked_by)s
WHERE rider_id = %(rider_id)s AND revoked_at IS NULL
  AND (%(token_id)s::uuid IS NULL OR token_id = %(token_id)s::uuid)
RETURNING token_id::text AS token_id
"""
INSERT_TRACKING_LINK = """
INSERT INTO auth.tracking_link (token_sha256, order_id, expires_at, scope)
VALUES (%(digest)s, %(order_id)s, %(expires_at)s, %(scope)s)
ON CONFLICT (token_sha256) DO NOTHING
"""
SELECT_TRACKING_LINK = """
SELECT link_id::text AS link_id, order_id, expires_at, closed_at, scope
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
INSERT_REFRESH_FAMILY = """
INSERT INTO auth.refresh_family (user_id, created_at, expires_at)
VALUES (%(user_id)s, %(now)s, %(session_end)s)
RETURNING family_id::text
"""
INSERT_REFRESH_DIGEST = """
INSERT INTO auth.refresh_token (token_sha256, family_id, issued_at, expires_at)
VALUES (%(digest)s, %(family_id)s, %(now)s, %(expires_at)s)
"""
# Locks the token and its family: two refreshes of one token run one after the
# other, so the second sees the first's rotation (reuse).
SELECT_REFRESH_FOR_UPDATE = """
SELECT t.family_id::text AS family_id, t.expires_at AS token_expires_at,
       t.rotated_at, f.expires_at AS session_expires_at, f.revoked_at,
       u.user_id::text, u.username, u.password_hash, u.role, u.active
FROM auth.refresh_token t
JOIN auth.refresh_family f ON f.family_id = t.family_id
JOIN auth.user_account u ON u.user_id = f.user_id
WHERE t.token_sha256 = %(digest)s
FOR UPDATE OF t, f
"""
MARK_REFRESH_ROTATED = """
UPDATE auth.refresh_token SET rotated_at = %(now)s WHERE token_sha256 = %(digest)s
"""
SELECT_SESSION_OF_REFRESH = """
SELECT t.family_id::text AS family_id, f.user_id::text AS user_id,
       u.username, u.role
FROM auth.refresh_token t JOIN auth.refresh_family f ON f.family_id = t.family_id
JOIN auth.user_account u ON u.user_id = f.user_id
WHERE t.token_sha256 = %(digest)s
"""
REVOKE_REFRESH_FAMILY = """
UPDATE auth.refresh_family SET revoked_at = %(now)s, revoked_reason = %(reason)s
WHERE family_id = %(family_id)s AND revoked_at IS NULL
"""


class RefreshRefusal(StrEnum):
    """Why a refresh token was not exchanged."""

    unknown = "unknown"
    expired = "expired"
    revoked = "revoked"
    #: a token already rotated was presented again: the family is now revoked
    reuse = "reuse"
    user_inactive = "user_inactive"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A stored user (the hash never leaves the API's auth modules)."""

    user_id: str
    username: str
    password_hash: str
    role: Role
    active: bool


@dataclass(frozen=True, slots=True)
class EndedSession:
    """A session ended by logout, and whose it was."""

    family_id: str
    user_id: str
    username: str
    role: Role


@dataclass(frozen=True, slots=True)
class DeviceTokenIssued:
    """A new device token (shown once) and what may be recorded about it."""

    token: str
    token_id: str
    rider_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceTokenInfo:
    """A device token's metadata (never the token or its digest)."""

    token_id: str
    rider_id: str
    label: str
    created_at: datetime
    expires_at: datetime
    issued_by: str
    revoked_at: datetime | None
    revoked_by: str | None


class LinkScope(StrEnum):
    """What a tracking link may read."""

    #: status, ETA, the approaching rider: what the order's creator receives
    status = "status"
    #: also the patient's messages (their delivery code): the patient's own link,
    #: sent only through the patient channel
    patient = "patient"


@dataclass(frozen=True, slots=True)
class TrackingLink:
    """A link to one order (the patient's, or the creator's status view)."""

    link_id: str
    order_id: str
    expires_at: datetime
    closed_at: datetime | None
    scope: LinkScope

    def usable_at(self, now: datetime, grace_s: int) -> bool:
        """Whether the link still opens at ``now``."""
        if now >= self.expires_at:
            return False
        return self.closed_at is None or now < self.closed_at + timedelta(
            seconds=grace_s
        )


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    """A new refresh token (returned once, stored hashed) of a session."""

    user: UserRecord
    refresh_token: str
    expires_at: datetime
    family_id: str


@dataclass(frozen=True, slots=True)
class RefreshDenied:
    """A refused refresh, with what may be logged about it (never the token)."""

    reason: RefreshRefusal
    family_id: str | None = None
    user_id: str | None = None


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
        device_token_ttl_s: int = 16 * 3600,
    ) -> None:
        self._pool = pool
        self.device_token_ttl_s = device_token_ttl_s
        self._link_key = link_key or new_opaque_token("").encode()
        self.device_cache = DeviceTokenCache(device_cache_ttl_s)
        self.on_revoked: Callable[[str], None] | None = None
        """Called with the rider id after a revocation committed."""

    def add_user(
        self,
        *,
        username: str,
        password: str,
        role: Role,
        replace: bool = False,
        conn: Connection[Any] | None = None,
    ) -> str:
        """Create (or with ``replace``, reset) a user; return its id. On ``conn``
        when given (the caller's transaction, which records the audit entry)."""
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
            with self._connection(conn) as c, c.cursor(row_factory=dict_row) as cur:
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

    # -- refresh sessions ------------------------------------------------------
    def start_session(
        self,
        user_id: str,
        *,
        ttl_s: int,
        session_max_s: int,
        now: datetime | None = None,
    ) -> RefreshGrant:
        """A new session (family) for a user who just logged in, and its first
        refresh token; the session ends ``session_max_s`` after ``now``."""
        now = now or datetime.now(UTC)
        session_end = now + timedelta(seconds=session_max_s)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(SELECT_USER_BY_ID, {"user_id": user_id}).fetchone()
            if row is None:  # pragma: no cover - callers pass a stored user
                raise ApiRuleViolation("unknown user")
            user = _user(row)
            family = conn.execute(
                INSERT_REFRESH_FAMILY,
                {"user_id": user_id, "now": now, "session_end": session_end},
            ).fetchone()
            assert family is not None  # noqa: S101 - RETURNING yields a row
            family_id = str(family[0])
            token, expires_at = self._insert_refresh_token(
                conn, family_id, now=now, ttl_s=ttl_s, session_end=session_end
            )
        return RefreshGrant(user, token, expires_at, family_id)

    @staticmethod
    def _insert_refresh_token(
        conn: Connection[Any],
        family_id: str,
        *,
        now: datetime,
        ttl_s: int,
        session_end: datetime,
    ) -> tuple[str, datetime]:
        token = new_opaque_token(REFRESH_PREFIX)
        expires_at = min(now + timedelta(seconds=ttl_s), session_end)
        conn.execute(
            INSERT_REFRESH_DIGEST,
            {
                "digest": token_digest(token),
                "family_id": family_id,
                "now": now,
                "expires_at": expires_at,
            },
        )
        return token, expires_at

    def rotate_refresh_token(
        self, token: str, *, ttl_s: int, now: datetime | None = None
    ) -> RefreshGrant | RefreshDenied:
        """Exchange a live refresh token for the next one of its session.

        The presented token is marked rotated in the same transaction. A token
        presented again after its rotation is *reuse* (it was copied, or a
        client retried a refresh whose answer it lost): the whole session is
        revoked, and the refusal says so. Revocations commit even though the
        refresh is refused.
        """
        now = now or datetime.now(UTC)
        if not token.startswith(REFRESH_PREFIX):
            return RefreshDenied(RefreshRefusal.unknown)
        digest = token_digest(token)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(SELECT_REFRESH_FOR_UPDATE, {"digest": digest}).fetchone()
            if row is None:
                return RefreshDenied(RefreshRefusal.unknown)
            family_id, user = str(row["family_id"]), _user(row)
            refusal: RefreshRefusal | None = None
            revoke = True
            if row["revoked_at"] is not None:
                refusal, revoke = RefreshRefusal.revoked, False
            elif row["rotated_at"] is not None:
                refusal = RefreshRefusal.reuse
            elif now >= row["token_expires_at"] or now >= row["session_expires_at"]:
                refusal, revoke = RefreshRefusal.expired, False
            elif not user.active:
                refusal = RefreshRefusal.user_inactive
            if refusal is not None:
                if revoke:
                    conn.execute(
                        REVOKE_REFRESH_FAMILY,
                        {"now": now, "reason": refusal.value, "family_id": family_id},
                    )
                return RefreshDenied(refusal, family_id, user.user_id)
            conn.execute(MARK_REFRESH_ROTATED, {"now": now, "digest": digest})
            new_token, expires_at = self._insert_refresh_token(
                conn,
                family_id,
                now=now,
                ttl_s=ttl_s,
                session_end=row["session_expires_at"],
            )
        return RefreshGrant(user, new_token, expires_at, family_id)

    def end_session(
        self, token: str, *, now: datetime | None = None
    ) -> EndedSession | None:
        """Logout: revoke the session a refresh token (current or rotated)
        belongs to; which session of which user, or None if none was live."""
        if not token.startswith(REFRESH_PREFIX):
            return None
        with self._pool.connection() as conn:
            with conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(
                    SELECT_SESSION_OF_REFRESH, {"digest": token_digest(token)}
                ).fetchone()
            if row is None:
                return None
            family_id = str(row["family_id"])
            revoked = conn.execute(
                REVOKE_REFRESH_FAMILY,
                {
                    "now": now or datetime.now(UTC),
                    "reason": "logout",
                    "family_id": family_id,
                },
            ).rowcount
        if not revoked:
            return None
        return EndedSession(
            family_id, str(row["user_id"]), str(row["username"]), Role(row["role"])
        )

    @contextmanager
    def _connection(self, conn: Connection[Any] | None) -> Iterator[Connection[Any]]:
        """``conn`` (the caller's transaction) or a pooled one of our own."""
        if conn is not None:
            yield conn
            return
        with self._pool.connection() as own:
            yield own

    def issue_device_token(
        self,
        *,
        rider_id: str,
        label: str = "",
        issued_by: str = "",
        conn: Connection[Any] | None = None,
    ) -> str:
        """A new device token for ``rider_id`` (returned once, stored hashed)."""
        return self.issue_device_token_record(
            rider_id=rider_id, label=label, issued_by=issued_by, conn=conn
        ).token

    def issue_device_token_record(
        self,
        *,
        rider_id: str,
        label: str = "",
        issued_by: str = "",
        now: datetime | None = None,
        conn: Connection[Any] | None = None,
    ) -> DeviceTokenIssued:
        """A new device token valid ``device_token_ttl_s`` from ``now``; on
        ``conn`` when given, so it commits with the caller's audit entry. The
        caller checks that the rider exists."""
        token = new_opaque_token(DEVICE_PREFIX)
        now = now or datetime.now(UTC)
        expires_at = now + timedelta(seconds=self.device_token_ttl_s)
        with self._connection(conn) as c, c.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                INSERT_DEVICE,
                {
                    "digest": token_digest(token),
                    "rider_id": rider_id,
                    "label": label,
                    "now": now,
                    "expires_at": expires_at,
                    "issued_by": issued_by,
                },
            ).fetchone()
        assert row is not None  # noqa: S101 - RETURNING yields a row
        return DeviceTokenIssued(token, str(row["token_id"]), rider_id, expires_at)

    def list_device_tokens(self, rider_id: str) -> list[DeviceTokenInfo]:
        """Every device token of ``rider_id`` (live, expired, revoked), newest
        first; metadata only."""
        with (
            self._pool.connection() as conn,
            conn.cursor(row_factory=class_row(DeviceTokenInfo)) as cur,
        ):
            return cur.execute(LIST_DEVICE_TOKENS, {"rider_id": rider_id}).fetchall()

    def rider_for_device_token(self, token: str) -> str | None:
        """The rider a live, unexpired device token belongs to, or None."""
        found = self.device_token_holder(token)
        return found[0] if found else None

    def device_token_holder(self, token: str) -> tuple[str, datetime | None] | None:
        """The rider a live, unexpired device token belongs to and when it
        expires, or None (refusals are not cached: each unknown token reads the
        database)."""
        digest = token_digest(token)
        cached = self.device_cache.lookup(digest)
        if cached is not None:
            return cached
        epoch = self.device_cache.epoch
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(SELECT_DEVICE_RIDER, {"digest": digest}).fetchone()
        if row is None:
            return None
        rider_id, expires_at = str(row["rider_id"]), row["expires_at"]
        left_s = (expires_at - datetime.now(UTC)).total_seconds()
        self.device_cache.put(
            digest, rider_id, epoch, max_ttl_s=left_s, expires_at=expires_at
        )
        return rider_id, expires_at

    def revoke_device_tokens(
        self,
        rider_id: str,
        *,
        token_id: str | None = None,
        revoked_by: str = "",
        conn: Connection[Any] | None = None,
    ) -> list[str]:
        """Revoke the live tokens of ``rider_id`` (only ``token_id``, if given);
        the ids revoked. Refused in this process from now on (the cache is
        evicted: after the commit when this store owns the connection, and again
        by the caller after committing its own)."""
        with self._connection(conn) as c, c.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                REVOKE_DEVICE_TOKENS,
                {"rider_id": rider_id, "token_id": token_id, "revoked_by": revoked_by},
            ).fetchall()
        self.device_cache.evict_rider(rider_id)
        if conn is None and self.on_revoked is not None:
            self.on_revoked(rider_id)  # the other API instances evict theirs
        return [str(r["token_id"]) for r in rows]

    def ensure_tracking_link(
        self,
        *,
        order_id: str,
        ttl_s: int,
        now: datetime | None = None,
        scope: LinkScope = LinkScope.status,
    ) -> str:
        """The order's tracking token of ``scope``: derived from the order id
        with a server key, so an idempotent retry of order creation gets the same
        link. The default, a ``status`` link, is what the order's creator gets."""
        return self.ensure_tracking_link_created(
            order_id=order_id, ttl_s=ttl_s, now=now, scope=scope
        )[0]

    def ensure_tracking_link_created(
        self,
        *,
        order_id: str,
        ttl_s: int,
        now: datetime | None = None,
        scope: LinkScope = LinkScope.status,
    ) -> tuple[str, bool]:
        """As :meth:`ensure_tracking_link`, and whether this call created it (a
        retry does not send the patient their link twice)."""
        label = "track:" if scope is LinkScope.status else "patient:"
        token = TRACKING_PREFIX + derive_token(self._link_key, label + order_id)
        expires_at = (now or datetime.now(UTC)) + timedelta(seconds=ttl_s)
        with self._pool.connection() as conn:
            created = conn.execute(
                INSERT_TRACKING_LINK,
                {
                    "digest": token_digest(token),
                    "order_id": order_id,
                    "expires_at": expires_at,
                    "scope": scope.value,
                },
            ).rowcount
        return token, created == 1

    def tracking_link(self, token: str) -> TrackingLink | None:
        """The link a token opens, or None."""
        if not token.startswith(TRACKING_PREFIX):
            return None
        with (
            self._pool.connection() as conn,
            conn.cursor(row_factory=class_row(TrackingLink)) as cur,
        ):
            link = cur.execute(
                SELECT_TRACKING_LINK, {"digest": token_digest(token)}
            ).fetchone()
        # the column is text: make it the enum
        return replace(link, scope=LinkScope(link.scope)) if link else None

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
