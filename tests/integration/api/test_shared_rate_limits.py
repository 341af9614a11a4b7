"""Login/OTP limits counted in PostgreSQL: two API instances (two limiters on
two pools, as two processes have) share one budget per key."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from psycopg_pool import ConnectionPool

from api.errors import RateLimited
from api.rate_limit import SlidingWindowLimiter
from api.rate_limit_store import PostgresLimiterStorage
from dispatch.adapters.postgres.database import open_pool


@pytest.fixture
def pools(fresh_db: str) -> Iterator[tuple[ConnectionPool, ConnectionPool]]:
    """One pool per "instance"."""
    first = open_pool(fresh_db, max_size=4)
    second = open_pool(fresh_db, max_size=4)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _limiters(
    pools: tuple[ConnectionPool, ConnectionPool], limit: int, namespace: str = "login"
) -> tuple[SlidingWindowLimiter, SlidingWindowLimiter]:
    return (
        SlidingWindowLimiter(
            limit=limit, storage=PostgresLimiterStorage(pools[0], namespace=namespace)
        ),
        SlidingWindowLimiter(
            limit=limit, storage=PostgresLimiterStorage(pools[1], namespace=namespace)
        ),
    )


def test_a_limit_counted_on_one_instance_holds_on_the_other(
    pools: tuple[ConnectionPool, ConnectionPool],
) -> None:
    """Two hits on A and one on B use the budget of 3; the fourth is refused on
    either, with a Retry-After within the window; nothing refused is counted."""
    on_a, on_b = _limiters(pools, limit=3)
    on_a.hit("user:ann", "ip:1")
    on_a.hit("user:ann", "ip:1")
    on_b.hit("user:ann", "ip:2")
    for limiter in (on_a, on_b):
        with pytest.raises(RateLimited) as info:
            limiter.hit("user:ann", "ip:3")
        retry_after_s = info.value.retry_after_s
        assert retry_after_s is not None
        assert 1 <= retry_after_s <= 60
    on_b.hit("user:bob", "ip:3")  # ip:3 was not charged by the refusals
    on_a.reset("user:ann")
    on_b.hit("user:ann", "ip:3")  # reset on A is seen on B


def test_limiters_are_namespaced(pools: tuple[ConnectionPool, ConnectionPool]) -> None:
    """The login and OTP limiters keep separate budgets for the same key."""
    login, _ = _limiters(pools, limit=1, namespace="login")
    otp, _ = _limiters(pools, limit=1, namespace="otp")
    login.hit("ip:1")
    otp.hit("ip:1")
    with pytest.raises(RateLimited):
        login.hit("ip:1")


def test_concurrent_hits_never_overshoot_the_limit(
    pools: tuple[ConnectionPool, ConnectionPool],
) -> None:
    """Twenty hits racing on two instances: exactly ``limit`` pass."""
    on_a, on_b = _limiters(pools, limit=5)
    passed: list[bool] = []
    lock = threading.Lock()

    def attempt(limiter: SlidingWindowLimiter) -> None:
        try:
            limiter.hit("user:eve")
            ok = True
        except RateLimited:
            ok = False
        with lock:
            passed.append(ok)

    threads = [
        threading.Thread(target=attempt, args=((on_a, on_b)[i % 2],)) for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(passed) == 20
    assert passed.count(True) == 5
