"""Readings: a device's latest point, and aggregated history per device or per area.

Caps keep one request from asking InfluxDB for years at one-second resolution: the range is at
most ``history_max_range_days`` and the answer at most ``history_max_points`` buckets per series;
beyond either the answer is a 422 naming the parameter and the limit.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.core.config import Settings
from api.core.deps import CityDep, CurrentScope, ReadingsDep, SessionDep, SettingsDep
from api.core.errors import invalid, not_found, or_404
from api.core.roster import with_township
from api.crud import devices
from api.models.common import AreaId
from api.models.devices import LatestReading
from api.models.readings import Aggregation, GroupBy, History
from api.readings import queries
from api.readings.fields import FIELDS
from api.routes.devices import DevicePath
from city.kinds import Kind

router = APIRouter(tags=["readings"])

INTERVAL_PATTERN = r"^[1-9][0-9]{0,5}(s|m|h|d|w)$"
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
# Intervals chosen when none is asked for: the finest that keeps a series under AUTO_POINTS.
_AUTO_INTERVALS = ("10s", "30s", "1m", "5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "7d")
AUTO_POINTS = 500
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)

FieldName = Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
Start = Annotated[datetime | None, Query(description="default: end − 24 h")]
End = Annotated[datetime | None, Query(description="default: now")]
Interval = Annotated[
    str | None,
    Query(pattern=INTERVAL_PATTERN, description="bucket, e.g. 5m, 1h, 1d; default: auto"),
]


def _seconds(interval: str) -> int:
    match = re.fullmatch(INTERVAL_PATTERN, interval)
    if match is None:  # the Query pattern already refused it; this guards direct callers
        raise invalid(("query", "interval"), f"invalid interval {interval!r}")
    return int(interval[:-1]) * _UNIT_S[interval[-1]]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _window(
    settings: Settings, start: datetime | None, end: datetime | None, interval: str | None
) -> tuple[datetime, datetime, str]:
    end_at = _utc(end) if end else datetime.now(UTC)
    start_at = _utc(start) if start else end_at - timedelta(hours=24)
    for name, moment in (("start", start_at), ("end", end_at)):
        if not _EARLIEST <= moment <= _LATEST:
            raise invalid(("query", name), f"{name} must lie between 2000 and 2200")
    if start_at >= end_at:
        raise invalid(("query", "start"), "start must be before end")
    span = (end_at - start_at).total_seconds()
    if span > settings.history_max_range_days * 86_400:
        raise invalid(
            ("query", "start"),
            f"the range may span at most {settings.history_max_range_days} days",
            "range_too_long",
        )
    if interval is None:
        interval = next(
            (i for i in _AUTO_INTERVALS if span / _seconds(i) <= AUTO_POINTS), _AUTO_INTERVALS[-1]
        )
    points = math.ceil(span / _seconds(interval))
    if points > settings.history_max_points:
        raise invalid(
            ("query", "interval"),
            f"{interval} over this range gives {points} points; at most "
            f"{settings.history_max_points} per series (choose a longer interval)",
            "too_many_points",
        )
    return start_at, end_at, interval


def _check_field(kind: Kind, field_name: str, aggregation: str) -> None:
    fields = FIELDS[kind]
    if field_name not in fields:
        raise invalid(
            ("query", "field"),
            f"{kind.value} has no field {field_name!r}; fields: {', '.join(fields)}",
        )
    if fields[field_name] == "string" and aggregation != "last":
        raise invalid(("query", "aggregation"), f"{field_name} is text: only 'last' applies to it")


@router.get("/devices/{device_id}/readings/latest")
def latest_reading(
    *, device_id: DevicePath, scope: CurrentScope, session: SessionDep, readings: ReadingsDep
) -> LatestReading | None:
    """The device's most recent point (null before its first reading)."""
    device = or_404(devices.get_in_scope(session, scope, device_id), "device")
    return readings.latest(Kind(device.kind), device.id, scope)


@router.get("/devices/{device_id}/readings/history")
def device_history(
    *,
    device_id: DevicePath,
    scope: CurrentScope,
    session: SessionDep,
    readings: ReadingsDep,
    settings: SettingsDep,
    field: FieldName,
    aggregation: Aggregation = "mean",
    start: Start = None,
    end: End = None,
    interval: Interval = None,
) -> History:
    """One field of one device over time, aggregated per interval."""
    device = or_404(devices.get_in_scope(session, scope, device_id), "device")
    kind = Kind(device.kind)
    _check_field(kind, field, aggregation)
    start_at, end_at, bucket = _window(settings, start, end, interval)
    query = queries.history(
        kind=kind, field_name=field, aggregation=aggregation, start=start_at, end=end_at,
        interval=bucket, scope=scope, device_id=device.id,
    )  # fmt: skip
    return History(
        kind=kind, field=field, aggregation=aggregation, interval=bucket, start=start_at,
        end=end_at, series=readings.history(query),
    )  # fmt: skip


@router.get("/readings/history")
def area_history(
    *,
    scope: CurrentScope,
    readings: ReadingsDep,
    settings: SettingsDep,
    city: CityDep,
    kind: Kind,
    field: FieldName,
    aggregation: Aggregation = "mean",
    township: Annotated[AreaId | None, Query()] = None,
    village: Annotated[AreaId | None, Query()] = None,
    group_by: GroupBy = "none",
    start: Start = None,
    end: End = None,
    interval: Interval = None,
) -> History:
    """One field over all devices of a kind in an area (default: your whole area)."""
    township = with_township(city, township, village)
    if township is not None and (
        city.township(township) is None
        or (village is not None and not city.has_area(township, village))
    ):
        raise not_found("area")
    area = or_404(scope.narrow(township, village), "area")
    _check_field(kind, field, aggregation)
    start_at, end_at, bucket = _window(settings, start, end, interval)
    query = queries.history(
        kind=kind, field_name=field, aggregation=aggregation, start=start_at, end=end_at,
        interval=bucket, scope=area, group_by=None if group_by == "none" else group_by,
    )  # fmt: skip
    return History(
        kind=kind, field=field, aggregation=aggregation, interval=bucket, start=start_at,
        end=end_at, series=readings.history(query),
    )  # fmt: skip
