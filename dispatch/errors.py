"""The one exception tree of the dispatch core; every class has a stable ``code``.

::

    DispatchError
    ├── NotFound                         (API: 404)
    │   ├── OrderNotFound, PharmacyNotFound, ProductNotFound (unknown SKU)
    │   ├── RiderNotFound, ColdBoxNotFound, OtpNotIssued, PlanNotFound, HoldNotFound
    ├── Conflict                         (API: 409)
    │   ├── IllegalTransition            (state machine refuses the move)
    │   ├── OtpAlreadyUsed               (OTP replay)
    │   ├── OtpLocked                    (too many wrong codes earlier)
    │   ├── OtpStillValid                (re-issue asked for a usable OTP)
    │   ├── PlanVersionConflict          (plan computed on stale state)
    │   ├── NotLeader                    (a planner that lost its lease writes)
    │   ├── IdempotencyKeyReused         (same key, different order body)
    │   ├── DuplicateEntity              (id already exists)
    │   ├── HoldAlreadyDecided           (hold released or rejected before)
    │   └── UndecryptableData            (ciphertext tampered with or moved)
    ├── RuleViolation                    (API: 422)
    │   ├── InvalidQuantity, InvalidTimeWindow, OutsideServiceArea
    │   ├── NoPharmacyHasStock, InsufficientStock, InvalidInput
    │   ├── LotMismatch                  (scanned lots are not the order's lots)
    │   ├── OtpMismatch, OtpExpired, ProofOutsideRadius, ProofIncomplete
    ├── TooManyAttempts                  (API: 429)
    │   └── OtpAttemptsExceeded
    └── Unavailable                      (API: 503)
        ├── SolverBusy, SolverTimedOut, PlanDegraded

Messages are built from ids and rule names only, never from patient data, OTPs or
tokens. ``keeps_changes`` marks errors whose state changes (e.g. a counted OTP
attempt) must still be committed:
:class:`dispatch.adapters.postgres.unit_of_work.Database` commits before
re-raising them.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ColdBoxNotFound",
    "Conflict",
    "DispatchError",
    "DuplicateEntity",
    "HoldAlreadyDecided",
    "HoldNotFound",
    "IdempotencyKeyReused",
    "IllegalTransition",
    "InsufficientStock",
    "InvalidInput",
    "InvalidQuantity",
    "InvalidTimeWindow",
    "LotMismatch",
    "NoPharmacyHasStock",
    "NotFound",
    "NotLeader",
    "OrderNotFound",
    "OtpAlreadyUsed",
    "OtpAttemptsExceeded",
    "OtpExpired",
    "OtpLocked",
    "OtpMismatch",
    "OtpNotIssued",
    "OtpStillValid",
    "OutsideServiceArea",
    "PharmacyNotFound",
    "PlanDegraded",
    "PlanNotFound",
    "PlanVersionConflict",
    "ProductNotFound",
    "ProofIncomplete",
    "ProofOutsideRadius",
    "RiderNotFound",
    "RuleViolation",
    "SolverBusy",
    "SolverTimedOut",
    "TooManyAttempts",
    "Unavailable",
    "UndecryptableData",
]


class DispatchError(Exception):
    """Base of every error the dispatch core raises on purpose."""

    code: ClassVar[str] = "dispatch_error"
    keeps_changes: ClassVar[bool] = False
    retry_after_s: int | None = None


class NotFound(DispatchError):  # noqa: N818
    """A referenced entity does not exist."""

    code = "not_found"


class Conflict(DispatchError):  # noqa: N818
    """The request clashes with the current state."""

    code = "conflict"


class RuleViolation(DispatchError):  # noqa: N818
    """The request breaks a business rule or is malformed."""

    code = "rule_violation"


class TooManyAttempts(DispatchError):  # noqa: N818
    """A rate or attempt limit was reached."""

    code = "too_many_attempts"


class Unavailable(DispatchError):  # noqa: N818
    """A dependency is busy or down; retry later."""

    code = "unavailable"
    retry_after_s = 5


class _Missing(NotFound):
    entity: ClassVar[str] = "entity"

    def __init__(self, entity_id: str) -> None:
        super().__init__(f"{self.entity} {entity_id!r} not found")
        self.entity_id = entity_id


class OrderNotFound(_Missing):
    """No order with this id."""

    code = "order_not_found"
    entity = "order"


class PharmacyNotFound(_Missing):
    """No pharmacy with this id."""

    code = "pharmacy_not_found"
    entity = "pharmacy"


class ProductNotFound(_Missing):
    """Unknown SKU."""

    code = "unknown_sku"
    entity = "product"


class RiderNotFound(_Missing):
    """No rider with this id."""

    code = "rider_not_found"
    entity = "rider"


class ColdBoxNotFound(_Missing):
    """No cold box with this id."""

    code = "cold_box_not_found"
    entity = "cold box"


class PlanNotFound(_Missing):
    """No plan has been applied yet (or no plan with this version)."""

    code = "plan_not_found"
    entity = "plan"


class OtpNotIssued(_Missing):
    """The order has no OTP to verify."""

    code = "otp_not_issued"
    entity = "OTP for order"


class IllegalTransition(Conflict):
    """The order state machine does not allow this move."""

    code = "illegal_transition"

    def __init__(self, order_id: str, current: str, target: str) -> None:
        super().__init__(f"order {order_id!r} cannot go from {current} to {target}")
        self.order_id, self.current, self.target = order_id, current, target


class HoldNotFound(_Missing):
    """No hold with this id."""

    code = "hold_not_found"
    entity = "hold"


class HoldAlreadyDecided(Conflict):
    """The hold was already released or rejected."""

    code = "hold_already_decided"


class UndecryptableData(Conflict):
    """Stored ciphertext was tampered with, moved, or written under another key."""

    code = "undecryptable_data"


class OtpAlreadyUsed(Conflict):
    """The OTP was already used (replay)."""

    code = "otp_already_used"


class OtpStillValid(Conflict):
    """A re-issue was asked for an OTP the patient can still use."""

    code = "otp_still_valid"


class OtpLocked(Conflict):
    """The OTP is locked after too many wrong attempts; the dispatcher was told."""

    code = "otp_locked"


class PlanVersionConflict(Conflict):
    """A plan computed on stale state is not applied."""

    code = "plan_version_conflict"


class NotLeader(Conflict):
    """A re-planner that no longer holds the leader lease may not write a plan."""

    code = "not_leader"


class IdempotencyKeyReused(Conflict):
    """The idempotency key was used before with a different order."""

    code = "idempotency_key_reused"


class DuplicateEntity(Conflict):
    """An entity with this id already exists."""

    code = "duplicate_entity"


class InvalidInput(RuleViolation):
    """A field is malformed (empty id, bad enum value ...); ``field``, when
    given, names it (dotted) so the API can point at it."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidQuantity(RuleViolation):
    """A quantity is zero, negative or not an integer."""

    code = "invalid_quantity"


