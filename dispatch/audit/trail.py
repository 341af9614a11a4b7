"""Reading the audit trail: recent entries and a whole-chain verification."""

from __future__ import annotations

from dispatch.adapters.postgres import audit as audit_repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.audit.chain import AuditEntry, AuditProblem

__all__ = ["list_entries", "verify"]


def list_entries(
    tx: Tx, *, subject_id: str | None = None, limit: int = 200
) -> list[AuditEntry]:
    """Most recent audit entries (optionally of one subject), newest first."""
    return audit_repo.list_entries(tx, subject_id=subject_id, limit=limit)


def verify(database_url: str) -> tuple[int, list[AuditProblem]]:
    """``(entries checked, problems)`` for the whole chain, in one snapshot."""
    return audit_repo.verify_database(database_url)
