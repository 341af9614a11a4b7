"""Privileged acts on credentials, each committed with its audit entry.

Who created which user with which role, who issued or revoked which rider's device
token, who logged in or failed to, and who logged out: the audit chain records the
actor and the subject of each (issue 20: a dispatcher could mint a token for any
rider and the trail blamed the rider). No password, token or digest enters the
trail; only ids, usernames, roles, labels and expiry times.

Audit actions written here::

    user.created, user.reset            (details: username, role, previous_role)
    device_token.issued                 (token_id, label, expires_at)
    device_token.revoked                (token_ids, all)
    auth.login, auth.logout             (session)
    auth.login_failed                   (reason: unknown_user, wrong_password, inactive)
    auth.refresh_reuse                  (session)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.auth.principals import Role
from api.auth.store import AuthStore, DeviceTokenIssued
from dispatch import fleet
from dispatch.adapters.postgres.unit_of_work import Database

__all__ = [
    "ANONYMOUS",
    "create_user",
    "issue_device_token",
    "record",
    "revoke_device_tokens",
]

#: The actor of acts by someone not (yet) authenticated: failed logins.
ANONYMOUS = "anonymous"


def record(
    db: Database,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """One audit entry in a transaction of its own (logins, logouts)."""
    with db.transaction() as tx:
        tx.audit(
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
        )


def create_user(
    db: Database,
    store: AuthStore,
    *,
    username: str,
    password: str,
    role: Role,
    actor: str,
    replace: bool = False,
) -> str:
    """Create (or with ``replace``, reset the password and role of) a staff user,
    audited with ``actor``; the user's id."""
    previous = store.user_by_name(username) if replace else None
    with db.transaction() as tx:
        user_id = store.add_user(
            username=username,
            password=password,
            role=role,
            replace=replace,
            conn=tx.conn,
        )
        details: dict[str, Any] = {"username": username.lower(), "role": role.value}
        if previous is not None:
            details["previous_role"] = previous.role.value
        tx.audit(
            actor=actor,
            action="user.reset" if previous is not None else "user.created",
            subject_type="user",
            subject_id=user_id,
            details=details,
        )
    return user_id


def issue_device_token(
    db: Database, store: AuthStore, *, rider_id: str, label: str, actor: str
) -> DeviceTokenIssued:
    """A device token for an existing rider (``RiderNotFound`` otherwise), with
    its expiry, audited with ``actor``."""
    with db.transaction() as tx:
        fleet.get_rider(tx, rider_id)
        issued = store.issue_device_token_record(
            rider_id=rider_id, label=label, issued_by=actor, conn=tx.conn
        )
        tx.audit(
            actor=actor,
            action="device_token.issued",
            subject_type="rider",
            subject_id=rider_id,
            details={
                "token_id": issued.token_id,
                "label": label,
                "expires_at": issued.expires_at.isoformat(),
            },
        )
    return issued


def revoke_device_tokens(
    db: Database,
    store: AuthStore,
    *,
    rider_id: str,
    actor: str,
    token_id: str | None = None,
) -> list[str]:
    """Revoke one (``token_id``) or every live device token of ``rider_id``,
    audited with ``actor`` when any was live; the ids revoked."""
    with db.transaction() as tx:
        revoked = store.revoke_device_tokens(
            rider_id, token_id=token_id, revoked_by=actor, conn=tx.conn
        )
        if revoked:
            tx.audit(
                actor=actor,
                action="device_token.revoked",
                subject_type="rider",
                subject_id=rider_id,
                details={"token_ids": revoked, "all": token_id is None},
            )
    # a check that read the token between the store's eviction and our commit
    # may have cached it: evict again now that the revocation is visible
    store.device_cache.evict_rider(rider_id)
    if revoked and store.on_revoked is not None:
        store.on_revoked(rider_id)  # the other API instances evict theirs
    return revoked
