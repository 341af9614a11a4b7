"""Rider device tokens: checks are cached briefly, revocation is immediate here.

(Through the API, with the app's default cache in front: ``test_auth.py``'s
``test_revoked_device_token_stops_working``.)"""

from __future__ import annotations

from api.auth.store import AuthStore
from dispatch.adapters.postgres.database import open_pool


def test_cached_checks_skip_the_database_until_the_ttl(fresh_db: str) -> None:
    """20 checks of one token take one pool connection; a revocation by another
    process is seen only after the TTL (the documented bound), one by this
    store at once."""
    pool = open_pool(fresh_db, min_size=1, max_size=2)
    other_pool = open_pool(fresh_db, min_size=1, max_size=2)
    try:
        store = AuthStore(pool, device_cache_ttl_s=300)
        other = AuthStore(other_pool)  # another process: no cache
        token = store.issue_device_token(rider_id="rider-7")
        before = pool.get_stats()["requests_num"]
        assert {store.rider_for_device_token(token) for _ in range(20)} == {"rider-7"}
        assert pool.get_stats()["requests_num"] - before == 1
        assert store.rider_for_device_token(token + "x") is None

        assert len(other.revoke_device_tokens("rider-7")) == 1
        assert other.rider_for_device_token(token) is None
        assert store.rider_for_device_token(token) == "rider-7"  # until the TTL

        fresh = store.issue_device_token(rider_id="rider-7")
        assert store.rider_for_device_token(fresh) == "rider-7"
        assert len(store.revoke_device_tokens("rider-7")) == 1
        assert store.rider_for_device_token(fresh) is None
        assert store.rider_for_device_token(token) is None
    finally:
        pool.close()
        other_pool.close()
