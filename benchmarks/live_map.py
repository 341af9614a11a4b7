"""The dispatcher's live map under load, against naive pages in the same run.

``python -m benchmarks.live_map [--quick] [--riders N] [--orders N] [--duration S]
[--json FILE]``

Starts ``rxdispatch serve`` (subprocess, re-planner and ingest off) on a
throw-away database with the built UI (``make ui`` first), places ``--orders``
orders (2,000) and registers ``--riders`` riders (200) over the API; a publisher
process then moves every rider at 1 Hz through the real path (one ``/ws/rider``
socket per rider -> the hub -> ``/ws/dispatch``). Headless Chromium
(``/usr/bin/chromium``) opens each page in turn while the feed runs:

- ``ours``: the real dispatcher page (``/ui/dispatcher/``, signed in as the
  bootstrap admin): one GeoJSON source per layer, ``setData`` at most once per
  animation frame, and the riders as DOM markers moved in place at most once
  per animation frame;
- ``naive-setdata``: a small page built here (served on the app's origin through
  Playwright routing) with the real page's basemap style (read from ``ours``, our
  layers taken out) and the 2,000 orders, that calls
  ``setData`` on the riders' source for every positions frame;
- ``naive-dom``: the same page with one DOM marker per rider, all of them
  removed and re-created for every positions frame.

Per page: **time to first map** (navigation to the map drawn: ``rxdMap.ready``,
the map's first ``idle``), then after a warm-up, over ``--duration`` seconds:
**position-to-screen delay** (p50/p95/max: the frame's ``ts``, its send time at
the server, to the end of the first map render after the riders' source took the
data, or the first frame after the DOM markers were moved), **long tasks per
minute** and the longest (``PerformanceObserver`` ``longtask``), **JS heap**
(CDP ``Performance.getMetrics``, at the end), and **bytes per rider update**
(positions frames' payload bytes over the fixes they carry). The real page's
hook is ``window.rxdProbe`` (``ui/src/live/probe.ts``), which only this
benchmark installs. Targets (issue 19): p95 <= 250 ms and no main-thread task
over 200 ms at 200 riders and 2,000 orders.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

from benchmarks._api_server import RunningApi, percentile, running_api
from benchmarks._report import print_table, write_json
from dispatch.city.service_area import bundled_service_area
from dispatch.domain import GeoPoint

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
MAPLIBRE = REPO / "ui" / "node_modules" / "maplibre-gl" / "dist"
PMTILES_JS = REPO / "ui" / "node_modules" / "pmtiles" / "dist" / "pmtiles.js"
SKU = "BENCH-MAP"
#: Where riders circle and orders lie: Malta's built-up east (lat, lon).
CENTRE = (35.895, 14.48)
PAGES = ("ours", "naive-setdata", "naive-dom")

PROBE_JS = """
(() => {
  const bench = { delays: [], pending: [], longtasks: [], frames: 0, fixes: 0,
                  readyAt: null, measuring: false };
  window.__bench = bench;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) bench.longtasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
  const stamp = (sent) => {
    const now = Date.now();
    if (bench.measuring) for (const s of sent) bench.delays.push(now - s);
  };
  // A source's data is on screen at the first render after its tiles were
  // rebuilt from it: setData -> "content" -> a tile of the source loaded -> render.
  const watched = new Map();
  bench.sent = (map, sourceId, stamps) => {
    let state = watched.get(sourceId);
    if (!state) {
      state = { queued: [], content: [], tiled: [] };
      watched.set(sourceId, state);
      map.on("sourcedata", (e) => {
        if (e.sourceId !== sourceId) return;
        if (e.sourceDataType === "content") {
          state.content.push(...state.queued);
          state.queued = [];
        } else if (e.tile && state.content.length) {
          state.tiled.push(...state.content);
          state.content = [];
        }
      });
      map.on("render", () => {
        if (!state.tiled.length) return;
        const done = state.tiled;
        state.tiled = [];
        stamp(done);
      });
    }
    state.queued.push(...stamps);
  };
  bench.stamp = stamp;
  // the real page's hook (ui/src/live/probe.ts)
  window.rxdProbe = {
    positions(ts, fixes) {
      bench.pending.push(Date.parse(ts));
      bench.frames += 1;
      bench.fixes += fixes;
    },
    flushing(id) {
      if (id !== "rxd-riders" || bench.pending.length === 0) return;
      const sent = bench.pending;
      bench.pending = [];
      bench.sent(window.rxdMap.map, id, sent);
    },
    // the riders' DOM markers were moved: on screen after the next frame, as
    // for the naive DOM page
    moved() {
      if (bench.pending.length === 0) return;
      const sent = bench.pending;
      bench.pending = [];
      requestAnimationFrame(() => setTimeout(() => bench.stamp(sent), 0));
    },
  };
  const watchReady = () => {
    if (bench.readyAt !== null) return;
    if ((window.rxdMap && window.rxdMap.ready) || window.naiveReady) {
      bench.readyAt = performance.now();
      return;
    }
    requestAnimationFrame(watchReady);
  };
  requestAnimationFrame(watchReady);
})();
"""

NAIVE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>naive live map</title>
<link rel="stylesheet" href="maplibre-gl.css">
<style>html, body, #map { margin: 0; height: 100%; }</style></head>
<body><div id="map"></div>
<script src="pmtiles.js"></script>
<script type="module">
import * as maplibregl from "./maplibre-gl.mjs";
maplibregl.setWorkerUrl(new URL("./maplibre-gl-worker.mjs", location.href).href);
const protocol = new pmtiles.Protocol();
maplibregl.addProtocol("pmtiles", protocol.tile);
const mode = new URLSearchParams(location.search).get("mode");
const token = JSON.parse(sessionStorage.getItem("rxd.session")).token;
const auth = { headers: { Authorization: `Bearer ${token}` } };
const empty = { type: "FeatureCollection", features: [] };
const map = new maplibregl.Map({
  container: "map", center: [14.43, 35.92], zoom: 10.3, fadeDuration: 0,
  style: { version: 8,
    sources: { basemap: { type: "vector",
      url: `pmtiles://${location.origin}/ui/map/basemap.pmtiles` } },
    layers: [
      { id: "bg", type: "background", paint: { "background-color": "#c6dbe8" } },
      { id: "land", type: "fill", source: "basemap", "source-layer": "land",
        paint: { "fill-color": "#f3f0ea" } },
      { id: "road", type: "line", source: "basemap", "source-layer": "road",
        paint: { "line-color": "#ffffff", "line-width": 1.5 } },
    ] },
});
async function allOrders() {
  const out = [];
  for (let offset = 0; ; offset += 500) {
    const r = await fetch(`/orders?limit=500&offset=${offset}`, auth);
    const page = await r.json();
    out.push(...page.items);
    if (out.length >= page.total || page.items.length === 0) return out;
  }
}
map.on("load", async () => {
  const orders = await allOrders();
  map.addSource("orders", { type: "geojson", cluster: true, data: {
    type: "FeatureCollection",
    features: orders.map((o) => ({ type: "Feature", properties: { id: o.id },
      geometry: { type: "Point",
        coordinates: [o.delivery_location.lon, o.delivery_location.lat] } })) } });
  map.addLayer({ id: "orders", type: "circle", source: "orders",
    paint: { "circle-radius": 6, "circle-color": "#64748b" } });
  map.addSource("riders", { type: "geojson", data: empty });
  map.addLayer({ id: "riders", type: "circle", source: "riders",
    paint: { "circle-radius": 8, "circle-color": "#2563eb" } });
  const ready = () => {
    if (!map.isSourceLoaded("basemap")) return;
    window.naiveReady = true;
    map.off("render", ready);
  };
  map.on("render", ready);
  map.triggerRepaint();
  const riders = new Map();
  let markers = [];
  const ws = new WebSocket(`ws://${location.host}/ws/dispatch?access_token=${encodeURIComponent(token)}`);
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type !== "positions") return;
    const sent = [Date.parse(frame.ts)];
    window.__bench.frames += 1;
    window.__bench.fixes += frame.data.length;
    for (const p of frame.data) riders.set(p.rider_id, p);
    if (mode === "dom") {
      for (const m of markers) m.remove();
      markers = [...riders.values()].map((p) =>
        new maplibregl.Marker({ color: "#2563eb" })
          .setLngLat([p.lon, p.lat]).addTo(map));
      requestAnimationFrame(() => setTimeout(() => window.__bench.stamp(sent), 0));
    } else {
      window.__bench.sent(map, "riders", sent);
      map.getSource("riders").setData({ type: "FeatureCollection",
        features: [...riders.values()].map((p) => ({ type: "Feature",
          properties: { id: p.rider_id },
          geometry: { type: "Point", coordinates: [p.lon, p.lat] } })) });
    }
  };
});
</script></body></html>
"""


