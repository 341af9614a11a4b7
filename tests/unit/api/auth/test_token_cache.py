"""The device-token check cache: TTL, size bound, revocation and its race."""

from __future__ import annotations

import pytest

from api.auth.token_cache import DeviceTokenCache


class Clock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = DeviceTokenCache(30, clock=clock)
    cache.put(b"d1", "rider-1", cache.epoch)
    clock.t += 29.9
    assert cache.get(b"d1") == "rider-1"
    clock.t += 0.1
    assert cache.get(b"d1") is None
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_beyond_the_bound() -> None:
    cache = DeviceTokenCache(30, max_entries=2, clock=Clock())
    cache.put(b"d1", "r1", cache.epoch)
    cache.put(b"d2", "r2", cache.epoch)
    assert cache.get(b"d1") == "r1"  # d2 is now the oldest use
    cache.put(b"d3", "r3", cache.epoch)
    assert (cache.get(b"d1"), cache.get(b"d2"), cache.get(b"d3")) == ("r1", None, "r3")
    with pytest.raises(ValueError):
        DeviceTokenCache(30, max_entries=0)


def test_evicting_a_rider_forgets_only_their_tokens() -> None:
    cache = DeviceTokenCache(30, clock=Clock())
    for digest, rider in ((b"a", "r1"), (b"b", "r1"), (b"c", "r2")):
        cache.put(digest, rider, cache.epoch)
    cache.evict_rider("r1")
    assert [cache.get(d) for d in (b"a", b"b", b"c")] == [None, None, "r2"]


def test_a_check_read_before_a_revocation_is_not_cached() -> None:
    """The database said "valid" just before the revocation committed: that
    answer must not outlive the revocation in the cache."""
    cache = DeviceTokenCache(30, clock=Clock())
    epoch = cache.epoch  # a check starts reading the database...
    cache.evict_rider("r1")  # ...a revocation commits meanwhile
    cache.put(b"a", "r1", epoch)
    assert cache.get(b"a") is None


def test_ttl_zero_caches_nothing() -> None:
    cache = DeviceTokenCache(0, clock=Clock())
    cache.put(b"a", "r1", cache.epoch)
    assert cache.get(b"a") is None
