"""Signed checkpoints of the audit chain's head (pure).

The chain head beside the table can be moved by whoever can write the database:
truncate the tail, point the head at the new last entry, and the chain verifies.
A checkpoint is the head ``(seq, hash)`` at a moment, plus the boundary of the
unkeyed legacy entries, signed with HMAC-SHA256 under the audit key and kept
*outside* the database (printed, mailed, stored in object storage with a
retention lock). Verifying later against it fails if the checkpointed entry is
gone (tail truncated) or differs (rewritten), whatever the head says.

HMAC rather than Ed25519: the verifier already needs the audit key to check the
chain's entry hashes, so an asymmetric signature would add a second secret without
letting anyone verify who could not verify the chain itself.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from dispatch.audit.chain import AuditEntry, AuditProblem

__all__ = [
    "AuditCheckpoint",
    "CheckpointError",
    "check_against",
    "parse_checkpoint",
    "sign_checkpoint",
]

FORMAT = "rxdispatch-audit-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted: unreadable, or a bad signature."""


@dataclass(frozen=True, slots=True)
class AuditCheckpoint:
    """The chain head at ``taken_at``: entry ``seq`` had hash ``entry_hash``."""

    seq: int
    entry_hash: str
    taken_at: datetime
    unkeyed_until: int

    def _body(self) -> bytes:
        return orjson.dumps(
            {
                "format": FORMAT,
                "seq": self.seq,
                "entry_hash": self.entry_hash,
                "taken_at": self.taken_at.astimezone(UTC).isoformat(),
                "unkeyed_until": self.unkeyed_until,
            },
            option=orjson.OPT_SORT_KEYS,
        )


def _signature(key: bytes, checkpoint: AuditCheckpoint) -> str:
    return hmac.new(key, checkpoint._body(), hashlib.sha256).hexdigest()


def sign_checkpoint(key: bytes, checkpoint: AuditCheckpoint) -> bytes:
    """The checkpoint as a signed JSON document (what the file holds)."""
    document: dict[str, Any] = orjson.loads(checkpoint._body())
    document["signature"] = _signature(key, checkpoint)
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def parse_checkpoint(key: bytes, document: bytes) -> AuditCheckpoint:
    """The checkpoint in ``document`` once its signature checks out under ``key``."""
    try:
        raw = orjson.loads(document)
        if raw.get("format") != FORMAT:
            raise CheckpointError(f"not a {FORMAT} document")
        checkpoint = AuditCheckpoint(
            seq=int(raw["seq"]),
            entry_hash=str(raw["entry_hash"]),
            taken_at=datetime.fromisoformat(str(raw["taken_at"])),
            unkeyed_until=int(raw["unkeyed_until"]),
        )
        signature = str(raw["signature"])
    except (
        orjson.JSONDecodeError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
    ) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"unreadable checkpoint: {exc}") from exc
    if not hmac.compare_digest(signature, _signature(key, checkpoint)):
        raise CheckpointError(
            "checkpoint signature does not match (another key, or an edited file)"
        )
    return checkpoint


def check_against(
    checkpoint: AuditCheckpoint,
    entry: AuditEntry | None,
    *,
    unkeyed_until: int,
) -> list[AuditProblem]:
    """Problems of the stored chain against ``checkpoint``, given the stored entry
    with the checkpoint's ``seq`` (None: not there) and the stored legacy boundary."""
    problems: list[AuditProblem] = []
    if checkpoint.seq == 0:
        pass
    elif entry is None:
        problems.append(
            AuditProblem(
                checkpoint.seq,
                "checkpoint_missing",
                f"entry {checkpoint.seq} of the checkpoint taken "
                f"{checkpoint.taken_at.isoformat()} is gone (tail truncated)",
            )
        )
    elif not hmac.compare_digest(entry.entry_hash, checkpoint.entry_hash):
        problems.append(
            AuditProblem(
                checkpoint.seq,
                "checkpoint_mismatch",
                f"entry {checkpoint.seq} differs from the checkpoint taken "
                f"{checkpoint.taken_at.isoformat()} (chain rewritten)",
            )
        )
    if unkeyed_until != checkpoint.unkeyed_until:
        problems.append(
            AuditProblem(
                unkeyed_until,
                "checkpoint_mismatch",
                f"unkeyed legacy entries end at {unkeyed_until}, the checkpoint "
                f"says {checkpoint.unkeyed_until}",
            )
        )
    return problems
