"""The audit trail: recent entries and a full chain verification (admin)."""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.auth.access import ADMIN
from api.deps import ServicesDep
from api.errors import error_responses
from api.schemas.audit import AuditEntryRead
from dispatch.audit import trail
from dispatch.dev_secrets import reveal

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
    unkeyed_until: int = Field(
        description="Entries up to this one predate the audit key (plain SHA-256); "
        "the chain is HMAC-keyed after it (0: keyed throughout)."
    )


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
    """Recompute the keyed hash chain; report edited, deleted, reordered or
    re-hashed entries. (A truncated tail whose head was moved is caught only by
    ``rxdispatch audit verify --checkpoint`` against a checkpoint kept offline.)"""
    key = reveal(services.settings.dispatch.audit_key, "DISPATCH_AUDIT_KEY").encode()
    report = await asyncio.to_thread(
        functools.partial(trail.verify, services.database_url, key=key)
    )
    return AuditVerifyRead(
        ok=not report.problems,
        entries_checked=report.count,
        problems=[
            AuditProblemRead(seq=p.seq, kind=p.kind, detail=p.detail)
            for p in report.problems
        ],
        unkeyed_until=report.unkeyed_until,
    )
