"""``Idempotency-Key`` on rider commands: a retry replays the first answer.

A rider's app retries a pickup, delivery or failure report when the network
drops the answer. With the same key and the same request, the retry gets the
first answer again (status and exact body, header ``Idempotent-Replayed:
true``) and nothing acts twice: no second proof, audit entry or OTP attempt.
The same key with another request (route, order or body) is refused with 409
``idempotency_key_reused``. Keys are scoped per principal (``rider:<id>``) and
replay for ``API_IDEMPOTENCY_TTL_S`` (24 h); after that a key is new again.

Stored in ``api.idempotent_request`` (PostgreSQL), so all API processes agree.
The claim is made inside the command's own transaction: a concurrent request
with the same key waits on the row until the first commits, then replays it;
the answer is stored in that transaction too, also for errors whose changes
are kept (a counted wrong OTP). Answers of other refused commands (404, 409,
422 ...) are stored after their rollback. Server errors (5xx), authentication
failures and rate limiting are never stored: a retry runs again.
Requests are fingerprinted with an HMAC under a server key, so the stored
fingerprint of a delivery does not reveal its OTP.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header, Request
from psycopg.rows import dict_row
from pydantic import BaseModel, SecretStr
from starlette.responses import Response

from api.auth.principals import Principal
from api.errors import ApiConflict, ApiError, problem_of
from api.serialization import dumps
from dispatch.adapters.postgres.unit_of_work import Database, Tx
from dispatch.errors import DispatchError

__all__ = [
    "REPLAYED_HEADER",
    "IdempotencyKey",
    "IdempotencyKeyMismatch",
    "IdempotencyStore",
    "StoredAnswer",
    "run_idempotent",
]

REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Client-chosen unique key (per rider, kept 24 h): a retry "
        "with the same key and request replays the first answer without acting "
        "again (``Idempotent-Replayed: true``); another request with the same "
        "key is 409 ``idempotency_key_reused``.",
    ),
]


class IdempotencyKeyMismatch(ApiConflict):
    """The key was used before for a different request."""

    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first answer given under a key."""

    status: int
    media_type: str
    body: bytes
    retry_after_s: int | None = None

    def response(self) -> Response:
        """The answer again, marked as a replay."""
        headers = {REPLAYED_HEADER: "true"}
        if self.retry_after_s is not None:
            headers["Retry-After"] = str(self.retry_after_s)
        if self.status == 401:  # pragma: no cover - 401s are never stored
            headers["WWW-Authenticate"] = "Bearer"
        return Response(
            self.body,
            status_code=self.status,
            media_type=self.media_type,
            headers=headers,
        )

    @classmethod
    def of(cls, response: Response) -> StoredAnswer:
        """What to keep of a response (its exact body)."""
        retry = response.headers.get("retry-after")
        return cls(
            response.status_code,
            response.media_type or "application/json",
            bytes(response.body),
            int(retry) if retry and retry.isdigit() else None,
        )


_EXPIRE_KEY = """
DELETE FROM api.idempotent_request
WHERE scope = %(scope)s AND key = %(key)s AND expires_at <= now()
"""
_CLAIM = """
INSERT INTO api.idempotent_request (scope, key, fingerprint, endpoint, expires_at)
VALUES (%(scope)s, %(key)s, %(fp)s, %(endpoint)s,
        now() + make_interval(secs => %(ttl_s)s))
ON CONFLICT (scope, key) DO NOTHING
RETURNING 1
"""
_SELECT = """
SELECT fingerprint, status_code, media_type, body, retry_after_s
FROM api.idempotent_request
WHERE scope = %(scope)s AND key = %(key)s AND expires_at > now()
"""
_COMPLETE = """
UPDATE api.idempotent_request
SET status_code = %(status)s, media_type = %(media_type)s, body = %(body)s,
    retry_after_s = %(retry)s
WHERE scope = %(scope)s AND key = %(key)s
"""
_RECORD = """
INSERT INTO api.idempotent_request (scope, key, fingerprint, endpoint, expires_at,
    status_code, media_type, body, retry_after_s)
VALUES (%(scope)s, %(key)s, %(fp)s, %(endpoint)s,
        now() + make_interval(secs => %(ttl_s)s),
        %(status)s, %(media_type)s, %(body)s, %(retry)s)
ON CONFLICT (scope, key) DO NOTHING
"""
_PURGE = """
DELETE FROM api.idempotent_request
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM api.idempotent_request WHERE expires_at <= now()
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED))
"""


