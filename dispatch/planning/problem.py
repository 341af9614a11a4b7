"""Live dispatch state -> ``routing.RoutingProblem``, and a solution -> :class:`Plan`.

The only module that speaks both vocabularies (riders/pharmacies/orders and
vehicles/sites/jobs). Pure: the caller takes the snapshot and provides the matrix
provider. Times in the problem are seconds after ``origin_at``, the earliest of
"now" and the oldest pickup of an on-board order (so hold-time limits of goods
already on a bike are measured from their real pickup).

Rules: riders are planned from their live position until their shift ends; orders
already picked up are ``on_board`` their rider (delivery only); the first
remaining stop of each rider's previous route is locked (they are driving to it);
pharmacies are offered as pickup candidates within their opening hours; promised
delivery windows are hard promises (soft windows make the engine's first solution
far slower at city scale); an order already past its window gets ``late_grace``
from now; urgent orders carry priority 1 (a higher drop penalty).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.domain import (
    GeoPoint,
    Pharmacy,
    PharmacyId,
    Product,
    Rider,
    RiderStatus,
    Sku,
)
from dispatch.domain import TemperatureProfile as Profile
from dispatch.orders.order import Order, OrderStatus, Priority
from dispatch.planning.plan import (
    Plan,
    PlannedStop,
    ReleasedStop,
    RiderRoute,
    UnservableOrder,
)
from dispatch.planning.reasons import explain
from dispatch.worker_health import describe_error
from routing import (
    Job,
    ReleasedLock,
    Route,
    RoutingProblem,
    RoutingSolution,
    Site,
    TimeWindow,
    Vehicle,
    Visit,
)
from routing.matrix import MatrixProvider
from routing.model import LockKind

__all__ = [
    "SET_ASIDE",
    "Plan",
    "PlannedStop",
    "PlanningParams",
    "PlanningSnapshot",
    "RiderRoute",
    "Translation",
    "UnservableOrder",
    "build_problem",
    "cargo_needs",
    "cold_slots",
    "dropped_pins",
    "pickup_window",
    "to_plan",
    "usable_riders",
]

PLANNABLE = frozenset(
    {OrderStatus.SOURCED, OrderStatus.ASSIGNED, OrderStatus.PICKED_UP}
)

PLANNING_FAILED = "planning_failed"
"""Reason of an order whose own data the planner could not use (set aside)."""
PHARMACY_UNUSABLE = "pharmacy_unusable"
"""Reason of an order whose every pickup candidate has data the planner cannot
use (e.g. a time zone this host does not know): set aside, the city goes on."""
SET_ASIDE = frozenset({PLANNING_FAILED, PHARMACY_UNUSABLE})


@dataclass(frozen=True, slots=True)
class PlanningParams:
    """Knobs of the translation (service times, rider capacities, skill names)."""

    pickup_service_s: int = 120
    delivery_service_s: int = 180
    max_orders: Mapping[str, int] = field(
        default_factory=lambda: {"bike": 4, "scooter": 8, "car": 16}
    )
    controlled_skill: str = "controlled"
    frozen_skill: str = "frozen"
    late_grace: timedelta = timedelta(hours=2)
    """Window given to an order whose promised window has already passed."""
    lock_next_stop: bool = True
    """Pin each rider's next stop (off: the fallback when a lock became infeasible)."""


@dataclass(frozen=True)
class PlanningSnapshot:
    """Everything the planner reads, taken in one consistent read."""

    now: datetime
    riders: tuple[Rider, ...]
    orders: tuple[Order, ...]
    pharmacies: Mapping[PharmacyId, Pharmacy]
    products: Mapping[Sku, Product]
    profiles: Mapping[str, Profile]
    previous: Plan | None = None
    sourcing_policy: str = "joint"
    cold_unfit_riders: frozenset[str] = frozenset()
    """Riders whose cold box is quarantined: no new cold-chain orders for them."""
    invalid_pharmacies: Mapping[str, str] = field(default_factory=dict)
    """Pharmacy id -> why its stored row could not be read (never offered)."""


