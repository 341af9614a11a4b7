"""The audit chain (pure): canonical entries, their keyed hashes, and verification.

Each entry's hash is ``HMAC-SHA256(key, previous_hash || canonical_json(entry))``
where the canonical JSON has sorted keys, no whitespace and UTC ISO-8601 times, and
includes the entry's sequence number. The key (``DISPATCH_AUDIT_KEY``) lives outside
the database, so whoever can write the table still cannot forge a hash: editing an
entry and re-hashing everything after it is detected. Deleting or reordering entries
breaks the sequence or the link to the previous hash; deleting the tail *and* moving
the head beside the table is caught only against a signed checkpoint kept elsewhere
(:mod:`dispatch.audit.checkpoint`).

Entries written before the chain was keyed (``seq <= unkeyed_until``, fixed by the
migration that introduced the key) were hashed with plain SHA-256; they still verify
as a chain, and every report says from which entry the chain is keyed.
"""

from __future__ import annotations

import hashlib
import hmac
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


def chain_hash(key: bytes | None, prev_hash: str, entry: AuditEntry) -> str:
    """Hash of ``entry`` linked to ``prev_hash`` (hex): HMAC-SHA256 under ``key``;
    ``None`` only for entries that predate the key (plain SHA-256)."""
    message = prev_hash.encode() + canonical_json(entry)
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """A place where the chain does not verify."""

    seq: int
    kind: str
    """``edited``, ``broken_link``, ``sequence_gap``, ``truncated`` (against the
    head), or against a checkpoint: ``checkpoint_missing`` (the checkpointed entry
    is gone), ``checkpoint_mismatch`` (it was rewritten)."""
    detail: str


def verify_chain(
    entries: Iterable[AuditEntry],
    *,
    key: bytes,
    unkeyed_until: int = 0,
    head: tuple[int, str] | None = None,
) -> list[AuditProblem]:
    """Every problem found walking ``entries`` in storage order (empty: intact).

    Entries up to ``unkeyed_until`` are checked with plain SHA-256, later ones with
    HMAC under ``key``. ``head`` is the ``(last_seq, last_hash)`` recorded when the
    chain was last appended; it detects removal of entries at the end of the chain
    by someone who did not also move the head.
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
        entry_key = None if entry.seq <= unkeyed_until else key
        if not hmac.compare_digest(
            chain_hash(entry_key, entry.prev_hash, entry), entry.entry_hash
        ):
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
