"""The audit chain (pure): canonical entries, their hashes, and verification.

Each entry's hash is ``sha256(previous_hash || canonical_json(entry))`` where the
canonical JSON has sorted keys, no whitespace and UTC ISO-8601 times, and includes
the entry's sequence number. Editing an entry breaks its own hash; deleting or
reordering entries breaks the sequence or the link to the previous hash; deleting
the tail is caught against the chain head kept beside the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditProblem",
    "canonical_json",
    "chain_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first entry."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited fact: who did what to which subject, when."""

    seq: int
    recorded_at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    entry_hash: str = ""


def canonical_json(entry: AuditEntry) -> bytes:
    """Canonical bytes of everything the hash covers (not the hashes themselves)."""
    body = {
        "seq": entry.seq,
        "recorded_at": entry.recorded_at.astimezone(UTC).isoformat(
            timespec="microseconds"
        ),
        "actor": entry.actor,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "details": dict(entry.details),
    }
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """Hash of ``entry`` linked to ``prev_hash`` (hex)."""
    return hashlib.sha256(prev_hash.encode() + canonical_json(entry)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """A place where the chain does not verify."""

    seq: int
    kind: str
    """``edited``, ``broken_link``, ``sequence_gap`` or ``truncated``."""
    detail: str


def verify_chain(
    entries: Iterable[AuditEntry],
    *,
    head: tuple[int, str] | None = None,
) -> list[AuditProblem]:
    """Every problem found walking ``entries`` in storage order (empty: intact).

    ``head`` is the ``(last_seq, last_hash)`` recorded when the chain was last
    appended; it detects removal of entries at the end of the chain.
    """
    problems: list[AuditProblem] = []
    prev_hash, expected_seq = GENESIS_HASH, 1
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(
                AuditProblem(
                    entry.seq,
                    "sequence_gap",
                    f"expected entry {expected_seq}, found {entry.seq}",
                )
            )
        if entry.prev_hash != prev_hash:
            problems.append(
                AuditProblem(
                    entry.seq, "broken_link", "does not link to its predecessor"
                )
            )
        if chain_hash(entry.prev_hash, entry) != entry.entry_hash:
            problems.append(
                AuditProblem(entry.seq, "edited", "content does not match its hash")
            )
        prev_hash, expected_seq = entry.entry_hash, entry.seq + 1
    if head is not None and head != (expected_seq - 1, prev_hash):
        problems.append(
            AuditProblem(
                head[0],
                "truncated",
                f"chain ends at {expected_seq - 1}, head says {head[0]}",
            )
        )
    return problems