# ---- the world ---------------------------------------------------------------


def _ok(r: httpx.Response) -> Any:
    if r.status_code >= 300:
        raise RuntimeError(
            f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
        )
    return r.json() if r.content else None


_AREA = bundled_service_area()


def _spot(i: int, n: int, spread: float = 0.035) -> tuple[float, float]:
    """The i-th of n points on a sunflower spiral around :data:`CENTRE`, drawn
    in towards it until it (and a rider's lap around it) is on land: the API
    refuses orders and fixes outside the service area (the main island)."""
    a = i * 2.39996
    r = spread * math.sqrt((i + 0.5) / n)
    while True:
        lat, lon = CENTRE[0] + r * math.sin(a), CENTRE[1] + 1.25 * r * math.cos(a)
        lap = [
            (lat + dy, lon + dx)
            for dy in (-0.002, 0, 0.002)
            for dx in (-0.0025, 0, 0.0025)
        ]
        if r < 0.001 or all(_AREA.contains(GeoPoint(lat=y, lon=x)) for y, x in lap):
            return lat, lon
        r *= 0.8


def seed(api: RunningApi, riders: int, orders: int) -> list[str]:
    """Three pharmacies with stock, ``orders`` orders, ``riders`` riders; their
    device tokens."""
    headers = api.admin_headers()
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=60) as http:
        _ok(http.post("/products", json={"sku": SKU, "name": "Bench pen"}))
        expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
        for k, (lat, lon) in enumerate(
            [(35.8989, 14.5146), (35.897, 14.462), (35.876, 14.472)]
        ):
            pid = f"ph-bench-{k}"
            _ok(
                http.post(
                    "/pharmacies",
                    json={
                        "id": pid,
                        "name": f"Bench Pharmacy {k}",
                        "location": {"lat": lat, "lon": lon},
                        "licence_number": f"LIC-B{k}",
                    },
                )
            )
            _ok(
                http.post(
                    f"/pharmacies/{pid}/stock/import",
                    headers={"Content-Type": "text/csv"},
                    content=f"sku,lot_number,expiry_date,quantity\n{SKU},L{k},{expiry},{orders}\n",
                )
            )
        tokens = []
        for i in range(riders):
            rid = f"bench-rider-{i:04d}"
            _ok(
                http.post(
                    "/riders",
                    json={
                        "id": rid,
                        "name": f"Rider {i:03d}",
                        "vehicle_type": "scooter",
                    },
                )
            )
            r = _ok(http.post(f"/riders/{rid}/device-tokens", json={"label": "bench"}))
            tokens.append(r["device_token"])

    def place(i: int) -> None:
        lat, lon = _spot(i, orders, 0.05)
        start = datetime.now(UTC)
        body = {
            "patient_ref": f"B-{i:05d}",
            "patient": {
                "name": "Bench Patient",
                "phone": "+35699000000",
                "address": "1 Triq",
            },
            "delivery_location": {"lat": lat, "lon": lon},
            "lines": [{"sku": SKU, "quantity": 1}],
            "window_start_at": start.isoformat(),
            "window_end_at": (start + timedelta(hours=4)).isoformat(),
            "priority": "standard",
        }
        with httpx.Client(base_url=api.base_url, timeout=60) as http:
            _ok(
                http.post(
                    "/orders",
                    json=body,
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                )
            )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(place, range(orders)))
    return tokens


