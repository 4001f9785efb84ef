"""InfluxDB line protocol, escaped as InfluxDB's own parser reads it.

``measurement,tag=v,tag=v field=1i,field=2.5,field="s" 1700000000000``

Escaping rules (docs.influxdata.com, "Line protocol reference"): in measurements, commas and
spaces; in tag keys, tag values and field keys, commas, equals signs and spaces; in string field
values, double quotes and backslashes. A line ends at a newline, so no key or tag value may
contain one; string field values may (the parser honours quotes). InfluxDB has no escape for a
backslash in keys and tag values (``a\\,b`` reads as ``a\\`` then a separator), so names and tag
values with a backslash, a line break or nothing at all are refused rather than mangled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

FieldValue = bool | int | float | str

_MEASUREMENT: Final = str.maketrans({",": r"\,", " ": r"\ "})
_KEY: Final = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING: Final = str.maketrans({'"': r"\"", "\\": r"\\"})
_FORBIDDEN: Final = frozenset("\n\r\\")
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**63 - 1


class LineProtocolError(ValueError):
    pass


def _check_key(value: str, what: str) -> None:
    if not value:
        raise LineProtocolError(f"{what} must not be empty")
    if _FORBIDDEN.intersection(value):
        raise LineProtocolError(f"{what} {value[:40]!r} contains a line break or a backslash")


def escape_measurement(name: str) -> str:
    _check_key(name, "measurement")
    if name.startswith("#"):
        raise LineProtocolError(f"measurement {name!r} would read as a comment")
    return name.translate(_MEASUREMENT)


def escape_key(key: str, what: str = "key") -> str:
    """Escape a tag key, tag value or field key."""
    _check_key(key, what)
    return key.translate(_KEY)


def format_field(value: FieldValue) -> str:
    # bool first: bool is a subclass of int.
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise LineProtocolError(f"integer {value} does not fit in 64 bits")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LineProtocolError(f"float {value} is not representable")
        return repr(value)
    return '"' + value.translate(_STRING) + '"'


def encode_line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue],
    ts: int,
) -> str:
    """One point. Tags are sorted by key, as InfluxDB recommends for its parser's speed."""
    if not fields:
        raise LineProtocolError("a point needs at least one field")
    head = escape_measurement(measurement)
    tag_part = "".join(
        f",{escape_key(k, 'tag key')}={escape_key(v, 'tag value')}" for k, v in sorted(tags.items())
    )
    field_part = ",".join(
        f"{escape_key(k, 'field key')}={format_field(v)}" for k, v in fields.items()
    )
    return f"{head}{tag_part} {field_part} {ts}"