@dataclass(frozen=True)
class Translation:
    """A routing problem plus what is needed to read its solution back."""

    problem: RoutingProblem
    origin_at: datetime
    initial: RoutingSolution | None
    basis_orders: Mapping[str, int]
    basis_riders: Mapping[str, int]
    skipped: tuple[UnservableOrder, ...] = ()
    basis_order_states: Mapping[str, Order] = field(default_factory=dict)
    unusable_pharmacies: Mapping[str, str] = field(default_factory=dict)
    """Pharmacy id -> why the planner could not use it this round (not offered)."""
    unusable_riders: Mapping[str, str] = field(default_factory=dict)
    """Rider id -> why the planner could not route them this round."""

    default_time_zone: str = "UTC"
    """The zone of reasons for orders without a pharmacy yet."""

    @property
    def set_aside(self) -> tuple[UnservableOrder, ...]:
        """Orders left out because their data (or their pharmacies') broke."""
        return tuple(u for u in self.skipped if u.reason in SET_ASIDE)

    rider_starts: Mapping[str, GeoPoint] = field(default_factory=dict)
    """Rider id -> the position the rider's route starts from."""
    time_zones: Mapping[str, str] = field(default_factory=dict)
    """Order id -> the business time zone its reasons are worded in (its
    pharmacy's; absent: the first pharmacy's, else UTC)."""


def _s(at: datetime, origin: datetime) -> int:
    return max(0, int((at - origin).total_seconds()))


def pickup_window(
    pharmacy: Pharmacy, now: datetime, origin: datetime
) -> TimeWindow | bool | None:
    """The pharmacy's next opening as a hard window; None if always open; False if
    it does not open again within two days."""
    if not pharmacy.opening_hours:
        return None
    zone = ZoneInfo(pharmacy.timezone)
    local_now = now.astimezone(zone)
    for day_offset in range(3):
        day = (local_now + timedelta(days=day_offset)).date()
        for interval in sorted(pharmacy.opening_hours, key=lambda i: i.opens):
            if interval.weekday != day.weekday():
                continue
            opens = datetime.combine(day, interval.opens, zone)
            closes = datetime.combine(day, interval.closes, zone)
            if closes <= now:
                continue
            return TimeWindow(_s(max(opens, now), origin), _s(closes, origin))
    return False


def cargo_needs(
    order: Order, products: Mapping[Sku, Product], params: PlanningParams
) -> tuple[bool, frozenset[str]]:
    """Whether ``order`` needs a cold-box slot, and the rider skills it needs."""
    cold, skills, _ = _cargo(order, products, params, {})
    return cold, skills


def _cargo(
    order: Order,
    products: Mapping[Sku, Product],
    params: PlanningParams,
    profiles: Mapping[str, Profile],
) -> tuple[bool, frozenset[str], int | None]:
    items = [products[line.sku] for line in order.lines]
    cold = any(p.storage_class.needs_cold_box for p in items)
    skills: set[str] = set()
    if any(p.is_controlled for p in items):
        skills.add(params.controlled_skill)
    if any(p.storage_class.value == "frozen" for p in items):
        skills.add(params.frozen_skill)
    limits = [
        profiles[p.storage_class.value].max_transit_s
        for p in items
        if p.storage_class.value in profiles
    ]
    finite = [x for x in limits if x is not None]
    return cold, frozenset(skills), (min(finite) if finite else None)


class _Points:
    def __init__(self) -> None:
        self.coords: list[tuple[float, float]] = []
        self._index: dict[tuple[str, str], int] = {}

    def add(self, key: tuple[str, str], lat: float, lon: float) -> int:
        if key not in self._index:
            self._index[key] = len(self.coords)
            self.coords.append((lat, lon))
        return self._index[key]

    def get(self, key: tuple[str, str]) -> int | None:
        return self._index.get(key)


def cold_slots(rider: Rider, snapshot: PlanningSnapshot) -> int:
    """Cold-box slots the rider offers now: none while their box is quarantined."""
    return 0 if rider.id in snapshot.cold_unfit_riders else rider.cold_box_slots


def usable_riders(snapshot: PlanningSnapshot) -> list[Rider]:
    """Riders the planner may route: available, located, shift not over."""
    return [
        r
        for r in snapshot.riders
        if r.status is RiderStatus.AVAILABLE
        and r.position is not None
        and (r.shift_end_at is None or r.shift_end_at > snapshot.now)
    ]