# ---- the publisher (its own process) ------------------------------------------


async def _publish(host: str, tokens: list[str], stop: Any) -> None:
    sockets = []
    for i in range(0, len(tokens), 50):
        sockets += await asyncio.gather(
            *(
                websockets.connect(
                    f"ws://{host}/ws/rider",
                    additional_headers={"Authorization": f"Bearer {t}"},
                    max_queue=None,
                )
                for t in tokens[i : i + 50]
            )
        )

    async def drain(ws: Any) -> None:
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass

    drains = [asyncio.create_task(drain(ws)) for ws in sockets]
    n = len(sockets)
    homes = [_spot(i, n) for i in range(n)]
    start = time.time()
    tick = 0
    while not stop.is_set():
        for i, ws in enumerate(sockets):
            delay = start + tick + i / n - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            angle = (tick * 6 + i * 37) % 360  # a lap a minute, 150-250 m wide
            lat = homes[i][0] + 0.0015 * math.sin(math.radians(angle))
            lon = homes[i][1] + 0.0019 * math.cos(math.radians(angle))
            msg = {
                "type": "position",
                "data": {
                    "lat": lat,
                    "lon": lon,
                    "heading_deg": (360 - angle) % 360,
                    "speed_mps": 4.0,
                },
            }
            await ws.send(orjson.dumps(msg).decode())
        tick += 1
    for ws in sockets:
        await ws.close()
    for task in drains:
        task.cancel()


