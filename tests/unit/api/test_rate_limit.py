"""Sliding-window rate limiting."""

from __future__ import annotations

import pytest

from api.errors import RateLimited
from api.rate_limit import MemoryLimiterStorage, SlidingWindowLimiter


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_attempt_after_the_limit_is_refused_with_a_retry_time() -> None:
    """limit hits pass, the next raises RateLimited with Retry-After seconds."""
    clock = _Clock()
    limiter = SlidingWindowLimiter(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        limiter.hit("ip:1")
    clock.t = 20
    with pytest.raises(RateLimited) as info:
        limiter.hit("ip:1")
    assert info.value.retry_after_s == 40


def test_the_window_slides() -> None:
    """Attempts older than the window no longer count."""
    clock = _Clock()
    limiter = SlidingWindowLimiter(limit=2, window_s=10, clock=clock)
    limiter.hit("k")
    limiter.hit("k")
    clock.t = 10.5
    limiter.hit("k")
    limiter.hit("k")
    with pytest.raises(RateLimited):
        limiter.hit("k")


def test_any_key_at_its_limit_refuses_and_counts_nothing() -> None:
    """A limited IP blocks a fresh username and does not consume its budget."""
    limiter = SlidingWindowLimiter(limit=1, window_s=60, clock=_Clock())
    limiter.hit("ip:1")
    with pytest.raises(RateLimited):
        limiter.hit("user:bob", "ip:1")
    limiter.hit("user:bob", "ip:2")


def test_reset_forgets_a_key() -> None:
    """A successful login clears that user's failures."""
    limiter = SlidingWindowLimiter(limit=1, window_s=60, clock=_Clock())
    limiter.hit("user:ann")
    limiter.reset("user:ann")
    limiter.hit("user:ann")
    with pytest.raises(RateLimited):
        limiter.hit("user:ann")


def test_the_rules_run_on_any_storage() -> None:
    """A limiter given a storage keeps its hits there (another limiter on the
    same storage, e.g. another API instance, shares the budget)."""
    storage = MemoryLimiterStorage(clock=_Clock())
    first = SlidingWindowLimiter(limit=2, window_s=60, storage=storage)
    second = SlidingWindowLimiter(limit=2, window_s=60, storage=storage)
    first.hit("user:ann")
    second.hit("user:ann")
    with pytest.raises(RateLimited):
        first.hit("user:ann")


def test_check_and_record_limit_failures_only() -> None:
    """``check`` never counts; ``record`` does; ``reset`` clears a key."""
    clock = _Clock()
    limiter = SlidingWindowLimiter(limit=2, window_s=60, clock=clock)
    for _ in range(5):
        limiter.check("k")  # successes: never counted
    limiter.record("k")
    limiter.record("k")
    with pytest.raises(RateLimited):
        limiter.check("k")
    limiter.check("other")
    clock.t = 61
    limiter.check("k")  # the window slid
    limiter.record("k")
    limiter.reset("k")
    limiter.record("k")
    limiter.check("k")