def build_problem(
    snapshot: PlanningSnapshot,
    provider: MatrixProvider,
    params: PlanningParams | None = None,
) -> Translation:
    """Translate the snapshot into a routing problem (see module docstring).

    Defensive per item: an order, pharmacy or rider whose data raises while it is
    translated is set aside (an order with reason :data:`PLANNING_FAILED` or
    :data:`PHARMACY_UNUSABLE`, which the applied plan shows the dispatchers) and
    everything else is planned; a problem the routing model refuses is bisected
    to the orders that make it fail.
    """
    params = params or PlanningParams()
    now = snapshot.now
    orders = [o for o in snapshot.orders if o.status in PLANNABLE]
    picked = [o.picked_up_at for o in orders if o.picked_up_at is not None]
    origin = min([now, *picked])
    unusable_riders: dict[str, str] = {}
    riders = []
    for r in usable_riders(snapshot):
        try:
            _vehicle(r, 0, snapshot, params, origin, None)
        except Exception as exc:
            unusable_riders[r.id] = describe_error(exc)
            continue
        riders.append(r)
    rider_ids: set[str] = {r.id for r in riders}
    points = _Points()
    vehicles_start = {
        r.id: points.add(("rider", r.id), r.position.lat, r.position.lon)  # type: ignore[union-attr]
        for r in riders
    }
    jobs: list[Job] = []
    skipped: list[UnservableOrder] = []
    windows: dict[str, TimeWindow | bool | None] = {}
    unusable = dict(snapshot.invalid_pharmacies)
    for order in orders:
        try:
            job = _job(
                order,
                snapshot,
                params,
                points,
                windows,
                origin,
                rider_ids,
                skipped,
                unusable,
            )
        except Exception as exc:
            skipped.append(_set_aside(order.id, exc))
            continue
        if job is not None:
            jobs.append(job)
    job_ids = {j.id: j for j in jobs}
    locks = {r.id: _lock_of(r, snapshot, job_ids, params) for r in riders}
    for lock in locks.values():
        if lock is not None and lock[1] == "pickup":
            # the rider is driving to that pharmacy: it is no longer a choice
            job = job_ids[lock[0]]
            sites = tuple(p for p in job.pickups if p.ref == lock[2])
            job_ids[lock[0]] = replace(job, pickups=sites)
    jobs = [job_ids[j.id] for j in jobs]
    # a quarantined box takes nothing new, but goods already aboard (a pharmacist
    # released them) still need their slots to be delivered
    on_board_cold = Counter(j.on_board for j in jobs if j.on_board and _is_cold(j))
    vehicles = [
        _vehicle(r, vehicles_start[r.id], snapshot, params, origin, locks[r.id])
        for r in riders
    ]
    vehicles = [
        replace(v, capacity=(v.capacity[0], on_board_cold[v.id]))
        if v.id in snapshot.cold_unfit_riders
        else v
        for v in vehicles
    ]
    matrices = provider.matrices(
        points.coords or [(0.0, 0.0)], sorted({v.profile for v in vehicles}) or ["car"]
    )

    def make(subset: Sequence[Job]) -> RoutingProblem:
        kept = {j.id for j in subset}
        return RoutingProblem(
            durations=matrices.durations,
            distances=matrices.distances,
            vehicles=tuple(
                replace(v, locked_next=None)
                if v.locked_next is not None and v.locked_next[0] not in kept
                else v
                for v in vehicles
            ),
            jobs=tuple(subset),
        )

    problem = _isolating(make, jobs, skipped)
    try:
        initial = _initial(snapshot.previous, problem, points)
    except Exception:  # a warm start is optional
        initial = None
    return Translation(
        problem=problem,
        origin_at=origin,
        initial=initial,
        basis_orders={o.id: o.version for o in orders},
        basis_riders={r.id: r.version for r in snapshot.riders},
        skipped=tuple(skipped),
        basis_order_states={o.id: o for o in orders},
        unusable_pharmacies=unusable,
        unusable_riders=unusable_riders,
        rider_starts={r.id: r.position for r in riders if r.position is not None},
        time_zones=_time_zones(orders, snapshot.pharmacies),
        default_time_zone=next(
            (p.timezone for p in snapshot.pharmacies.values()), "UTC"
        ),
    )