def _revealed(value: Any) -> Any:
    """``value`` with secrets in the clear (only ever hashed, never stored)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return _revealed(dict(value))
    if isinstance(value, Mapping):
        return {str(k): _revealed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(v) for v in value]
    return value


class IdempotencyStore:
    """Keys and first answers in ``api.idempotent_request``."""

    def __init__(self, key: bytes, *, ttl_s: int) -> None:
        self._key = key
        self.ttl_s = ttl_s

    def fingerprint(self, endpoint: str, request: Mapping[str, Any]) -> bytes:
        """HMAC-SHA256 of the route and everything that makes the request."""
        canonical = dumps({"endpoint": endpoint, "request": _revealed(request)})
        return hmac.new(self._key, canonical, hashlib.sha256).digest()

    def claim(
        self, tx: Tx, scope: str, key: str, fp: bytes, endpoint: str
    ) -> StoredAnswer | None:
        """Take the key for this transaction's command (None), or the answer
        given the first time; waits while another transaction holds the key.
        Raises :class:`IdempotencyKeyMismatch` for another request."""
        conn = tx.conn
        params = {
            "scope": scope,
            "key": key,
            "fp": fp,
            "endpoint": endpoint,
            "ttl_s": self.ttl_s,
        }
        conn.execute(_EXPIRE_KEY, params)
        if conn.execute(_CLAIM, params).fetchone() is not None:
            conn.execute(_PURGE, {"limit": 100})
            return None
        row = conn.execute(_SELECT, params).fetchone()
        if row is None:  # pragma: no cover - expired between the two statements
            raise IdempotencyKeyMismatch("This Idempotency-Key just expired; retry.")
        stored_fp, status, media_type, body, retry = row
        if bytes(stored_fp) != fp:
            raise IdempotencyKeyMismatch(
                "This Idempotency-Key was used for a different request."
            )
        if status is None:  # pragma: no cover - never committed without an answer
            raise IdempotencyKeyMismatch("This Idempotency-Key has no answer yet.")
        return StoredAnswer(int(status), str(media_type), bytes(body), retry)

    def complete(self, tx: Tx, scope: str, key: str, answer: StoredAnswer) -> None:
        """Store the answer of the command that claimed the key (same transaction)."""
        tx.conn.execute(_COMPLETE, self._answer(scope, key, answer))

    def record(
        self,
        db: Database,
        scope: str,
        key: str,
        fp: bytes,
        endpoint: str,
        answer: StoredAnswer,
    ) -> None:
        """Store the answer of a command that was rolled back (its own
        transaction); a concurrent retry that got there first wins."""
        params = self._answer(scope, key, answer) | {
            "fp": fp,
            "endpoint": endpoint,
            "ttl_s": self.ttl_s,
        }
        with db.pool.connection() as conn:
            conn.execute(_RECORD, params)

    @staticmethod
    def _answer(scope: str, key: str, answer: StoredAnswer) -> dict[str, Any]:
        return {
            "scope": scope,
            "key": key,
            "status": answer.status,
            "media_type": answer.media_type,
            "body": answer.body,
            "retry": answer.retry_after_s,
        }


def _storable(exc: Exception) -> bool:
    """Outcomes a retry must see again: refusals of the command itself."""
    if isinstance(exc, DispatchError):
        return True
    return isinstance(exc, ApiError) and exc.status not in (401, 403, 429)


def run_idempotent(
    request: Request,
    db: Database,
    store: IdempotencyStore,
    *,
    principal: Principal,
    key: str | None,
    endpoint: str,
    fingerprint_of: Mapping[str, Any],
    action: Callable[[Tx], BaseModel],
    before: Callable[[], None] | None = None,
) -> Response | BaseModel:
    """Run ``action`` in one transaction, at most once per key.

    Without a key: as usual (``before``, then ``action``). With one: a stored
    answer is replayed (``before`` not called: a replay is not an attempt);
    otherwise ``before`` runs, the key is claimed in the command's transaction
    and the answer, success or refusal, is stored with it.
    """
    if key is None:
        if before is not None:
            before()
        with db.transaction() as tx:
            return action(tx)
    scope = f"{principal.role.value}:{principal.subject_id}"
    fp = store.fingerprint(endpoint, fingerprint_of)
    with db.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_SELECT, {"scope": scope, "key": key}).fetchone()
    if row is not None and bytes(row["fingerprint"]) != fp:
        raise IdempotencyKeyMismatch(
            "This Idempotency-Key was used for a different request."
        )
    if row is not None and row["status_code"] is not None:
        return StoredAnswer(
            int(row["status_code"]),
            str(row["media_type"]),
            bytes(row["body"]),
            row["retry_after_s"],
        ).response()
    if before is not None:
        before()
    replay: StoredAnswer | None = None
    answer: StoredAnswer | None = None
    try:
        with db.transaction() as tx:
            replay = store.claim(tx, scope, key, fp, endpoint)
            if replay is None:
                try:
                    result = action(tx)
                except DispatchError as exc:
                    if not exc.keeps_changes:
                        raise
                    # committed with its changes: the answer commits with them
                    answer = StoredAnswer.of(problem_of(request, exc))
                    store.complete(tx, scope, key, answer)
                    raise
                answer = StoredAnswer(
                    200, "application/json", dumps(result.model_dump(mode="json"))
                )
                store.complete(tx, scope, key, answer)
    except IdempotencyKeyMismatch:
        raise
    except (DispatchError, ApiError) as exc:
        if answer is not None:  # the kept-changes refusal, stored above
            return Response(
                answer.body,
                answer.status,
                media_type=answer.media_type,
                headers=_retry_headers(answer),
            )
        if not _storable(exc):
            raise
        answer = StoredAnswer.of(problem_of(request, exc))
        store.record(db, scope, key, fp, endpoint, answer)
        raise
    if replay is not None:
        return replay.response()
    assert answer is not None  # noqa: S101 - set on every path that gets here
    return Response(answer.body, 200, media_type=answer.media_type)


def _retry_headers(answer: StoredAnswer) -> dict[str, str]:
    if answer.retry_after_s is None:
        return {}
    return {"Retry-After": str(answer.retry_after_s)}
