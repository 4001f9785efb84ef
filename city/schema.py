"""The InfluxDB schema: how a validated reading becomes exactly one point.

One measurement per kind, plus ``device_status``. Tags are the device and its area (and the road
or river where the kind has one): a fixed tag set per device, so that the same device, measurement
and device timestamp always name the same point and a redelivered message overwrites itself.
Fields are the quantities; booleans are stored as 0/1 integers so that ``mean()`` gives a rate
(parking occupancy, lamps on) and a field's type never changes. ``seq`` is kept as a field so that
loss can be proven from the database alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, get_origin

from city.kinds import Kind
from city.lineprotocol import escape_key, format_field
from city.telemetry import (
    AnyReading,
    DeviceStatus,
    DrainReading,
    ManholeReading,
    ParkingReading,
    RiverReading,
    StreetlightReading,
)

STATUS_MEASUREMENT: Final = "device_status"
MEASUREMENTS: Final = {kind: kind.value for kind in Kind}

# Attributes that become tags (or the timestamp) instead of fields, with their tag names.
_TAG_ATTRIBUTES: Final = {"device_id": "device", "road": "road", "river": "river", "site": "site"}
_NOT_FIELDS: Final = {*_TAG_ATTRIBUTES, "ts", "kind"}


def _format_bool(value: Any) -> str:
    return "1i" if value else "0i"


def _format_int(value: Any) -> str:
    return f"{value}i"


def _format_float(value: Any) -> str:
    return repr(float(value))


def _formatter_for(annotation: Any) -> Callable[[Any], str]:
    """Pick the formatter once per field, from the model's declared type, not per value."""
    if annotation is bool:
        return _format_bool
    if annotation is int:
        return _format_int
    if annotation is float:
        return _format_float
    if annotation is str or get_origin(annotation) is Literal:
        return format_field
    raise TypeError(f"no line-protocol mapping for a field of type {annotation!r}")


@dataclass(frozen=True, slots=True)
class _Layout:
    measurement: str
    tags: tuple[tuple[str, str], ...]  # (attribute, tag key)
    fields: tuple[tuple[str, str, Callable[[Any], str]], ...]  # (attribute, escaped key, format)


def _layout(model: type[AnyReading], measurement: str) -> _Layout:
    tags = tuple((attr, tag) for attr, tag in _TAG_ATTRIBUTES.items() if attr in model.model_fields)
    fields = []
    for name, info in model.model_fields.items():
        if name in _NOT_FIELDS:
            continue
        formatter = _formatter_for(info.annotation)
        fields.append((name, escape_key(name, "field key"), formatter))
    return _Layout(measurement, tags, tuple(fields))


_LAYOUTS: Final[dict[type[Any], _Layout]] = {
    StreetlightReading: _layout(StreetlightReading, Kind.STREETLIGHT.value),
    ManholeReading: _layout(ManholeReading, Kind.MANHOLE.value),
    ParkingReading: _layout(ParkingReading, Kind.PARKING.value),
    RiverReading: _layout(RiverReading, Kind.WATER.value),
    DrainReading: _layout(DrainReading, Kind.WATER.value),
}


def reading_line(reading: AnyReading, township: str, village: str) -> str:
    """The line-protocol point for a validated reading in its area (ms precision)."""
    layout = _LAYOUTS[type(reading)]
    values = reading.__dict__
    tags = [("township", township), ("village", village)]
    tags.extend((tag, values[attr]) for attr, tag in layout.tags)
    tags.sort()
    tag_part = "".join(f",{k}={escape_key(v, 'tag value')}" for k, v in tags)
    field_part = ",".join(f"{key}={fmt(values[attr])}" for attr, key, fmt in layout.fields)
    return f"{layout.measurement}{tag_part} {field_part} {reading.ts}"


def status_line(
    status: DeviceStatus, *, device_id: str, kind: Kind, township: str, village: str, ts: int
) -> str:
    """The ``device_status`` point; ``ts`` is the device's when it sent one, else reception's."""
    tags = (
        f",device={escape_key(device_id, 'tag value')},kind={kind.value}"
        f",township={escape_key(township, 'tag value')},village={escape_key(village, 'tag value')}"
    )
    fields = [f"online={_format_bool(status.online)}"]
    if status.lat is not None and status.lon is not None:
        fields.append(f"lat={_format_float(status.lat)},lon={_format_float(status.lon)}")
    if status.firmware:
        fields.append(f"firmware={format_field(status.firmware)}")
    return f"{STATUS_MEASUREMENT}{tags} {','.join(fields)} {status.ts or ts}"


def field_names(model: type[AnyReading]) -> list[str]:
    """The InfluxDB field keys a reading model produces, in order (for docs and dashboards)."""
    return [attr for attr, _, _ in _LAYOUTS[model].fields]


def tag_names(model: type[AnyReading]) -> list[str]:
    return sorted(["township", "village", *(tag for _, tag in _LAYOUTS[model].tags)])