def _time_zones(
    orders: Sequence[Order], pharmacies: Mapping[PharmacyId, Pharmacy]
) -> dict[str, str]:
    """Order id -> its pharmacy's time zone, for the orders that have one."""
    zones: dict[str, str] = {}
    for order in orders:
        pharmacy = (
            pharmacies.get(PharmacyId(order.pharmacy_id)) if order.pharmacy_id else None
        )
        if pharmacy is not None:
            zones[order.id] = pharmacy.timezone
    return zones


def _set_aside(order_id: str, exc: BaseException) -> UnservableOrder:
    return UnservableOrder(
        order_id,
        PLANNING_FAILED,
        f"the planner could not use this order's data ({describe_error(exc)})",
    )


def _lock_of(
    rider: Rider,
    snapshot: PlanningSnapshot,
    jobs: Mapping[str, Job],
    params: PlanningParams,
) -> tuple[str, LockKind, str | None] | None:
    if not params.lock_next_stop:
        return None
    try:
        return _locked_next(rider, snapshot, jobs)
    except Exception:  # an unreadable previous route pins nothing
        return None


def _isolating(
    make: Callable[[Sequence[Job]], RoutingProblem],
    jobs: list[Job],
    skipped: list[UnservableOrder],
) -> RoutingProblem:
    """``make(jobs)``; if the routing model refuses it, bisect to the jobs that
    make it fail, set them aside and make the problem without them."""
    try:
        return make(jobs)
    except Exception as exc:
        if not jobs:
            raise
        culprits = _culprits(make, jobs)
        if not culprits:
            raise  # only the whole fails (not one job's fault): the round fails
        first = exc
    bad = {j.id for j in culprits}
    for job in culprits:
        skipped.append(_set_aside(job.id, first))
    return make([j for j in jobs if j.id not in bad])


def _culprits(
    make: Callable[[Sequence[Job]], RoutingProblem], jobs: Sequence[Job]
) -> list[Job]:
    """The jobs of ``jobs`` (which ``make`` refuses) that ``make`` refuses alone."""
    if len(jobs) == 1:
        return list(jobs)
    mid = len(jobs) // 2
    found: list[Job] = []
    for half in (jobs[:mid], jobs[mid:]):
        try:
            make(half)
        except Exception:
            found += _culprits(make, half)
    return found


def _job(
    order: Order,
    snapshot: PlanningSnapshot,
    params: PlanningParams,
    points: _Points,
    windows: dict[str, TimeWindow | bool | None],
    origin: datetime,
    rider_ids: set[str],
    skipped: list[UnservableOrder],
    unusable: dict[str, str],
) -> Job | None:
    now = snapshot.now
    cold, skills, max_transit_s = _cargo(
        order, snapshot.products, params, snapshot.profiles
    )
    start_at = max(order.window_start_at, now)
    end_at = order.window_end_at
    if end_at <= start_at:  # already late: deliver as soon as possible
        end_at = start_at + params.late_grace
    delivery = Site(
        location=points.add(
            ("order", order.id),
            order.delivery_location.lat,
            order.delivery_location.lon,
        ),
        service_s=params.delivery_service_s,
        window=TimeWindow(_s(start_at, origin), _s(end_at, origin)),
        ref=order.id,
    )
    demand = (1, 1 if cold else 0)
    priority = 1 if order.priority is Priority.URGENT else 0
    if order.status is OrderStatus.PICKED_UP:
        if order.rider_id not in rider_ids:
            skipped.append(
                UnservableOrder(
                    order.id,
                    "rider_unavailable",
                    "its rider is off shift or has no position",
                )
            )
            return None
        picked_at = order.picked_up_at or now
        return Job(
            id=order.id,
            delivery=delivery,
            demand=demand,
            priority=priority,
            max_transit_s=max_transit_s,
            skills=skills,
            on_board=order.rider_id,
            picked_up_s=_s(picked_at, origin),
        )
    pickups = []
    # The pharmacy is chosen jointly when an order is first planned; once assigned
    # its stock has moved there, so it keeps that pharmacy (no churn, and a much
    # smaller model: only new orders bring several candidate pickups).
    joint = snapshot.sourcing_policy == "joint" and order.status is OrderStatus.SOURCED
    # a deactivated pharmacy takes no new orders: it stays only as the one the
    # order's stock is already reserved at
    candidates = (
        [p for p in order.candidate_pharmacy_ids if _active(snapshot, p)]
        if joint
        else []
    )
    if order.pharmacy_id and order.pharmacy_id not in candidates:
        candidates.insert(0, order.pharmacy_id)
    for pid in candidates:
        pharmacy = snapshot.pharmacies.get(PharmacyId(pid))
        if pharmacy is None or pid in unusable:
            continue
        if pid not in windows:
            try:
                windows[pid] = pickup_window(pharmacy, now, origin)
            except Exception as exc:  # e.g. a zone this host no longer knows
                unusable[pid] = describe_error(exc)
                continue
        window = windows[pid]
        if window is False:
            continue
        location = points.add(
            ("pharmacy", pid), pharmacy.location.lat, pharmacy.location.lon
        )
        pickups.append(
            Site(
                location,
                params.pickup_service_s,
                window if isinstance(window, TimeWindow) else None,
                ref=pid,
            )
        )
    if not pickups:
        broken = [pid for pid in candidates if pid in unusable]
        skipped.append(
            UnservableOrder(
                order.id,
                PHARMACY_UNUSABLE,
                "the planner cannot use the data of pharmacy "
                + ", ".join(broken)
                + " ("
                + "; ".join(sorted({unusable[pid] for pid in broken}))
                + "); set aside until it is corrected",
            )
            if broken
            else UnservableOrder(
                order.id, "no_reachable_pickup", "no candidate pharmacy opens in time"
            )
        )
        return None
    return Job(
        id=order.id,
        delivery=delivery,
        pickups=tuple(pickups),
        demand=demand,
        priority=priority,
        max_transit_s=max_transit_s,
        skills=skills,
    )


