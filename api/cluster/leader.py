"""One re-planner at a time across API instances, with failover.

Every instance builds its re-planner; only the holder of the leader lease
(:class:`~dispatch.adapters.postgres.leader_lease.LeaderLease`, a PostgreSQL
advisory lock on a dedicated connection) runs it. A follower tries the lease
every ``API_LEADER_POLL_S``; the leader checks it holds it as often and stops
planning the moment it does not (a plan it was computing is then refused by the
lease's fence in the plan's transaction). A new leader plans at once
(``leader_elected``), from the database: orders placed while no one led are
picked up by that round, none is lost, and versions stay one sequence.

Events that change the plan's inputs reach the leader whichever instance they
happen on: the leader's own go straight to its re-planner, a follower's are
sent over the bus (``rxd_replan``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api.cluster.bus import ClusterBus
from api.cluster.wiring import REPLAN_CHANNEL
from api.services import Services
from dispatch.adapters.postgres.leader_lease import LeaderLease
from dispatch.events import DispatchEvent
from dispatch.planning.replanner import Replanner

log = logging.getLogger(__name__)


class ReplanRequests:
    """An ``EventPublisher`` for processes without a re-planner (a standalone
    ingest worker): plan-changing events become requests to the leader."""

    def __init__(self, bus: ClusterBus) -> None:
        self._bus = bus

    def publish(self, event: DispatchEvent) -> None:
        """Ask the leader to re-plan if ``event`` changes the plan's inputs."""
        if Replanner.wants(event):
            self._bus.send(REPLAN_CHANNEL, event.type)


class ReplanRelay:
    """An ``EventPublisher``: plan-changing events to the leader's re-planner."""

    def __init__(self, replanner: Replanner, lease: LeaderLease, bus: ClusterBus):
        self._replanner = replanner
        self._lease = lease
        self._remote = ReplanRequests(bus)

    def publish(self, event: DispatchEvent) -> None:
        """Trigger the local re-planner if it leads, else ask the leader."""
        if self._lease.held:
            self._replanner.publish(event)
        else:
            self._remote.publish(event)

    def on_request(self, reason: str) -> None:
        """A follower's request (bus listener thread): plan if this one leads."""
        if self._lease.held:
            self._replanner.trigger(reason)


async def lead(
    services: Services, replanner: Replanner, lease: LeaderLease, poll_s: float
) -> None:
    """Follow until the lease is ours, plan until it is lost; forever (cancel
    the task to stop: the lease is released)."""
    origin = services.bus.origin if services.bus else ""
    services.leadership = "follower"
    try:
        while True:
            if not await asyncio.to_thread(lease.try_acquire):
                await asyncio.sleep(poll_s)
                continue
            services.leadership = "leader"
            services.metrics.inc("replan_leader_changes_total")
            log.warning("this instance leads re-planning", extra={"origin": origin})
            replanner.trigger("leader_elected")
            run = asyncio.create_task(replanner.run(), name="replanner-leader")
            try:
                while not run.done():
                    await asyncio.sleep(poll_s)
                    if not await asyncio.to_thread(lease.check):
                        log.warning(
                            "re-planning lease lost; following",
                            extra={"origin": origin},
                        )
                        break
            finally:
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
                services.leadership = "follower"
                await asyncio.to_thread(lease.release)
            failure = None if run.cancelled() else run.exception()
            if failure is not None:
                raise failure  # supervise reports it and starts over
    finally:
        await asyncio.shield(asyncio.to_thread(lease.release))