class InvalidTimeWindow(RuleViolation):
    """A window is inverted, in the past, or naive."""

    code = "invalid_time_window"


class OutsideServiceArea(RuleViolation):
    """Coordinates lie outside the configured service area; ``field`` names the
    input that holds them (dotted, e.g. ``delivery_location``)."""

    code = "outside_service_area"

    def __init__(self, message: str, *, field: str = "location") -> None:
        super().__init__(message)
        self.field = field


class NoPharmacyHasStock(RuleViolation):
    """No pharmacy holds every line in lots that live long enough."""

    code = "no_pharmacy_has_stock"


class InsufficientStock(RuleViolation):
    """The chosen pharmacy no longer holds enough usable stock."""

    code = "insufficient_stock"


class LotMismatch(RuleViolation):
    """The lots scanned at pickup are not exactly the lots reserved for the order."""

    code = "lot_mismatch"

    def __init__(self, order_id: str) -> None:
        # no counts: "1 missing, 0 unexpected" would guide guessing
        super().__init__(
            f"scanned lots of order {order_id!r} do not match its pick list"
        )


class OtpMismatch(RuleViolation):
    """Wrong OTP; the attempt is counted."""

    code = "otp_mismatch"
    keeps_changes = True

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"wrong code, {attempts_left} attempt(s) left")
        self.attempts_left = attempts_left


class OtpExpired(RuleViolation):
    """The OTP expired; issue a new one."""

    code = "otp_expired"


class ProofOutsideRadius(RuleViolation):
    """The rider is too far from the delivery point to complete it."""

    code = "proof_outside_radius"

    def __init__(self, distance_m: float, radius_m: float) -> None:
        super().__init__(
            f"rider is {distance_m:.0f} m from the delivery point"
            f" (limit {radius_m:.0f} m)"
        )
        self.distance_m, self.radius_m = distance_m, radius_m


class ProofIncomplete(RuleViolation):
    """The order's proof level needs an ID check and/or a signature."""

    code = "proof_incomplete"


class OtpAttemptsExceeded(TooManyAttempts):
    """The last allowed attempt failed; the OTP is now locked."""

    code = "otp_attempts_exceeded"
    keeps_changes = True


class SolverBusy(Unavailable):
    """The solver is already running a plan."""

    code = "solver_busy"


class PlanDegraded(Unavailable):
    """The solver ran out of time with a worse plan than the current one (kept)."""

    code = "plan_degraded"


class SolverTimedOut(Unavailable):
    """The solver missed its deadline."""

    code = "solver_timed_out"
