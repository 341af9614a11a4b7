"""The dispatch core: orders, stock (FEFO), riders, holds, OTP proof, audit, plans.

Public service surface (each command takes a :class:`Tx` from
``Database.transaction()``; the caller owns the unit of work)::

    with database.transaction() as tx:
        order = submit_order(tx, request, actor="api:alice")

Names are loaded lazily so importing a leaf module (``dispatch.model``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # unit of work and wiring
    "Database": "dispatch.adapters.postgres",
    "Tx": "dispatch.adapters.postgres",
    "DispatchContext": "dispatch.context",
    "DispatchSettings": "dispatch.settings",
    "SolverPool": "dispatch.adapters.solver_pool",
    "Replanner": "dispatch.replanner",
    "OutboxNotifier": "dispatch.adapters.outbox",
    "RecordingPublisher": "dispatch.adapters.memory",
    "FanoutPublisher": "dispatch.adapters.memory",
    "FixedClock": "dispatch.adapters.memory",
    # ports
    "EventPublisher": "dispatch.ports",
    "Notifier": "dispatch.ports",
    "PatientMessage": "dispatch.ports",
    "Clock": "dispatch.ports",
    # catalogue and fleet
    "register_pharmacy": "dispatch.catalogue",
    "register_product": "dispatch.catalogue",
    "receive_lot": "dispatch.catalogue",
    "set_temperature_profile": "dispatch.catalogue",
    "list_lots": "dispatch.catalogue",
    "list_pharmacies": "dispatch.catalogue",
    "list_temperature_profiles": "dispatch.catalogue",
    "get_products": "dispatch.catalogue",
    "get_cold_box": "dispatch.fleet",
    "get_rider": "dispatch.fleet",
    "list_riders": "dispatch.fleet",
    "orders_in_box": "dispatch.fleet",
    "register_rider": "dispatch.fleet",
    "register_cold_box": "dispatch.fleet",
    "start_shift": "dispatch.fleet",
    "end_shift": "dispatch.fleet",
    "set_rider_status": "dispatch.fleet",
    "update_position": "dispatch.fleet",
    # orders
    "submit_order": "dispatch.intake",
    "assign_order": "dispatch.fulfilment",
    "unassign_order": "dispatch.fulfilment",
    "mark_picked_up": "dispatch.fulfilment",
    "cancel_order": "dispatch.fulfilment",
    "fail_delivery": "dispatch.fulfilment",
    "get_order": "dispatch.queries",
    "list_orders": "dispatch.queries",
    "order_history": "dispatch.queries",
    # holds (called by telemetry on excursions)
    "place_hold": "dispatch.holds",
    "release_hold": "dispatch.holds",
    "reject_hold": "dispatch.holds",
    "get_hold": "dispatch.holds",
    "list_open_holds": "dispatch.holds",
    # proof of delivery
    "issue_otp": "dispatch.proof",
    "complete_delivery": "dispatch.proof",
    "attach_temperature_record": "dispatch.proof",
    "get_proof": "dispatch.proof",
    # patient data (audited reads)
    "reveal_contact": "dispatch.patients",
    "read_patient_messages": "dispatch.patients",
    # plans
    "take_snapshot": "dispatch.plans",
    "apply_plan": "dispatch.plans",
    "current_plan": "dispatch.plans",
    # audit
    "verify_database": "dispatch.adapters.postgres_audit",
    "list_audit_entries": "dispatch.queries",
    # domain types
    "GeoPoint": "dispatch.model",
    "Pharmacy": "dispatch.model",
    "OpeningInterval": "dispatch.model",
    "Product": "dispatch.model",
    "StorageClass": "dispatch.model",
    "StockLot": "dispatch.model",
    "Rider": "dispatch.model",
    "RiderStatus": "dispatch.model",
    "VehicleType": "dispatch.model",
    "ColdBox": "dispatch.model",
    "TemperatureProfile": "dispatch.model",
    "Order": "dispatch.orders",
    "OrderLine": "dispatch.orders",
    "OrderRequest": "dispatch.orders",
    "OrderStatus": "dispatch.orders",
    "PatientContact": "dispatch.orders",
    "Priority": "dispatch.orders",
    "ProofLevel": "dispatch.orders",
    "IdCheck": "dispatch.pod",
    "ProofPolicy": "dispatch.pod",
    "Plan": "dispatch.plan",
    "ServiceArea": "dispatch.geo",
    "DispatchError": "dispatch.errors",
}

__all__ = [
    "Clock",
    "ColdBox",
    "Database",
    "DispatchContext",
    "DispatchError",
    "DispatchSettings",
    "EventPublisher",
    "FanoutPublisher",
    "FixedClock",
    "GeoPoint",
    "IdCheck",
    "Notifier",
    "OpeningInterval",
    "Order",
    "OrderLine",
    "OrderRequest",
    "OrderStatus",
    "OutboxNotifier",
    "PatientContact",
    "PatientMessage",
    "Pharmacy",
    "Plan",
    "Priority",
    "Product",
    "ProofLevel",
    "ProofPolicy",
    "RecordingPublisher",
    "Replanner",
    "Rider",
    "RiderStatus",
    "ServiceArea",
    "SolverPool",
    "StockLot",
    "StorageClass",
    "TemperatureProfile",
    "Tx",
    "VehicleType",
    "apply_plan",
    "assign_order",
    "attach_temperature_record",
    "cancel_order",
    "complete_delivery",
    "current_plan",
    "end_shift",
    "fail_delivery",
    "get_cold_box",
    "get_hold",
    "get_order",
    "get_products",
    "get_proof",
    "get_rider",
    "issue_otp",
    "list_audit_entries",
    "list_lots",
    "list_open_holds",
    "list_orders",
    "list_pharmacies",
    "list_riders",
    "list_temperature_profiles",
    "mark_picked_up",
    "order_history",
    "orders_in_box",
    "place_hold",
    "read_patient_messages",
    "receive_lot",
    "register_cold_box",
    "register_pharmacy",
    "register_product",
    "register_rider",
    "reject_hold",
    "release_hold",
    "reveal_contact",
    "set_rider_status",
    "set_temperature_profile",
    "start_shift",
    "submit_order",
    "take_snapshot",
    "unassign_order",
    "update_position",
    "verify_database",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from dispatch.adapters.memory import FanoutPublisher, FixedClock, RecordingPublisher
    from dispatch.adapters.outbox import OutboxNotifier
    from dispatch.adapters.postgres import Database, Tx
    from dispatch.adapters.postgres_audit import verify_database
    from dispatch.adapters.solver_pool import SolverPool
    from dispatch.catalogue import (
        get_products,
        list_lots,
        list_pharmacies,
        list_temperature_profiles,
        receive_lot,
        register_pharmacy,
        register_product,
        set_temperature_profile,
    )
    from dispatch.context import DispatchContext
    from dispatch.errors import DispatchError
    from dispatch.fleet import (
        end_shift,
        get_cold_box,
        get_rider,
        list_riders,
        orders_in_box,
        register_cold_box,
        register_rider,
        set_rider_status,
        start_shift,
        update_position,
    )
    from dispatch.fulfilment import (
        assign_order,
        cancel_order,
        fail_delivery,
        mark_picked_up,
        unassign_order,
    )
    from dispatch.geo import ServiceArea
    from dispatch.holds import (
        get_hold,
        list_open_holds,
        place_hold,
        reject_hold,
        release_hold,
    )
    from dispatch.intake import submit_order
    from dispatch.model import (
        ColdBox,
        GeoPoint,
        OpeningInterval,
        Pharmacy,
        Product,
        Rider,
        RiderStatus,
        StockLot,
        StorageClass,
        TemperatureProfile,
        VehicleType,
    )
    from dispatch.orders import (
        Order,
        OrderLine,
        OrderRequest,
        OrderStatus,
        PatientContact,
        Priority,
        ProofLevel,
    )
    from dispatch.patients import read_patient_messages, reveal_contact
    from dispatch.plan import Plan
    from dispatch.plans import apply_plan, current_plan, take_snapshot
    from dispatch.pod import IdCheck, ProofPolicy
    from dispatch.ports import Clock, EventPublisher, Notifier, PatientMessage
    from dispatch.proof import (
        attach_temperature_record,
        complete_delivery,
        get_proof,
        issue_otp,
    )
    from dispatch.queries import (
        get_order,
        list_audit_entries,
        list_orders,
        order_history,
    )
    from dispatch.replanner import Replanner
    from dispatch.settings import DispatchSettings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dispatch' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
