"""The audit hash chain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dispatch.audit.chain import GENESIS_HASH, AuditEntry, chain_hash, verify_chain

KEY = b"unit-test-audit-key"
T0 = datetime(2026, 11, 21, 10, tzinfo=UTC)


def build(n: int) -> list[AuditEntry]:
    entries, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        e = AuditEntry(
            i,
            T0 + timedelta(seconds=i),
            "alice",
            "order.created",
            "order",
            f"o{i}",
            {"n": i},
            prev,
        )
        prev = chain_hash(KEY, prev, e)
        entries.append(replace(e, entry_hash=prev))
    return entries


def test_intact_chain_verifies_with_head():
    """A freshly built chain has no problems."""
    chain = build(5)
    assert verify_chain(chain, key=KEY, head=(5, chain[-1].entry_hash)) == []
    assert verify_chain([], key=KEY, head=(0, GENESIS_HASH)) == []


def test_edit_is_detected():
    """Changing any field breaks that entry's hash."""
    chain = build(4)
    chain[2] = replace(chain[2], details={"n": 99})
    assert [(p.seq, p.kind) for p in verify_chain(chain, key=KEY)] == [(3, "edited")]


def test_deletion_is_detected():
    """Removing an entry leaves a gap and a broken link."""
    chain = build(4)
    del chain[1]
    kinds = {p.kind for p in verify_chain(chain, key=KEY)}
    assert {"sequence_gap", "broken_link"} <= kinds


def test_reorder_is_detected():
    """Swapping two entries breaks the sequence and links."""
    chain = build(4)
    chain[1], chain[2] = chain[2], chain[1]
    assert verify_chain(chain, key=KEY)


def test_tail_truncation_is_detected_against_the_head():
    """Dropping the last entry is caught by the recorded chain head."""
    chain = build(4)
    assert [
        p.kind for p in verify_chain(chain[:3], key=KEY, head=(4, chain[3].entry_hash))
    ] == ["truncated"]


def test_hash_is_independent_of_timezone_representation():
    """The same instant in another timezone hashes the same (canonical UTC)."""
    e = build(1)[0]
    from zoneinfo import ZoneInfo

    shifted = replace(e, recorded_at=e.recorded_at.astimezone(ZoneInfo("Europe/Malta")))
    assert chain_hash(KEY, GENESIS_HASH, shifted) == e.entry_hash


def rehash(chain: list[AuditEntry], key: bytes | None) -> list[AuditEntry]:
    """What a writer of the table can do: recompute every link and hash."""
    out, prev = [], GENESIS_HASH
    for e in chain:
        e = replace(e, prev_hash=prev)
        prev = chain_hash(key, prev, e)
        out.append(replace(e, entry_hash=prev))
    return out


def test_edit_and_rehash_without_the_key_is_detected():
    """Editing an entry and re-hashing everything after it, with plain SHA-256
    or a guessed key, breaks the keyed hashes from the edit on."""
    chain = build(4)
    chain[1] = replace(chain[1], actor="mallory")
    for guess in (None, b"guessed-key"):
        forged = rehash(chain, guess)
        problems = verify_chain(forged, key=KEY, head=(4, forged[-1].entry_hash))
        assert {p.kind for p in problems} == {"edited"}
        assert problems[0].seq == 1


def test_entries_before_the_key_verify_unkeyed():
    """Legacy entries (SHA-256) up to ``unkeyed_until`` verify; keyed after."""
    legacy = rehash(build(2), None)
    chain, prev = list(legacy), legacy[-1].entry_hash
    for e in build(4)[2:]:
        e = replace(e, prev_hash=prev)
        prev = chain_hash(KEY, prev, e)
        chain.append(replace(e, entry_hash=prev))
    assert verify_chain(chain, key=KEY, unkeyed_until=2) == []
    assert {p.seq for p in verify_chain(chain, key=KEY)} == {1, 2}
    assert {p.seq for p in verify_chain(chain, key=KEY, unkeyed_until=3)} == {3}
