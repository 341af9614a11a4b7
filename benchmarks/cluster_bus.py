"""Several API instances on one database: the event bus, shared limits, the lease.

``python -m benchmarks.cluster_bus [--quick] [--json FILE]`` on a throw-away
database (``DATABASE_URL``, else the embedded PostgreSQL):

- **feed**: instance A journals ``frames`` dispatch events one by one (as commits
  do); how long until instance B's listener delivers each (p50/p95/max), and
  how many per second get through. Baseline: A's own listener (the same path
  without crossing instances).
- **limits**: login-limiter checks per second, PostgreSQL storage (shared by the
  instances) against the in-memory one (one instance).
- **takeover**: a leader's session is terminated (what a SIGKILL does to it);
  how long until a follower polling every ``poll_s`` holds the lease.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg

from api.cluster.bus import ClusterBus, FeedRows
from api.rate_limit import MemoryLimiterStorage, SlidingWindowLimiter
from api.rate_limit_store import PostgresLimiterStorage
from benchmarks._report import print_table, write_json
from benchmarks.replan_latency import scratch_database
from dispatch.adapters.postgres.database import open_pool
from dispatch.adapters.postgres.leader_lease import LeaderLease


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_feed(url: str, frames: int) -> dict[str, Any]:
    """Per-frame latency A -> B and A -> A, and the rate of the whole run."""
    sent: dict[int, float] = {}
    arrived: dict[str, dict[int, float]] = {"remote": {}, "own": {}}
    done = {"remote": threading.Event(), "own": threading.Event()}
    a, b = ClusterBus(url, poll_s=0.5), ClusterBus(url, poll_s=0.5)

    def receiver(name: str) -> Any:
        def on_feed(rows: FeedRows) -> None:
            now = time.perf_counter()
            for _, _, frame in rows:
                arrived[name][int(orjson.loads(frame)["data"]["n"])] = now
            if len(arrived[name]) >= frames:
                done[name].set()

        return on_feed

    b.on_feed(receiver("remote"))
    a.on_feed(receiver("own"))
    a.start()
    b.start()
    started = time.perf_counter()
    for n in range(frames):
        sent[n] = time.perf_counter()
        a.append_feed("order.placed", {"n": n})
        time.sleep(0.002)  # commits arrive spread out, not as one batch
    for event in done.values():
        event.wait(120)
    elapsed = max(max(v.values()) for v in arrived.values()) - started
    a.stop()
    b.stop()
    result: dict[str, Any] = {"frames": frames, "elapsed_s": elapsed}
    for name, times in arrived.items():
        lat = [(times[n] - sent[n]) * 1000 for n in times]
        result[name] = {
            "delivered": len(times),
            "p50_ms": statistics.median(lat),
            "p95_ms": _percentile(lat, 0.95),
            "max_ms": max(lat),
        }
    return result


def measure_limits(url: str, checks: int) -> dict[str, float]:
    """Checks per second of a limiter, PostgreSQL and in-memory storage."""
    pool = open_pool(url, max_size=2)
    try:
        rates = {}
        for name, storage in (
            ("postgres", PostgresLimiterStorage(pool, namespace="bench")),
            ("memory", MemoryLimiterStorage()),
        ):
            limiter = SlidingWindowLimiter(limit=10**9, storage=storage)
            started = time.perf_counter()
            for i in range(checks):
                limiter.hit(f"user:u{i % 50}", "ip:10.0.0.1")
            rates[name] = checks / (time.perf_counter() - started)
        return rates
    finally:
        pool.close()


def measure_takeover(url: str, poll_s: float, rounds: int) -> list[float]:
    """Seconds from terminating the leader's session to a follower holding it."""
    takeovers = []
    for _ in range(rounds):
        leader, follower = LeaderLease(url), LeaderLease(url)
        if not leader.try_acquire():
            raise RuntimeError("the lease is held by someone else")
        with psycopg.connect(url, autocommit=True) as admin:
            killed = time.perf_counter()
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND objid = 1"
            )
        while not follower.try_acquire():
            time.sleep(poll_s)
        takeovers.append(time.perf_counter() - killed)
        leader.release()
        follower.release()
    return takeovers


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure; print a table; optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs (smoke)")
    parser.add_argument("--json", type=Path, help="write results to this file")
    args = parser.parse_args(argv)
    frames, checks, rounds = (300, 300, 3) if args.quick else (3000, 3000, 10)
    with scratch_database() as url:
        feed = measure_feed(url, frames)
        limits = measure_limits(url, checks)
        takeover = measure_takeover(url, 0.5, rounds)
    print_table(
        [
            [
                f"feed {name}",
                feed[name]["delivered"],
                feed[name]["p50_ms"],
                feed[name]["p95_ms"],
                feed[name]["max_ms"],
            ]
            for name in ("remote", "own")
        ],
        ["path", "frames", "p50 ms", "p95 ms", "max ms"],
    )
    print_table(
        [[name, rate] for name, rate in limits.items()],
        ["limiter storage", "checks/s"],
    )
    print_table(
        [["lease takeover (poll 0.5 s)", min(takeover), max(takeover)]],
        ["what", "min s", "max s"],
    )
    result = {
        "benchmark": "cluster_bus",
        "feed": feed,
        "feed_frames_per_s": frames / feed["elapsed_s"],
        "limiter_checks_per_s": limits,
        "takeover_s": takeover,
    }
    if args.json:
        write_json(args.json, result, baseline="own listener; in-memory limiter")
    return result


if __name__ == "__main__":
    main()
