"""The greedy baseline's choice: oldest order first, nearest idle capable rider."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from dispatch.context import DispatchContext
from dispatch.crypto import PatientDataCipher
from dispatch.domain import (
    GeoPoint,
    Pharmacy,
    PharmacyId,
    Product,
    Rider,
    RiderId,
    RiderStatus,
    Sku,
    StorageClass,
    VehicleType,
)
from dispatch.orders.order import (
    Order,
    OrderId,
    OrderLine,
    OrderStatus,
    Priority,
    ProofLevel,
)
from dispatch.planning.greedy import choose_assignments
from dispatch.planning.problem import PlanningSnapshot
from dispatch.settings import DispatchSettings

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)
VALLETTA = Pharmacy(PharmacyId("ph-v"), "V", GeoPoint(35.8989, 14.5146), "L1")
MDINA = Pharmacy(PharmacyId("ph-m"), "M", GeoPoint(35.8859, 14.4035), "L2")
AMOX = Product(Sku("AMOX"), "Amoxicillin")
INSULIN = Product(Sku("INS"), "Insulin", StorageClass.REFRIGERATED)
MORPHINE = Product(Sku("MOR"), "Morphine", controlled_schedule="CII")


def rider(
    rid: str,
    at: GeoPoint,
    *,
    slots: int = 0,
    skills: frozenset[str] = frozenset(),
    status: RiderStatus = RiderStatus.AVAILABLE,
) -> Rider:
    return Rider(
        RiderId(rid),
        rid,
        VehicleType.SCOOTER,
        slots,
        skills,
        NOW - timedelta(hours=1),
        NOW + timedelta(hours=6),
        at,
        NOW,
        status,
    )


def order(
    oid: str,
    minutes_ago: int,
    *,
    sku: Sku = AMOX.sku,
    pharmacy: Pharmacy = VALLETTA,
    status: OrderStatus = OrderStatus.SOURCED,
    rider_id: str | None = None,
) -> Order:
    return Order(
        id=OrderId(oid),
        patient_ref="p",
        delivery_location=GeoPoint(35.9, 14.5),
        lines=(OrderLine(sku, 1),),
        window_start_at=NOW,
        window_end_at=NOW + timedelta(hours=2),
        priority=Priority.STANDARD,
        proof_level=ProofLevel.OTP,
        idempotency_key=oid,
        status=status,
        created_at=NOW - timedelta(minutes=minutes_ago),
        pharmacy_id=pharmacy.id,
        rider_id=RiderId(rider_id) if rider_id else None,
    )


def snapshot(orders: list[Order], riders: list[Rider]) -> PlanningSnapshot:
    return PlanningSnapshot(
        now=NOW,
        riders=tuple(riders),
        orders=tuple(orders),
        pharmacies={VALLETTA.id: VALLETTA, MDINA.id: MDINA},
        products={p.sku: p for p in (AMOX, INSULIN, MORPHINE)},
        profiles={},
    )


NEAR_V = GeoPoint(35.897, 14.512)
NEAR_M = GeoPoint(35.887, 14.405)


def test_oldest_order_gets_the_nearest_idle_rider_one_order_each() -> None:
    """Two riders, three orders: the two oldest are served, each by one rider;
    the oldest takes the rider nearest to its pharmacy."""
    snap = snapshot(
        [order("o-new", 1), order("o-old", 30, pharmacy=MDINA), order("o-mid", 10)],
        [rider("r-v", NEAR_V), rider("r-m", NEAR_M)],
    )
    got = [(a.order_id, a.rider_id) for a in choose_assignments(snap)]
    assert got == [("o-old", "r-m"), ("o-mid", "r-v")]


def test_busy_off_shift_and_unplaced_riders_are_not_idle() -> None:
    """A rider carrying an order, one on break and one without a position wait."""
    busy = rider("r-busy", NEAR_V)
    brk = rider("r-break", NEAR_V, status=RiderStatus.ON_BREAK)
    lost = Rider(
        RiderId("r-lost"),
        "x",
        VehicleType.CAR,
        0,
        frozenset(),
        NOW,
        NOW + timedelta(hours=1),
        None,
        None,
        RiderStatus.AVAILABLE,
    )
    far = rider("r-far", NEAR_M)
    snap = snapshot(
        [
            order("o-carried", 60, status=OrderStatus.PICKED_UP, rider_id="r-busy"),
            order("o-1", 5),
        ],
        [busy, brk, lost, far],
    )
    assert [(a.order_id, a.rider_id) for a in choose_assignments(snap)] == [
        ("o-1", "r-far")
    ]


def test_cold_and_controlled_goods_need_a_capable_rider() -> None:
    """Insulin skips the nearest rider without a cold box; morphine needs the
    controlled skill; an order nobody can carry waits without blocking others."""
    plain = rider("r-plain", NEAR_V)
    cold = rider("r-cold", NEAR_M, slots=2)
    snap = snapshot(
        [
            order("o-mor", 20, sku=MORPHINE.sku),
            order("o-ins", 10, sku=INSULIN.sku),
            order("o-amox", 5),
        ],
        [plain, cold],
    )
    got = [(a.order_id, a.rider_id) for a in choose_assignments(snap)]
    assert got == [("o-ins", "r-cold"), ("o-amox", "r-plain")]


def test_no_idle_rider_means_no_assignment() -> None:
    """Every order waits when nobody is idle (no queueing onto busy riders)."""
    snap = snapshot(
        [order("o-a", 9, status=OrderStatus.ASSIGNED, rider_id="r-1"), order("o-b", 1)],
        [rider("r-1", NEAR_V)],
    )
    assert choose_assignments(snap) == []


def test_policy_settings_are_coherent() -> None:
    """greedy implies nearest sourcing; greedy with joint sourcing is refused."""
    assert DispatchSettings(policy="greedy").effective_sourcing_policy() == "nearest"
    assert DispatchSettings().effective_sourcing_policy() == "joint"
    nearest = DispatchSettings(sourcing_policy="nearest")
    assert nearest.effective_sourcing_policy() == "nearest"
    with pytest.raises(ValueError, match="greedy"):
        DispatchSettings(policy="greedy", sourcing_policy="joint")
    greedy = DispatchSettings(
        policy="greedy",
        data_key=SecretStr("k" * 32),
        otp_pepper=SecretStr("p" * 32),
        audit_key=SecretStr("a" * 32),
    )
    ctx = DispatchContext.from_settings(greedy)
    assert (ctx.dispatch_policy, ctx.sourcing_policy) == ("greedy", "nearest")
    with pytest.raises(ValueError, match="nearest"):
        DispatchContext(PatientDataCipher("k" * 32), b"p", dispatch_policy="greedy")


def test_rider_with_a_quarantined_box_gets_no_cold_order() -> None:
    """Insulin skips the nearest cold rider whose box is quarantined (an open
    temperature excursion) and goes to the farther one; the quarantined rider
    still takes ambient goods."""
    unfit = rider("r-unfit", NEAR_V, slots=2)
    fit = rider("r-fit", NEAR_M, slots=2)
    snap = replace(
        snapshot(
            [order("o-ins", 10, sku=INSULIN.sku), order("o-amox", 5)], [unfit, fit]
        ),
        cold_unfit_riders=frozenset({"r-unfit"}),
    )
    got = [(a.order_id, a.rider_id) for a in choose_assignments(snap)]
    assert got == [("o-ins", "r-fit"), ("o-amox", "r-unfit")]
    alone = replace(snap, riders=(unfit,))
    assert [(a.order_id, a.rider_id) for a in choose_assignments(alone)] == [
        ("o-amox", "r-unfit")
    ]


def test_an_order_whose_data_breaks_is_skipped_not_fatal() -> None:
    """Issue 20: one unreadable order must not stop greedy dispatch either."""
    from dataclasses import replace as _replace

    from dispatch.domain import Sku
    from dispatch.orders.order import OrderLine
    from dispatch.planning.greedy import choose_assignments
    from tests.unit.dispatch.planning.test_problem import order, rider, snapshot

    broken = _replace(order("o-bad"), lines=(OrderLine(Sku("GONE"), 1),))
    chosen = choose_assignments(snapshot([broken, order("o-ok")], riders=(rider(),)))
    assert [c.order_id for c in chosen] == ["o-ok"]
