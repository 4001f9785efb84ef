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
    # Tags between "device" and "township" in key order (river, road, site): (attribute, key).
    extra_tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, str, Callable[[Any], str]], ...]  # (attribute, "key=", format)


def _layout(model: type[AnyReading], measurement: str) -> _Layout:
    extra = tuple(
        (attr, tag)
        for attr, tag in sorted(_TAG_ATTRIBUTES.items(), key=lambda item: item[1])
        if attr in model.model_fields and tag != "device"
    )
    assert all("device" < tag < "township" for _, tag in extra), "tag order is fixed below"
    fields = tuple(
        (name, escape_key(name, "field key") + "=", _formatter_for(info.annotation))
        for name, info in model.model_fields.items()
        if name not in _NOT_FIELDS
    )
    return _Layout(measurement, extra, fields)


_LAYOUTS: Final[dict[type[Any], _Layout]] = {
    StreetlightReading: _layout(StreetlightReading, Kind.STREETLIGHT.value),
    ManholeReading: _layout(ManholeReading, Kind.MANHOLE.value),
    ParkingReading: _layout(ParkingReading, Kind.PARKING.value),
    RiverReading: _layout(RiverReading, Kind.WATER.value),
    DrainReading: _layout(DrainReading, Kind.WATER.value),
}


def reading_line(reading: AnyReading, township: str, village: str) -> str:
    """The line-protocol point for a validated reading in its area (ms precision).

    This runs once per message, so it is written for speed: tags come out in key order without
    sorting, and tag values are not escaped because every one of them (device id, area, road and
    river ids, site) has passed a contract pattern that admits no character line protocol would
    need to escape (``[a-z0-9_-]``); the property test in tests/unit/city checks it.
    """
    layout = _LAYOUTS[type(reading)]
    values = reading.__dict__
    extra = "".join([f",{tag}={values[attr]}" for attr, tag in layout.extra_tags])
    fields = ",".join([key + fmt(values[attr]) for attr, key, fmt in layout.fields])
    return (
        f"{layout.measurement},device={values['device_id']}{extra},township={township}"
        f",village={village} {fields} {values['ts']}"
    )


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
    return ["device", *(tag for _, tag in _LAYOUTS[model].extra_tags), "township", "village"]