def _active(snapshot: PlanningSnapshot, pharmacy_id: str) -> bool:
    pharmacy = snapshot.pharmacies.get(PharmacyId(pharmacy_id))
    return pharmacy is None or pharmacy.active  # unknown ones are handled later


def _is_cold(job: Job) -> bool:
    return len(job.demand) > 1 and job.demand[1] > 0


def _vehicle(
    rider: Rider,
    start: int,
    snapshot: PlanningSnapshot,
    params: PlanningParams,
    origin: datetime,
    lock: tuple[str, LockKind, str | None] | None,
) -> Vehicle:
    end_s = _s(rider.shift_end_at, origin) if rider.shift_end_at else 2**31 - 1
    start_s = _s(snapshot.now, origin)
    return Vehicle(
        id=rider.id,
        start=start,
        start_s=start_s,
        end_s=max(end_s, start_s),
        capacity=(
            params.max_orders.get(rider.vehicle_type.value, 8),
            rider.cold_box_slots,
        ),
        profile=rider.vehicle_type.value,
        skills=frozenset(rider.skills),
        locked_next=(lock[0], lock[1]) if lock else None,
    )


def _locked_next(
    rider: Rider, snapshot: PlanningSnapshot, jobs: Mapping[str, Job]
) -> tuple[str, LockKind, str | None] | None:
    """The first still-open stop of the rider's previous route (they drive to it),
    as ``(order id, kind, pharmacy id)``; pickups only at a still-offered site."""
    previous = snapshot.previous
    if previous is None or previous.version == 0:
        return None  # version 0: a seed solution, never driven (see Replanner)
    route = next((r for r in previous.routes if r.rider_id == rider.id), None)
    if route is None:
        return None
    orders: dict[str, Order] = {o.id: o for o in snapshot.orders}
    for stop in route.stops:
        job = jobs.get(stop.order_id)
        order = orders.get(stop.order_id)
        if job is None or order is None:
            continue
        if stop.kind == "pickup":
            if job.on_board is not None:
                continue  # already collected
            offered = {p.ref for p in job.pickups}
            if order.rider_id != rider.id or stop.pharmacy_id not in offered:
                return None
            if _is_cold(job) and rider.id in snapshot.cold_unfit_riders:
                return None  # the box went into quarantine on the way
            return (stop.order_id, "pickup", stop.pharmacy_id)
        if job.on_board == rider.id:
            return (stop.order_id, "delivery", None)
        return None
    return None


