"""What happened in a run, as the simulator saw it (input of the KPI report).

The agents fill a :class:`RunLog` while the run goes on: one record per order,
rider shift, rider leg, injected failure and detected alert. It round-trips
through JSON so a run can be reported on later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "DetectedExcursion",
    "InjectedExcursion",
    "OrderOutcome",
    "OrderStatus",
    "RiderLeg",
    "RiderShift",
    "RunLog",
]


class OrderStatus(StrEnum):
    """Where an order ended when the run stopped."""

    DELIVERED = "delivered"
    FAILED_NOT_HOME = "failed_not_home"
    FAILED_OTHER = "failed_other"
    HELD = "held"  # put on hold after a cold-chain excursion
    UNASSIGNED = "unassigned"  # the engine said it cannot be served
    CANCELLED = "cancelled"
    OPEN = "open"  # still in progress at the end of the run


@dataclass
class OrderOutcome:
    """One order's story; ``exposed`` is ground truth: its box was in an
    excursion while the order was on board."""

    ref: str
    created_at: datetime
    due_at: datetime
    cold_chain: bool
    urgent: bool
    status: OrderStatus = OrderStatus.OPEN
    assigned_at: datetime | None = None  # first on a rider's route
    picked_up_at: datetime | None = None
    handoff_at: datetime | None = None  # the rider last sent the patient's code
    delivered_at: datetime | None = None
    # when the run saw it end otherwise (failed, held, refused); None: at the
    # end of the run, or delivered (``delivered_at``)
    closed_at: datetime | None = None
    rider: str | None = None
    otp_failures: int = 0
    exposed: bool = False


@dataclass(frozen=True)
class RiderShift:
    """A rider's time on shift (the denominator of orders per rider-hour)."""

    rider: str
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True)
class RiderLeg:
    """One drive between two stops along the road network."""

    rider: str
    start_at: datetime
    end_at: datetime
    distance_m: float


@dataclass(frozen=True)
class InjectedExcursion:
    """Ground truth of a box failure: when it left its range (``true_exit_at``)
    and when that became an excursion under the cold-chain rule."""

    box: str
    failed_at: datetime
    mode: str
    true_exit_at: datetime | None
    true_excursion_at: datetime | None = None


@dataclass(frozen=True)
class DetectedExcursion:
    """An excursion alert the system raised for a box."""

    box: str
    alerted_at: datetime


@dataclass
class RunLog:
    """Everything the report needs about one run of one dispatch policy."""

    policy: str
    scenario: str
    started_at: datetime
    ended_at: datetime
    orders: list[OrderOutcome] = field(default_factory=list)
    shifts: list[RiderShift] = field(default_factory=list)
    legs: list[RiderLeg] = field(default_factory=list)
    injected: list[InjectedExcursion] = field(default_factory=list)
    detected: list[DetectedExcursion] = field(default_factory=list)
    # true excursions no injected failure caused (mode "natural")
    natural: list[InjectedExcursion] = field(default_factory=list)

    def to_json(self) -> bytes:
        """The log as JSON (datetimes in RFC 3339)."""
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    def save(self, path: Path) -> None:
        """Write the log to ``path``."""
        path.write_bytes(self.to_json())

    @classmethod
    def from_json(cls, raw: bytes) -> RunLog:
        """Read a log written by :meth:`to_json`."""
        data = orjson.loads(raw)
        return cls(
            policy=data["policy"],
            scenario=data["scenario"],
            started_at=_dt(data["started_at"]),
            ended_at=_dt(data["ended_at"]),
            orders=[_load(OrderOutcome, x) for x in data["orders"]],
            shifts=[_load(RiderShift, x) for x in data["shifts"]],
            legs=[_load(RiderLeg, x) for x in data["legs"]],
            injected=[_load(InjectedExcursion, x) for x in data["injected"]],
            detected=[_load(DetectedExcursion, x) for x in data["detected"]],
            natural=[_load(InjectedExcursion, x) for x in data.get("natural", [])],
        )


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _load(kind: type[Any], raw: dict[str, Any]) -> Any:
    values = {}
    for f in fields(kind):
        value = raw.get(f.name)
        if isinstance(value, str) and f.name.endswith("_at"):
            value = _dt(value)
        elif f.name == "status" and value is not None:
            value = OrderStatus(value)
        if f.name in raw:
            values[f.name] = value
    return kind(**values)
