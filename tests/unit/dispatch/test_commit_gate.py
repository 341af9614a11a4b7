"""The commit gate: commits share it; a snapshot waits for them and holds them off."""

from __future__ import annotations

import threading
import time

from dispatch.adapters.postgres.unit_of_work import CommitGate


def _started(target: object) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_a_snapshot_waits_for_commits_in_progress_and_blocks_new_ones() -> None:
    """Quiet starts only when no commit is between COMMIT and publish, and no
    commit starts while it lasts (nor while it waits)."""
    gate = CommitGate()
    log: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first_commit() -> None:
        with gate.committing():
            log.append("commit-1 in")
            first_in.set()
            release_first.wait(5)
            log.append("commit-1 out")

    def snapshot() -> None:
        with gate.quiet():
            log.append("quiet in")
            time.sleep(0.05)
            log.append("quiet out")

    def second_commit() -> None:
        with gate.committing():
            log.append("commit-2")

    a = _started(first_commit)
    assert first_in.wait(5)
    b = _started(snapshot)
    time.sleep(0.05)  # the snapshot is waiting now
    c = _started(second_commit)
    time.sleep(0.05)
    assert log == ["commit-1 in"]
    release_first.set()
    for t in (a, b, c):
        t.join(5)
    assert log == ["commit-1 in", "commit-1 out", "quiet in", "quiet out", "commit-2"]


def test_commits_share_the_gate_and_reenter_it() -> None:
    """Two commits hold it at once; a publisher that commits inside its own
    commit re-enters without waiting, even with a snapshot queued."""
    gate = CommitGate()
    inside = threading.Barrier(2, timeout=5)
    done: list[str] = []

    def commit(name: str) -> None:
        with gate.committing():
            inside.wait()
            done.append(name)

    threads = [_started(lambda n=n: commit(n)) for n in ("a", "b")]
    for t in threads:
        t.join(5)
    assert sorted(done) == ["a", "b"]

    entered = threading.Event()
    quiet = threading.Event()

    def snapshot() -> None:
        with gate.quiet():
            quiet.set()

    with gate.committing():
        snap = _started(snapshot)
        time.sleep(0.05)  # a snapshot waits for us
        with gate.committing():  # nested: no deadlock
            entered.set()
        assert not quiet.is_set()
    snap.join(5)
    assert entered.is_set()
    assert quiet.is_set()