def _publisher(host: str, tokens: list[str], stop: Any) -> None:
    asyncio.run(_publish(host, tokens, stop))


# ---- one page ------------------------------------------------------------------


def _session_script(api: RunningApi) -> str:
    r = httpx.post(
        f"{api.base_url}/auth/token",
        json={"username": "bench-admin", "password": "bench-password-0123456789"},
        timeout=30,
    )
    token = r.raise_for_status().json()["access_token"]
    session = {
        "token": token,
        "role": "admin",
        "username": "bench-admin",
        "expiresAt": (datetime.now(UTC) + timedelta(minutes=14)).isoformat(),
    }
    return f"sessionStorage.setItem('rxd.session', {json.dumps(json.dumps(session))});"


def _serve_naive(route: Any) -> None:
    name = route.request.url.split("/bench/naive/", 1)[1].split("?", 1)[0]
    if name == "":
        route.fulfill(status=200, content_type="text/html", body=NAIVE_HTML)
        return
    path = PMTILES_JS if name == "pmtiles.js" else MAPLIBRE / name
    if path.parent not in (MAPLIBRE, PMTILES_JS.parent) or not path.is_file():
        route.fulfill(status=404, body="")
        return
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    route.fulfill(status=200, content_type=kind, body=path.read_bytes())


BASEMAP_OF_PAGE_JS = """() => {
  const style = window.rxdMap.map.getStyle();
  style.layers = style.layers.filter(
    (l) => !String(l.source ?? "").startsWith("rxd-"));
  for (const id of Object.keys(style.sources)) {
    if (id.startsWith("rxd-")) delete style.sources[id];
  }
  return style;
}"""


