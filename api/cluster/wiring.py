"""What one API instance sends to and takes from the others (``API_CLUSTER``).

- the dispatch feed: commands write their events' frames in their own
  transaction (:mod:`api.cluster.journal`), other events are journaled by the
  bus's writer; the hub takes the
  database-numbered frames of every instance back (:meth:`api.live.hub.Hub.share`),
  under the commit gate's shared side, so a dashboard snapshot and its ``seq``
  stay consistent (``Database.consistent_read``);
  another instance's frames also refresh the riders' routes here (live
  tracking's stops and geofences, the riders' own feeds);
- frames of other topics (a patient's tracking feed, a rider's geofence) and
  rider positions: relayed as they are published, fanned out by the others;
- device-token revocations: every instance evicts the rider's cached tokens;
- replan requests: events that change the plan's inputs, from any instance, reach
  the re-planner of the leader (:mod:`api.workers`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial

import orjson

from api.cluster.bus import ClusterBus, FeedRows
from api.cluster.journal import FeedJournal
from api.services import Services

log = logging.getLogger(__name__)

REPLAN_CHANNEL = "rxd_replan"
REVOKE_CHANNEL = "rxd_revoke"
LIVE_CHANNELS = {"topic": "rxd_live_topic", "position": "rxd_live_position"}
CHANNELS = (REPLAN_CHANNEL, REVOKE_CHANNEL, *LIVE_CHANNELS.values())


@asynccontextmanager
async def run_cluster_bus(services: Services) -> AsyncIterator[ClusterBus]:
    """Start this instance's end of the bus and wire the hub, the token cache
    and the routes to it; stop it (queued frames written first) on exit."""
    bus = ClusterBus(services.database_url, channels=CHANNELS)
    hub = services.hub
    remote = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bus-remote")

    def on_feed(rows: FeedRows) -> None:
        with services.db.gate.committing():
            hub.accept_feed([(seq, frame) for seq, _, frame in rows])
        for _, origin, frame in rows:
            if origin != bus.origin:
                remote.submit(_refresh_routes, services, frame)

    bus.on_feed(on_feed)
    for kind, channel in LIVE_CHANNELS.items():
        bus.on(channel, partial(hub.deliver_remote, kind))
    bus.on(REVOKE_CHANNEL, services.auth.device_cache.evict_rider)
    head = await asyncio.to_thread(bus.start, backlog=hub.queue_size)
    hub.share(feed_id=bus.feed_id, journal=bus.append_feed, relay=_relay(bus))
    hub.start_feed_at(head)
    services.auth.on_revoked = partial(bus.send, REVOKE_CHANNEL)
    journal = FeedJournal(bus.origin)
    services.db.journal = journal
    services.publisher.journaled = journal.journaled
    services.bus = bus
    services.metrics.gauge("bus_frames_written_total", lambda: bus.frames_written)
    services.metrics.gauge("bus_reconnects_total", lambda: bus.reconnects)
    services.metrics.gauge("dispatch_feed_gaps_total", lambda: hub.feed_gaps)
    log.info("cluster bus running", extra={"origin": bus.origin})
    try:
        yield bus
    finally:
        services.auth.on_revoked = None
        services.db.journal = None
        services.publisher.journaled = None
        await asyncio.to_thread(bus.stop)
        remote.shutdown(wait=False, cancel_futures=True)


def _relay(bus: ClusterBus) -> Callable[[str, str], None]:
    def relay(kind: str, payload: str) -> None:
        bus.send(LIVE_CHANNELS[kind], payload)

    return relay


def _refresh_routes(services: Services, frame: str) -> None:
    try:
        parsed = orjson.loads(frame)
        services.routes.on_frame(str(parsed["type"]), parsed.get("data") or {})
    except Exception:  # a route refresh must not stop the next ones
        log.exception("refreshing routes after another instance's event failed")