def _initial(
    previous: Plan | None, problem: RoutingProblem, points: _Points
) -> RoutingSolution | None:
    """The previous plan as a warm start on the new problem's locations."""
    if previous is None:
        return None
    routes = []
    for route in previous.routes:
        visits = []
        for stop in route.stops:
            key = (
                ("pharmacy", stop.pharmacy_id or "")
                if stop.kind == "pickup"
                else ("order", stop.order_id)
            )
            location = points.get(key)
            if location is None:
                continue
            visits.append(
                Visit(
                    stop.order_id,
                    "pickup" if stop.kind == "pickup" else "delivery",
                    location,
                    stop.pharmacy_id or stop.order_id,
                    0,
                    0,
                    0,
                )
            )
        routes.append(Route(route.rider_id, tuple(visits), 0, 0))
    return RoutingSolution(routes=tuple(routes))


PINS_DROPPED = (
    "no plan could keep every rider's next stop; re-planned without next-stop pins"
)
"""Detail of a pin dropped by the unpinned re-plan: no patient data, OTP or token."""


def dropped_pins(
    pinned: RoutingProblem,
    solution: RoutingSolution,
    detail: str = PINS_DROPPED,
) -> tuple[ReleasedLock, ...]:
    """The next-stop pins of ``pinned`` that ``solution`` (solved without pins) drops.

    A vehicle's pin ``locked_next`` is kept when its ``(job id, kind)`` is the first
    visit of that vehicle's route in ``solution``; a vehicle with no route, or an
    empty one, keeps nothing. Each dropped pin becomes a :class:`ReleasedLock` with
    ``detail`` (so :func:`to_plan` reports it as a released stop), except for a
    vehicle ``solution.released_locks`` already names: no lock is reported twice.
    Kept pins are not reported. Pure.
    """
    declared = {lock.vehicle_id for lock in solution.released_locks}
    dropped: list[ReleasedLock] = []
    for vehicle in pinned.vehicles:
        pin = vehicle.locked_next
        if pin is None or vehicle.id in declared:
            continue
        route = solution.route_of(vehicle.id)
        first = route.visits[0] if route is not None and route.visits else None
        if first is not None and (first.job_id, first.kind) == pin:
            continue
        dropped.append(ReleasedLock(vehicle.id, pin[0], detail))
    return tuple(dropped)


def to_plan(
    translation: Translation,
    solution: RoutingSolution,
    *,
    version: int,
    created_at: datetime,
    trigger_reasons: Sequence[str] = (),
) -> Plan:
    """Read a routing solution back into rider routes and unservable orders."""
    origin = translation.origin_at
    routes = tuple(
        RiderRoute(
            rider_id=route.vehicle_id,
            stops=tuple(
                PlannedStop(
                    order_id=visit.job_id,
                    kind=visit.kind,
                    pharmacy_id=visit.site_ref if visit.kind == "pickup" else None,
                    arrival_at=origin + timedelta(seconds=visit.arrival_s),
                    late_s=visit.late_s,
                )
                for visit in route.visits
            ),
            duration_s=route.duration_s,
            distance_m=route.distance_m,
            start=translation.rider_starts.get(route.vehicle_id),
        )
        for route in solution.routes
        if route.visits
    )
    fallback = translation.default_time_zone
    unassigned = (
        tuple(
            explain(u, origin, translation.time_zones.get(u.job_id, fallback))
            for u in solution.unassigned
        )
        + translation.skipped
    )
    return Plan(
        version=version,
        created_at=created_at,
        status=solution.status,
        cost=solution.cost,
        solve_time_s=solution.solve_time_s,
        routes=routes,
        unassigned=unassigned,
        basis_orders=dict(translation.basis_orders),
        basis_riders=dict(translation.basis_riders),
        trigger_reasons=tuple(trigger_reasons),
        basis_order_states=dict(translation.basis_order_states),
        released_stops=tuple(
            ReleasedStop(
                lock.vehicle_id,
                lock.job_id,
                lock.detail
                if lock.why is None
                else explain(
                    lock.why, origin, translation.time_zones.get(lock.job_id, fallback)
                ).detail,
            )
            for lock in solution.released_locks
        ),
    )