def measure_page(
    browser: Any,
    api: RunningApi,
    page_name: str,
    warmup_s: float,
    duration_s: float,
    basemap: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open one page while the feed runs and measure it (see module docstring);
    a naive page draws ``basemap`` (the real page's, read by the run of ``ours``)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=api.base_url
    )
    context.set_default_timeout(180_000)
    context.add_init_script(_session_script(api))
    if basemap is not None:
        context.add_init_script(f"window.__basemapStyle = {json.dumps(basemap)};")
    context.add_init_script(PROBE_JS)
    context.route("**/bench/naive/**", _serve_naive)
    page = context.new_page()
    frames = {"bytes": 0, "fixes": 0, "on": False}

    def on_frame(payload: str | bytes) -> None:
        text = payload if isinstance(payload, str) else payload.decode()
        if frames["on"] and text.startswith('{"v":1,"type":"positions"'):
            frames["bytes"] += len(text.encode())
            frames["fixes"] += text.count('"rider_id"')

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    url = (
        "/ui/dispatcher/"
        if page_name == "ours"
        else f"/bench/naive/?mode={page_name.split('-')[1]}"
    )
    page.goto(url)
    try:
        page.wait_for_function(
            "() => window.__bench && window.__bench.readyAt !== null"
        )
    except Exception:
        page.screenshot(path=f"/tmp/live_map_{page_name}.png")
        raise
    first_map_s = page.evaluate("() => window.__bench.readyAt") / 1000
    page.wait_for_timeout(warmup_s * 1000)
    started = page.evaluate(
        "() => { window.__bench.measuring = true; return performance.now(); }"
    )
    frames["on"] = True
    page.wait_for_timeout(duration_s * 1000)
    frames["on"] = False
    result = page.evaluate(
        """(started) => { const b = window.__bench; b.measuring = false;
            return { delays: b.delays,
                     longtasks: b.longtasks.filter(([t]) => t >= started) }; }""",
        started,
    )
    metrics = {
        m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
    }
    drawn = page.evaluate(BASEMAP_OF_PAGE_JS) if page_name == "ours" else None
    context.close()
    delays = [float(d) for d in result["delays"]]
    longest = max((d for _, d in result["longtasks"]), default=0.0)
    return {
        "page": page_name,
        "first_map_s": round(first_map_s, 2),
        "updates_drawn": len(delays),
        "p50_ms": percentile(delays, 50),
        "p95_ms": percentile(delays, 95),
        "max_ms": max(delays, default=None),
        "long_tasks_per_min": round(len(result["longtasks"]) / (duration_s / 60), 1),
        "longest_task_ms": round(longest, 1),
        "js_heap_mb": round(metrics.get("JSHeapUsedSize", 0) / 2**20, 1),
        "bytes_per_rider_update": round(frames["bytes"] / frames["fixes"], 1)
        if frames["fixes"]
        else None,
        "page_errors": errors,
        "basemap": drawn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="50 riders, 200 orders, 15 s per page"
    )
    parser.add_argument("--riders", type=int, default=None)
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument(
        "--duration", type=float, default=None, help="measured seconds per page"
    )
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    riders = args.riders or (50 if args.quick else 200)
    orders = args.orders or (200 if args.quick else 2000)
    duration = args.duration or (15.0 if args.quick else 60.0)
    warmup = 5.0 if args.quick else 10.0
    if not CHROMIUM.exists() or not (REPO / "api" / "ui_dist" / "dispatcher").exists():
        raise SystemExit("needs /usr/bin/chromium and the built UI (make ui)")
    from playwright.sync_api import sync_playwright

    rows = []
    with running_api({"API_RUN_REPLANNER": "false"}) as api:
        t0 = time.perf_counter()
        tokens = seed(api, riders, orders)
        print(
            f"seeded {orders} orders and {riders} riders in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        stop = multiprocessing.get_context("spawn").Event()
        host = api.base_url.removeprefix("http://")
        publisher = multiprocessing.get_context("spawn").Process(
            target=_publisher, args=(host, tokens, stop)
        )
        publisher.start()
        try:
            with sync_playwright() as playwright:
                # the naive page is fulfilled by Playwright, which Chromium's local
                # network checks would otherwise keep from the app's websocket
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--disable-features=LocalNetworkAccessChecks"],
                )
                basemap: dict[str, Any] | None = None
                for name in PAGES:
                    row = measure_page(browser, api, name, warmup, duration, basemap)
                    basemap = basemap or row.pop("basemap")
                    row.pop("basemap", None)
                    rows.append(row)
                    print(f"{name}: done")
                browser.close()
        finally:
            stop.set()
            publisher.join(30)
            if publisher.is_alive():
                publisher.terminate()
    ours = rows[0]
    for row in rows:
        row["p95_vs_ours"] = (
            round(row["p95_ms"] / ours["p95_ms"], 2)
            if row["p95_ms"] and ours["p95_ms"]
            else None
        )
    print_table(
        [
            [
                r["page"],
                r["first_map_s"],
                r["updates_drawn"],
                r["p50_ms"],
                r["p95_ms"],
                r["max_ms"],
                r["long_tasks_per_min"],
                r["longest_task_ms"],
                r["js_heap_mb"],
                r["bytes_per_rider_update"],
            ]
            for r in rows
        ],
        [
            "page",
            "first map s",
            "updates",
            "p50 ms",
            "p95 ms",
            "max ms",
            "long tasks/min",
            "longest ms",
            "heap MB",
            "bytes/rider update",
        ],
    )
    met = (
        ours["p95_ms"] is not None
        and ours["p95_ms"] <= 250
        and ours["longest_task_ms"] <= 200
    )
    print(
        "targets (p95 <= 250 ms, no task > 200 ms) "
        f"{'met' if met else 'NOT met'} by ours"
    )
    if args.json:
        write_json(
            args.json,
            {
                "riders": riders,
                "orders": orders,
                "duration_s": duration,
                "warmup_s": warmup,
                "pages": rows,
                "targets_met": met,
            },
            baseline="naive pages in the same run, same feed and orders: "
            "'naive-setdata' "
            "(setData per positions frame), 'naive-dom' (a DOM marker per rider, all "
            "re-created per frame)",
        )


if __name__ == "__main__":
    main()
