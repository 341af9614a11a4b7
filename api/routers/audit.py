"""The audit trail: recent entries and a full chain verification (admin)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.auth.access import ADMIN
from api.deps import ServicesDep
from api.errors import error_responses
from dispatch.audit import trail

router = APIRouter(tags=["audit"])


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


class AuditProblemRead(BaseModel):
    """Where the chain does not verify."""

    seq: int
    kind: str
    detail: str


class AuditVerifyRead(BaseModel):
    """Result of verifying the whole chain."""

    ok: bool
    entries_checked: int
    problems: list[AuditProblemRead]


@router.get(
    "/audit",
    response_model=list[AuditEntryRead],
    dependencies=[Depends(ADMIN)],
    responses=error_responses(401, 403, 422),
)
def list_audit(
    services: ServicesDep,
    subject_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntryRead]:
    """Most recent entries first, optionally of one subject (order, rider, hold)."""
    with services.db.transaction() as tx:
        entries = trail.list_entries(tx, subject_id=subject_id, limit=limit)
    return [
        AuditEntryRead(
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
        for e in entries
    ]


@router.post(
    "/audit/verify",
    response_model=AuditVerifyRead,
    dependencies=[Depends(ADMIN)],
    responses=error_responses(401, 403),
)
async def verify_audit(services: ServicesDep) -> AuditVerifyRead:
    """Recompute the hash chain; report edited, deleted or reordered entries."""
    count, problems = await asyncio.to_thread(trail.verify, services.database_url)
    return AuditVerifyRead(
        ok=not problems,
        entries_checked=count,
        problems=[
            AuditProblemRead(seq=p.seq, kind=p.kind, detail=p.detail) for p in problems
        ],
    )
