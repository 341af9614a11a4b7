"""The audit trail: recent entries and a full chain verification (admin)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.auth.access import ADMIN
from api.deps import ServicesDep
from api.errors import error_responses
from api.schemas.audit import AuditEntryRead
from dispatch.audit import trail

router = APIRouter(tags=["audit"])


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
    return [AuditEntryRead.of(e) for e in entries]


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
