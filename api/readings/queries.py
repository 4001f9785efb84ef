"""InfluxQL for readings, built so that no request parameter can change a query's meaning.

Values (device ids, area ids, times) are bound parameters (``$name``, sent as ``params``);
identifiers (measurement, field, tag key, aggregate function) come only from the closed sets in
:mod:`api.readings.fields`, checked here again, and the GROUP BY interval only from a regex-checked
duration. Every query carries the caller's scope as a WHERE condition, so even a device id that
slipped past the registry could not reach another area's points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.core.scope import Scope
from api.readings.fields import FIELDS, GROUP_TAGS, measurement
from city.kinds import Kind
from city.schema import STATUS_MEASUREMENT
from influxv1.influxql import duration, quote_ident

AGGREGATES = frozenset({"mean", "min", "max", "last"})
MAX_DEVICES_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    params: dict[str, Any] = field(default_factory=dict)


def _where(scope: Scope, *conditions: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    parts: list[str] = []
    params: dict[str, Any] = {}
    for text, values in (*conditions, scope.influx_filter()):
        if text:
            parts.append(f"({text})")
            params.update(values)
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def latest_point(kind: Kind, device_id: str, scope: Scope) -> Query:
    where, params = _where(scope, ('"device" = $device', {"device": device_id}))
    table = quote_ident(measurement(kind))
    text = f"SELECT * FROM {table}{where} ORDER BY time DESC LIMIT 1"  # noqa: S608 - see module doc
    return Query(text, params)


def latest_status(scope: Scope, device_ids: Sequence[str] | None = None) -> Query:
    """The last ``online`` value (and its time) per device in the scope, or of these devices."""
    devices: tuple[str, dict[str, Any]] = ("", {})
    if device_ids is not None:
        if not device_ids or len(device_ids) > MAX_DEVICES_PER_QUERY:
            raise ValueError(f"between 1 and {MAX_DEVICES_PER_QUERY} device ids, please")
        names = [f"d{i}" for i in range(len(device_ids))]
        devices = (
            " OR ".join(f'"device" = ${name}' for name in names),
            dict(zip(names, device_ids, strict=True)),
        )
    where, params = _where(scope, devices)
    table = quote_ident(STATUS_MEASUREMENT)
    text = f'SELECT last("online") AS "online" FROM {table}{where}'  # noqa: S608 - see module doc
    return Query(f'{text} GROUP BY "device"', params)


def history(
    *,
    kind: Kind,
    field_name: str,
    aggregation: str,
    start: datetime,
    end: datetime,
    interval: str,
    scope: Scope,
    device_id: str | None = None,
    group_by: str | None = None,
) -> Query:
    if field_name not in FIELDS[kind]:
        raise ValueError(f"{field_name!r} is not a field of {kind.value}")
    if aggregation not in AGGREGATES:
        raise ValueError(f"{aggregation!r} is not one of {sorted(AGGREGATES)}")
    if group_by is not None and group_by not in GROUP_TAGS:
        raise ValueError(f"cannot group by {group_by!r}")
    conditions = [
        ("time >= $start AND time < $end", {"start": _rfc3339(start), "end": _rfc3339(end)})
    ]
    if device_id is not None:
        conditions.append(('"device" = $device', {"device": device_id}))
    where, params = _where(scope, *conditions)
    groups = f"time({duration(interval)})" + (f", {quote_ident(group_by)}" if group_by else "")
    select = f'SELECT {aggregation}({quote_ident(field_name)}) AS "value"'
    text = f"{select} FROM {quote_ident(measurement(kind))}{where} GROUP BY {groups} fill(none)"
    return Query(text, params)
