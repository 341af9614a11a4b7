"""Reading the audit trail: recent entries, whole-chain verification, checkpoints."""

from __future__ import annotations

from datetime import datetime

from dispatch.adapters.postgres import audit as audit_repo
from dispatch.adapters.postgres.audit import AuditVerification
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.audit.chain import AuditEntry
from dispatch.audit.checkpoint import AuditCheckpoint, sign_checkpoint

__all__ = ["AuditVerification", "checkpoint", "list_entries", "verify"]


def list_entries(
    tx: Tx, *, subject_id: str | None = None, limit: int = 200
) -> list[AuditEntry]:
    """Most recent audit entries (optionally of one subject), newest first."""
    return audit_repo.list_entries(tx, subject_id=subject_id, limit=limit)


def verify(
    database_url: str, *, key: bytes, checkpoint: AuditCheckpoint | None = None
) -> AuditVerification:
    """The whole chain verified under ``key`` in one snapshot (and against a
    checkpoint taken earlier, when given)."""
    return audit_repo.verify_database(database_url, key=key, checkpoint=checkpoint)


def checkpoint(database_url: str, *, key: bytes, now: datetime) -> bytes:
    """The chain's head now, as a signed checkpoint document to keep elsewhere."""
    return sign_checkpoint(key, audit_repo.take_checkpoint(database_url, now=now))
