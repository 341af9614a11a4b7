"""The re-planner's leader lease on a real PostgreSQL: one holder at a time, a
holder whose session dies loses it at once, and its fence then refuses writes."""

from __future__ import annotations

import psycopg
import pytest

from dispatch.adapters.postgres.leader_lease import LeaderLease
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.errors import NotLeader


def test_one_holder_and_takeover_when_its_session_dies(
    db: Database, fresh_db: str
) -> None:
    """B cannot take A's lease; once A's session is terminated (a killed or cut
    off leader), A's check fails, its fence refuses a plan write, B takes over."""
    first, second = LeaderLease(fresh_db), LeaderLease(fresh_db)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.check()
        with db.transaction() as tx:
            first.fence(tx)  # the holder may write
            with pytest.raises(NotLeader):
                second.fence(tx)

        with psycopg.connect(fresh_db, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
                "WHERE application_name = 'rxdispatch-leader' "
                "AND datname = current_database() AND pid IN ("
                "  SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
            ).fetchall()
        assert len(ended) == 1

        # a stale leader that has not noticed yet is fenced in the write itself
        with db.transaction() as tx, pytest.raises(NotLeader):
            first.fence(tx)
        assert not first.check()
        assert second.try_acquire()
        assert second.check()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


def test_releasing_hands_the_lease_over(fresh_db: str) -> None:
    """A leader that stops (release) lets the next one in at once."""
    first, second = LeaderLease(fresh_db), LeaderLease(fresh_db)
    try:
        assert first.try_acquire()
        first.release()
        assert not first.held
        assert second.try_acquire()
    finally:
        first.release()
        second.release()
