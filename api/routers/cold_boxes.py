"""Cold boxes: in and out of cold service by hand (dispatchers and pharmacists),
and their temperature readings over a time range, raw or downsampled.

A quarantined box takes no cold-chain orders (the planner and greedy assignment
skip its rider's cold capacity) until it is cleared. Telemetry quarantines boxes
on its own for temperature excursions and clears only those; a quarantine set
here is cleared here. Both are audited and, when the box has a rider, announced
on the dispatch channel (``rider.changed``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth.access import DISPATCH, PHARMACY
from api.auth.actor import actor_of
from api.deps import PharmacyUser, ServicesDep
from api.errors import ApiConflict, ApiNotFound, ApiRuleViolation, error_responses
from api.schemas.cold_boxes import (
    BoxReadings,
    ColdBoxRead,
    QuarantineClear,
    QuarantineCreate,
    ReadingBucket,
    ReadingPoint,
    RiderBoxRead,
    TemperatureBand,
)
from api.schemas.common import ENTITY_ID
from dispatch import fleet
from telemetry import store as telemetry_store

router = APIRouter(tags=["cold boxes"])


@router.get(
    "/cold-boxes",
    response_model=list[RiderBoxRead],
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403),
)
def riders_cold_boxes(services: ServicesDep) -> list[RiderBoxRead]:
    """The boxes riders carry, each with its newest temperature and whether it is
    within the box's band (the dispatcher's live map)."""
    with services.db.transaction() as tx:
        boxes = fleet.riders_cold_boxes(tx)
        latest = telemetry_store.latest_readings(tx.conn, [b.id for b in boxes])
        bands = {b.id: telemetry_store.box_band(tx.conn, b.id) for b in boxes}
    out = []
    for box in boxes:
        reading, band = latest.get(box.id), bands[box.id]
        temp = reading[1] if reading else None
        out.append(
            RiderBoxRead(
                box_id=box.id,
                rider_id=box.rider_id or "",
                fit_for_cold=box.fit_for_cold,
                temp_c=temp,
                recorded_at=reading[0] if reading else None,
                low_c=band.low_c if band else None,
                high_c=band.high_c if band else None,
                in_range=(
                    band.low_c <= temp <= band.high_c
                    if band is not None and temp is not None
                    else None
                ),
            )
        )
    return out


@router.get(
    "/cold-boxes/{box_id}",
    response_model=ColdBoxRead,
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404),
)
def get_cold_box(box_id: str, services: ServicesDep) -> ColdBoxRead:
    """A cold box and its quarantine state."""
    with services.db.transaction() as tx:
        return ColdBoxRead.of(fleet.get_cold_box(tx, box_id))


@router.post(
    "/cold-boxes/{box_id}/quarantine",
    response_model=ColdBoxRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def quarantine_cold_box(
    box_id: str, body: QuarantineCreate, services: ServicesDep, who: PharmacyUser
) -> ColdBoxRead:
    """Take the box out of cold service (its temperature is in doubt); 409 if it
    already is."""
    with services.db.transaction() as tx:
        if not fleet.quarantine_cold_box(
            tx, box_id, reason=body.reason.strip(), ref=None, actor=actor_of(who)
        ):
            raise ApiConflict(f"cold box {box_id} is already quarantined")
        return ColdBoxRead.of(fleet.get_cold_box(tx, box_id))


@router.post(
    "/cold-boxes/{box_id}/clear",
    response_model=ColdBoxRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def clear_cold_box(
    box_id: str, body: QuarantineClear, services: ServicesDep, who: PharmacyUser
) -> ColdBoxRead:
    """Put a quarantined box back into cold service; 409 if it is not quarantined."""
    with services.db.transaction() as tx:
        if not fleet.clear_cold_box(tx, box_id, actor=actor_of(who), note=body.note):
            raise ApiConflict(f"cold box {box_id} is not quarantined")
        return ColdBoxRead.of(fleet.get_cold_box(tx, box_id))


# -- readings ---------------------------------------------------------------------

#: the longest ``to - from`` a readings query may span
MAX_RANGE = timedelta(days=31)
#: the most raw readings one answer carries (beyond: ask for buckets)
MAX_RAW_READINGS = 5000
#: the most buckets one answer carries
MAX_BUCKETS = 2000
#: ``from`` when not given: this long before ``to``
DEFAULT_SPAN = timedelta(hours=24)
_BUCKET = re.compile(r"^([1-9][0-9]{0,6})([smhd]?)$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


class ReadingRangeInvalid(ApiRuleViolation):
    """``from``/``to`` do not make a range this endpoint serves."""

    code = "invalid_range"


class TooManyPoints(ApiRuleViolation):
    """The answer would carry more readings or buckets than allowed."""

    code = "too_many_points"


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def parse_bucket(text: str) -> int:
    """Seconds of a bucket written ``60``, ``60s``, ``5m``, ``1h`` or ``1d``."""
    match = _BUCKET.match(text)
    if match is None:
        raise ApiRuleViolation(
            "bucket must be a positive number of seconds, or end in s, m, h or d "
            "(e.g. 60s, 5m, 1h)"
        )
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def reading_range(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """``[from, to)`` with defaults (``to``: now; ``from``: 24 h before ``to``),
    checked against :data:`MAX_RANGE`."""
    try:
        end = _utc(end) if end is not None else now
        start = _utc(start) if start is not None else end - DEFAULT_SPAN
    except (OverflowError, ValueError) as exc:
        raise ReadingRangeInvalid("from/to are out of the supported range") from exc
    if start >= end:
        raise ReadingRangeInvalid("from must be before to")
    if end - start > MAX_RANGE:
        raise ReadingRangeInvalid(
            f"a query spans at most {MAX_RANGE.days} days; narrow from/to"
        )
    return start, end


@router.get(
    "/cold-boxes/{box_id}/readings",
    response_model=BoxReadings,
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404, 422),
)
def get_box_readings(
    box_id: Annotated[str, Path(pattern=ENTITY_ID)],
    services: ServicesDep,
    start: Annotated[
        datetime | None,
        Query(
            alias="from",
            description="Inclusive, device time; no offset means UTC. "
            "Default: 24 h before ``to``.",
        ),
    ] = None,
    end: Annotated[
        datetime | None,
        Query(
            alias="to",
            description="Exclusive; no offset means UTC. Default: now.",
        ),
    ] = None,
    bucket: Annotated[
        str | None,
        Query(
            max_length=16,
            description="Downsample: min/avg/max per slice of this length "
            "(``60s``, ``5m``, ``1h``, ``1d`` or seconds). Omitted: raw readings.",
        ),
    ] = None,
) -> BoxReadings:
    """A cold box's temperature readings over ``[from, to)``: raw (at most 5,000,
    else 422 ``too_many_points``: ask for a bucket) or downsampled (at most 2,000
    buckets). ``to - from`` is at most 31 days. The box's allowed band comes
    with them. Staff roles only (pharmacists, dispatchers, admins)."""
    bucket_s = parse_bucket(bucket) if bucket is not None else None
    start_at, end_at = reading_range(start, end, services.clock.now())
    if bucket_s is not None:
        count = -(-(end_at - start_at).total_seconds() // bucket_s)
        if count > MAX_BUCKETS:
            raise TooManyPoints(
                f"{int(count)} buckets of {bucket_s} s; at most {MAX_BUCKETS}: "
                "use a longer bucket or a shorter range"
            )
    with services.db.transaction() as tx:
        band = telemetry_store.box_band(tx.conn, box_id)
        if band is None:
            raise ApiNotFound(f"cold box {box_id} is not known to telemetry")
        raw: list[ReadingPoint] = []
        buckets: list[ReadingBucket] = []
        if bucket_s is None:
            rows = telemetry_store.read_readings(
                tx.conn, box_id, start_at, end_at, limit=MAX_RAW_READINGS + 1
            )
            if len(rows) > MAX_RAW_READINGS:
                raise TooManyPoints(
                    f"more than {MAX_RAW_READINGS} readings in this range: "
                    "ask for a bucket (e.g. bucket=5m) or a shorter range"
                )
            raw = [
                ReadingPoint(
                    at=r.recorded_at,
                    seq=r.seq,
                    temp_c=r.temp_c,
                    battery_pct=r.battery_pct,
                    door_open=r.door_open,
                )
                for r in rows
            ]
        else:
            timescale = telemetry_store.has_timescale(tx.conn)
            buckets = [
                ReadingBucket(
                    start=b.bucket_at,
                    readings=b.readings,
                    min_c=b.min_c,
                    avg_c=b.mean_c,
                    max_c=b.max_c,
                )
                for b in telemetry_store.read_buckets(
                    tx.conn, box_id, start_at, end_at, bucket_s, timescale=timescale
                )
            ]
    return BoxReadings(
        box_id=box_id,
        from_=start_at,
        to=end_at,
        bucket_s=bucket_s,
        band=TemperatureBand(
            profile_code=band.profile_code, low_c=band.low_c, high_c=band.high_c
        ),
        readings=raw,
        buckets=buckets,
    )
