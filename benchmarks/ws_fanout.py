"""Live fan-out: 500 riders at 1 Hz -> dispatcher clients, position-to-client latency.

``python -m benchmarks.ws_fanout [--quick] [--riders N] [--json FILE]``

Starts ``rxdispatch serve`` (subprocess, re-planner off) on a throw-away database,
registers the riders and their device tokens over the API, then per scenario:

- a rider process opens one ``/ws/rider`` websocket per rider and sends a
  position per rider per second (evenly staggered), stamped ``client_ts_ms``;
- a watcher process opens the dispatcher ``/ws/dispatch`` clients and measures,
  for every position received, ``receive time - client_ts_ms``.

Scenarios (same run): ``baseline`` (1 dispatcher: no fan-out), ``fanout``
(20 dispatchers), ``fanout+stalled`` (20 dispatchers plus a raw client that
completes the handshake and never reads). Protocol pings every 3 s (3 s timeout)
here so the stalled client is dropped inside a short run. Reports p50/p95/p99/max
latency of the healthy clients, delivery coverage, and how the stalled client was
closed (1011 missed pong; 1013 when a send stays blocked) — the healthy clients'
figures must not move. Target p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import httpx
import orjson
import websockets

from benchmarks._api_server import percentile, running_api
from benchmarks._report import print_table, write_json

SETUP_S = 20.0


def _register(base_url: str, headers: dict[str, str], riders: int) -> list[str]:
    tokens = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        for i in range(riders):
            rid = f"bench-rider-{i:04d}"
            http.post(
                "/riders",
                json={"id": rid, "name": f"Rider {i}", "vehicle_type": "scooter"},
            ).raise_for_status()
            r = http.post(f"/riders/{rid}/device-tokens", json={"label": "bench"})
            r.raise_for_status()
            tokens.append(r.json()["device_token"])
    return tokens


async def _riders(
    host: str, tokens: list[str], start_at: float, duration_s: float
) -> dict[str, Any]:
    sockets = []
    for i in range(0, len(tokens), 50):
        batch = tokens[i : i + 50]
        sockets += await asyncio.gather(
            *(
                websockets.connect(
                    f"ws://{host}/ws/rider",
                    additional_headers={"Authorization": f"Bearer {t}"},
                    max_queue=None,
                )
                for t in batch
            )
        )

    async def drain(ws: Any) -> None:
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass

    drains = [asyncio.create_task(drain(ws)) for ws in sockets]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    sent = 0
    n = len(sockets)
    for tick in range(int(duration_s)):
        for i, ws in enumerate(sockets):
            due = start_at + tick + i / n
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            msg = {
                "type": "position",
                "data": {
                    "lat": 35.85 + (i % 100) * 1e-3 + tick * 1e-5,
                    "lon": 14.45 + (i // 100) * 1e-3,
                    "client_ts_ms": int(time.time() * 1000),
                },
            }
            await ws.send(orjson.dumps(msg).decode())
            sent += 1
    await asyncio.sleep(1.0)
    for ws in sockets:
        await ws.close()
    for task in drains:
        task.cancel()
    return {"sent": sent}


def run_riders(
    host: str, tokens: list[str], start_at: float, duration_s: float
) -> dict[str, Any]:
    """Entry point of the rider process."""
    return asyncio.run(_riders(host, tokens, start_at, duration_s))


async def _watchers(
    host: str,
    bearer: dict[str, str],
    clients: int,
    stalled: bool,
    start_at: float,
    duration_s: float,
) -> dict[str, Any]:
    latencies: list[list[tuple[float, float]]] = [[] for _ in range(clients)]
    stop_at = start_at + duration_s + 1.5

    async def watch(index: int) -> None:
        async with websockets.connect(
            f"ws://{host}/ws/dispatch", additional_headers=bearer, max_queue=None
        ) as ws:
            while time.time() < stop_at:
                try:
                    raw = await asyncio.wait_for(ws.recv(), stop_at - time.time())
                except TimeoutError:
                    break
                now_ms = time.time() * 1000
                frame = orjson.loads(raw)
                if frame["type"] != "positions" or now_ms < start_at * 1000:
                    continue
                latencies[index].extend(
                    (now_ms - p["client_ts_ms"], p["client_ts_ms"] / 1000 - start_at)
                    for p in frame["data"]
                    if "client_ts_ms" in p
                )

    stalled_result: dict[str, Any] = {}

    async def stall() -> None:
        stalled_result.update(
            await asyncio.to_thread(_stalled_client, host, bearer, stop_at)
        )

    tasks = [watch(i) for i in range(clients)] + ([stall()] if stalled else [])
    await asyncio.gather(*tasks)
    return {"latencies_ms": latencies, "stalled": stalled_result}


def _stalled_client(
    host: str, bearer: dict[str, str], stop_at: float
) -> dict[str, Any]:
    """A raw websocket client that completes the handshake, then never reads (4 KiB
    receive buffer); afterwards it reads what arrived and reports the close code."""
    name, port = host.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((name, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws/dispatch HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\n"
        f"Authorization: {bearer['Authorization']}\r\n\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    time.sleep(max(0.0, stop_at - time.time()))
    sock.settimeout(10)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionError):
        pass
    sock.close()
    frames, code = _scan_frames(data)
    return {"closed": code is not None, "close_code": code, "frames_buffered": frames}


def _scan_frames(data: bytes) -> tuple[int, int | None]:
    """Count server frames in ``data``; return the close code if a close arrived."""
    i, frames = 0, 0
    while i + 2 <= len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if length == 126:
            length, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        elif length == 127:
            length, i = int.from_bytes(data[i : i + 8], "big"), i + 8
        payload = data[i : i + length]
        i += length
        frames += 1
        if opcode == 0x8:
            return frames, int.from_bytes(payload[:2], "big") if payload else 1005
    return frames, None


def run_watchers(
    host: str,
    bearer: dict[str, str],
    clients: int,
    stalled: bool,
    start_at: float,
    duration_s: float,
) -> dict[str, Any]:
    """Entry point of the watcher process."""
    return asyncio.run(_watchers(host, bearer, clients, stalled, start_at, duration_s))


def _scenario(
    pool: ProcessPoolExecutor,
    host: str,
    bearer: dict[str, str],
    tokens: list[str],
    name: str,
    clients: int,
    stalled: bool,
    duration_s: float,
) -> dict[str, Any]:
    start_at = time.time() + SETUP_S
    watchers = pool.submit(
        run_watchers, host, bearer, clients, stalled, start_at, duration_s
    )
    riders = pool.submit(run_riders, host, tokens, start_at, duration_s)
    sent = riders.result()["sent"]
    seen = watchers.result()
    per_client = seen["latencies_ms"]
    merged = [v for client in per_client for v, _ in client]
    by_second: dict[int, list[float]] = {}
    for client in per_client:
        for value, sent_s in client:
            by_second.setdefault(int(sent_s), []).append(value)
    return {
        "scenario": name,
        "riders": len(tokens),
        "dispatch_clients": clients,
        "positions_sent": sent,
        "coverage_pct": 100.0 * min(len(c) for c in per_client) / max(1, sent),
        "p50_ms": percentile(merged, 50),
        "p95_ms": percentile(merged, 95),
        "p99_ms": percentile(merged, 99),
        "max_ms": max(merged, default=None),
        "stalled_client": seen["stalled"] or None,
        "p99_by_second_ms": {
            s: percentile(v, 99) for s, v in sorted(by_second.items())
        },
    }


def main() -> None:
    """Run the three scenarios; print the table and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s per scenario.")
    parser.add_argument("--riders", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    duration = 10.0 if args.quick else args.duration
    env = {
        "API_RUN_REPLANNER": "false",
        "API_WS_PING_INTERVAL_S": "3",
        "API_WS_PING_TIMEOUT_S": "3",
    }
    with running_api(env) as api:
        admin = api.admin_headers()
        tokens = _register(api.base_url, admin, args.riders)
        host = api.base_url.removeprefix("http://")
        with ProcessPoolExecutor(max_workers=2) as pool:
            results = [
                _scenario(pool, host, admin, tokens, "baseline", 1, False, duration),
                _scenario(
                    pool, host, admin, tokens, "fanout", args.clients, False, duration
                ),
                _scenario(
                    pool,
                    host,
                    admin,
                    tokens,
                    "fanout+stalled",
                    args.clients,
                    True,
                    duration,
                ),
            ]
        metrics = httpx.get(
            f"{api.base_url}/health/metrics", headers=admin, timeout=10
        ).json()["metrics"]
    base = results[0]
    for r in results:
        r["p99_vs_baseline"] = (r["p99_ms"] or 0) / (base["p99_ms"] or 1)
    print_table(
        [
            [
                r["scenario"],
                r["dispatch_clients"],
                r["positions_sent"],
                r["coverage_pct"],
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
                r["max_ms"],
                r["p99_vs_baseline"],
                (r["stalled_client"] or {}).get("close_code"),
            ]
            for r in results
        ],
        [
            "scenario",
            "clients",
            "sent",
            "coverage %",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "p99/base",
            "stalled close",
        ],
    )
    report = {
        "benchmark": "ws_fanout",
        "duration_s": duration,
        "target_p99_ms": 250,
        "scenarios": results,
        "server_ws_closed_slow_total": metrics.get("ws_closed_slow_total"),
    }
    print(f"server closed slow clients: {report['server_ws_closed_slow_total']}")
    if args.json:
        write_json(
            args.json,
            report,
            baseline="scenario 'baseline' (one dispatcher client: no fan-out)",
        )


if __name__ == "__main__":
    main()
