"""Audit trail schemas: one chained entry as the admin and the pharmacist see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from dispatch.audit.chain import AuditEntry


class AuditEntryRead(BaseModel):
    """One chained audit entry."""

    seq: int
    recorded_at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryRead:
        """From the chain's entry."""
        return cls(
            seq=e.seq,
            recorded_at=e.recorded_at,
            actor=e.actor,
            action=e.action,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            details=dict(e.details),
            prev_hash=e.prev_hash,
            entry_hash=e.entry_hash,
        )
