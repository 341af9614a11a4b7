"""KPIs of a run (JSON, a readable table) and its day over time (a PNG chart,
:mod:`simulator.day_chart`), side by side per policy.

Definitions (all computed from a :class:`~simulator.runlog.RunLog`):

- ``on_time_pct``: orders delivered by their promised time, over the orders the
  dispatcher could serve (all orders minus patients not home, cold-chain holds
  and cancellations); unassigned and unfinished orders count as late.
- ``order_to_door_p50_min``/``p95``: creation to delivery, delivered orders.
- ``assignment_p50_min``/``p95``: creation to the order's first appearance on a
  rider's route (as the rider's app saw it), orders that got there; it shows
  whether dispatch keeps up with the demand (and the time warp).
- ``travel_km_per_order``/``travel_min_per_order``: all rider driving over
  delivered orders; ``orders_per_rider_hour``: delivered over hours on shift.
- ``excursions_injected``: injected box failures that became real excursions
  under the scenario's cold-chain rule during the run; ``excursions_detected``:
  those with an alert on the same box (raised after the box left its range, 60 s
  of slack for sensor noise); ``detection_delay``: from the moment the rule
  tripped (ground truth) to the alert; negative if the system alarmed earlier.
- ``natural_excursions``/``natural_detected``: the same for true excursions that
  no injected failure caused (heat, door openings, spent packs).
- ``false_alarms``: excursion alerts on boxes with no true excursion at all.
- ``cold_chain_delivered_after_excursion``: cold-chain orders delivered although
  their box was in an excursion while they were on board (must be 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import orjson

from simulator.day_chart import draw_day
from simulator.runlog import DetectedExcursion, InjectedExcursion, OrderStatus, RunLog
from simulator.timeline import day_series

__all__ = ["Kpis", "compare", "compute_kpis", "format_table", "write_report"]

_EARLY_ALERT_TOLERANCE = timedelta(seconds=60)
_NOT_THE_DISPATCHERS = {
    OrderStatus.FAILED_NOT_HOME,
    OrderStatus.HELD,
    OrderStatus.CANCELLED,
}


@dataclass(frozen=True)
class Kpis:
    """The headline numbers of one run (None: not defined, e.g. nothing delivered)."""

    policy: str
    orders: int
    delivered: int
    on_time_pct: float | None
    order_to_door_p50_min: float | None
    order_to_door_p95_min: float | None
    assignment_p50_min: float | None
    assignment_p95_min: float | None
    travel_km_per_order: float | None
    travel_min_per_order: float | None
    orders_per_rider_hour: float | None
    unassigned: int
    open_at_end: int
    held: int
    failed_not_home: int
    excursions_injected: int
    excursions_detected: int
    natural_excursions: int
    natural_detected: int
    false_alarms: int
    detection_delay_p50_s: float | None
    detection_delay_max_s: float | None
    cold_chain_delivered_after_excursion: int
    otp_failures: int


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def compute_kpis(log: RunLog) -> Kpis:
    """The KPIs of ``log`` (see the module docstring for definitions)."""
    delivered = [
        o for o in log.orders if o.status is OrderStatus.DELIVERED and o.delivered_at
    ]
    servable = [o for o in log.orders if o.status not in _NOT_THE_DISPATCHERS]
    on_time = [o for o in delivered if o.delivered_at and o.delivered_at <= o.due_at]
    door_min = [
        (o.delivered_at - o.created_at).total_seconds() / 60
        for o in delivered
        if o.delivered_at
    ]
    assign_min = [
        (o.assigned_at - o.created_at).total_seconds() / 60
        for o in log.orders
        if o.assigned_at
    ]
    travel_m = sum(leg.distance_m for leg in log.legs)
    travel_s = sum((leg.end_at - leg.start_at).total_seconds() for leg in log.legs)
    shift_h = (
        sum(
            max(
                0.0,
                (
                    min(s.end_at, log.ended_at) - max(s.start_at, log.started_at)
                ).total_seconds(),
            )
            for s in log.shifts
        )
        / 3600
    )
    matched, natural, false_alarms = _match_alerts(log)
    delays = [d for d in matched.values() if d is not None]
    count = {status: 0 for status in OrderStatus}
    for order in log.orders:
        count[order.status] += 1
    pct = _ratio(100 * len(on_time), len(servable))
    return Kpis(
        policy=log.policy,
        orders=len(log.orders),
        delivered=len(delivered),
        on_time_pct=pct,
        order_to_door_p50_min=_percentile(door_min, 50),
        order_to_door_p95_min=_percentile(door_min, 95),
        assignment_p50_min=_percentile(assign_min, 50),
        assignment_p95_min=_percentile(assign_min, 95),
        travel_km_per_order=_ratio(travel_m / 1000, len(delivered)),
        travel_min_per_order=_ratio(travel_s / 60, len(delivered)),
        orders_per_rider_hour=_ratio(len(delivered), shift_h),
        unassigned=count[OrderStatus.UNASSIGNED],
        open_at_end=count[OrderStatus.OPEN],
        held=count[OrderStatus.HELD],
        failed_not_home=count[OrderStatus.FAILED_NOT_HOME],
        excursions_injected=len(matched),
        excursions_detected=len(delays),
        natural_excursions=len(natural),
        natural_detected=sum(1 for d in natural.values() if d is not None),
        false_alarms=false_alarms,
        detection_delay_p50_s=_percentile(delays, 50),
        detection_delay_max_s=max(delays) if delays else None,
        cold_chain_delivered_after_excursion=sum(
            1 for o in delivered if o.cold_chain and o.exposed
        ),
        otp_failures=sum(o.otp_failures for o in log.orders),
    )


def _match_alerts(
    log: RunLog,
) -> tuple[dict[int, float | None], dict[int, float | None], int]:
    """Detection delays of the injected and the natural excursions (None:
    missed), and the alerts that match no true excursion."""
    unused = sorted(log.detected, key=lambda d: d.alerted_at)
    injected = _match(log.injected, unused)
    natural = _match(log.natural, unused)
    # Several alerts for one box after a true excursion are repeats, not false alarms.
    truth_boxes = {t.box for t in [*log.injected, *log.natural]}
    return injected, natural, sum(1 for a in unused if a.box not in truth_boxes)


def _match(
    truths: list[InjectedExcursion], unused: list[DetectedExcursion]
) -> dict[int, float | None]:
    """Per real excursion its detection delay (None: missed); takes the
    matched alerts out of ``unused``."""
    matched: dict[int, float | None] = {}
    for index, truth in enumerate(truths):
        if truth.true_excursion_at is None or truth.true_exit_at is None:
            continue
        matched[index] = None
        earliest = truth.true_exit_at - _EARLY_ALERT_TOLERANCE
        for alert in unused:
            if alert.box == truth.box and alert.alerted_at >= earliest:
                delay = alert.alerted_at - truth.true_excursion_at
                matched[index] = delay.total_seconds()
                unused.remove(alert)
                break
    return matched


def compare(candidate: Kpis, baseline: Kpis) -> dict[str, float | None]:
    """``candidate / baseline`` for every numeric KPI (None where undefined)."""
    ratios: dict[str, float | None] = {}
    for key, value in asdict(candidate).items():
        other = asdict(baseline)[key]
        if isinstance(value, int | float) and isinstance(other, int | float):
            ratios[key] = value / other if other else None
    return ratios


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def format_table(kpis: list[Kpis]) -> str:
    """A plain-text table: one row per KPI, one column per policy (+ ratio)."""
    names = [k for k in asdict(kpis[0]) if k != "policy"]
    header = ["kpi", *[k.policy for k in kpis]]
    ratios = compare(kpis[0], kpis[1]) if len(kpis) == 2 else None
    if ratios is not None:
        header.append(f"{kpis[0].policy}/{kpis[1].policy}")
    rows = [header]
    for name in names:
        row = [name, *[_cell(asdict(k)[name]) for k in kpis]]
        if ratios is not None:
            row.append(_cell(ratios.get(name)))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_report(
    out_dir: Path, logs: Sequence[RunLog], *, stem: str = "kpis"
) -> Mapping[str, Path]:
    """Write the KPIs of ``logs`` (one run per policy) as ``<stem>.json`` and
    ``<stem>.txt``, and their day over time as ``<stem>.png``; return the paths."""
    if not logs:
        raise ValueError("nothing to report")
    kpis = [compute_kpis(log) for log in logs]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{stem}.{kind}" for kind in ("json", "txt", "png")}
    body: dict[str, object] = {"policies": {k.policy: asdict(k) for k in kpis}}
    if len(kpis) == 2:
        body["ratios"] = {
            f"{kpis[0].policy}/{kpis[1].policy}": compare(kpis[0], kpis[1])
        }
    paths["json"].write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    paths["txt"].write_text(format_table(kpis) + "\n", encoding="utf-8")
    draw_day(
        [day_series(log) for log in logs],
        paths["png"],
        title=f"Scenario {logs[0].scenario}: the day over time",
    )
    return paths
