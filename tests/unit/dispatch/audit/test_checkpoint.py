"""Signed checkpoints of the audit chain head."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from dispatch.audit.chain import AuditEntry
from dispatch.audit.checkpoint import (
    AuditCheckpoint,
    CheckpointError,
    check_against,
    parse_checkpoint,
    sign_checkpoint,
)

KEY = b"unit-test-audit-key"
AT = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
CP = AuditCheckpoint(seq=7, entry_hash="ab" * 32, taken_at=AT, unkeyed_until=2)


def test_a_signed_checkpoint_round_trips():
    """What ``sign_checkpoint`` writes, ``parse_checkpoint`` reads back."""
    assert parse_checkpoint(KEY, sign_checkpoint(KEY, CP)) == CP


@pytest.mark.parametrize(
    ("field", "value"), [("seq", 3), ("entry_hash", "cd" * 32), ("unkeyed_until", 7)]
)
def test_an_edited_checkpoint_is_refused(field, value):
    """Moving the checkpoint back (to match a truncated chain) breaks its
    signature."""
    doc = orjson.loads(sign_checkpoint(KEY, CP))
    doc[field] = value
    with pytest.raises(CheckpointError, match="signature"):
        parse_checkpoint(KEY, orjson.dumps(doc))


def test_a_checkpoint_under_another_key_or_garbage_is_refused():
    """Another key's signature, or a file that is not a checkpoint, is refused."""
    with pytest.raises(CheckpointError, match="signature"):
        parse_checkpoint(KEY, sign_checkpoint(b"other", CP))
    for junk in (b"", b"[]", b'{"format": "x"}', b"{not json"):
        with pytest.raises(CheckpointError):
            parse_checkpoint(KEY, junk)


def _entry(seq: int, entry_hash: str) -> AuditEntry:
    return AuditEntry(seq, AT, "a", "x", "t", "s", {}, "0" * 64, entry_hash)


def test_check_against_finds_missing_and_rewritten_entries():
    """Gone: truncated; different hash: rewritten; same: no problem."""
    assert check_against(CP, _entry(7, CP.entry_hash), unkeyed_until=2) == []
    [gone] = check_against(CP, None, unkeyed_until=2)
    assert gone.kind == "checkpoint_missing"
    [changed] = check_against(CP, _entry(7, "ef" * 32), unkeyed_until=2)
    assert changed.kind == "checkpoint_mismatch"
    [moved] = check_against(CP, _entry(7, CP.entry_hash), unkeyed_until=7)
    assert moved.kind == "checkpoint_mismatch"
