"""Quoting for InfluxQL, for the few places where a bound parameter cannot be used.

Values go through the ``params`` bound parameters of ``/query`` (``WHERE device = $device``),
which no string can escape. Identifiers (measurement, field and tag names), regexes and durations
cannot be bound, so they are quoted here, or checked against a closed set by the caller.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^[1-9][0-9]{0,6}(?:ms|s|m|h|d|w)$")


def quote_ident(name: str) -> str:
    """``"name"`` with backslashes and double quotes escaped, as InfluxQL's scanner reads them."""
    if not name or "\n" in name:
        raise ValueError(f"invalid identifier {name!r}")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """``'value'`` for the rare string that cannot be a bound parameter (SHOW … WITH KEY)."""
    if "\n" in value:
        raise ValueError("string literals may not contain a line break")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def duration(text: str) -> str:
    """A GROUP BY time() interval such as ``30s`` or ``5m``; anything else is refused."""
    if not _DURATION.match(text):
        raise ValueError(f"invalid duration {text!r}; use e.g. 30s, 5m, 1h, 1d")
    return text
