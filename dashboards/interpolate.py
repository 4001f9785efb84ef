"""Grafana's variable substitution for raw InfluxQL, reimplemented so that tests can run every
panel and variable query of the generated boards against a real InfluxDB without a Grafana.

What Grafana (11/12, InfluxQL mode) does to a raw query before sending it:

- ``$timeFilter`` becomes the dashboard's (or the panel's ``timeFrom``) time range; for a
  relative range ``now-6h`` that is ``time >= now() - 6h`` (absolute ranges become
  ``time >= <ms>ms and time <= <ms>ms``, which :func:`time_filter` also produces);
- ``$__interval`` becomes the bucket width Grafana derives from the range and the panel's width
  (tests pass a fixed one, e.g. ``1m``), ``$__interval_ms`` the same in milliseconds;
- a template variable ``$name`` / ``${name}`` / ``[[name]]`` becomes its current value: as is
  for a single-value variable without "All"; for a multi-value or include-all variable every value
  is regex-escaped (the InfluxDB data source's ``interpolateQueryExpr``) and several values are
  joined as ``(a|b)``; "All" becomes the variable's ``allValue`` verbatim when it has one, else
  every option joined the same way.

A ``$`` word that is neither built in nor a variable of the board raises, so a typo in a query
fails the tests instead of reaching Grafana.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

ALL: Final = "$__all"
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_TOKEN = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_UNIT_MS: Final = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
}


def escape_regex(value: str) -> str:
    """@grafana/data's ``escapeRegex``: what the InfluxDB data source applies to each value."""
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def duration_ms(text: str) -> int:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a Grafana duration: {text!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Variable:
    """What substitution needs to know of a dashboard variable."""

    name: str
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    options: tuple[str, ...] = ()

    @classmethod
    def from_model(cls, model: Mapping[str, Any], options: Sequence[str] = ()) -> Variable:
        """From a variable's JSON in a dashboard; ``options`` are its resolved values (for a
        query variable, what its query returned)."""
        static = tuple(str(o["value"]) for o in model.get("options") or [] if o.get("value") != ALL)
        return cls(
            name=str(model["name"]),
            multi=bool(model.get("multi")),
            include_all=bool(model.get("includeAll")),
            all_value=model.get("allValue") or None,
            options=tuple(options) or static,
        )

    def format(self, selected: str | Sequence[str]) -> str:
        values = [selected] if isinstance(selected, str) else list(selected)
        if values == [ALL]:
            if not self.include_all:
                raise ValueError(f"variable {self.name} has no All option")
            if self.all_value is not None:
                return self.all_value
            values = list(self.options)
        if not values:
            raise ValueError(f"variable {self.name}: nothing selected")
        if not self.multi and not self.include_all:
            if len(values) != 1:
                raise ValueError(f"variable {self.name} takes one value, got {values}")
            return values[0]
        escaped = [escape_regex(v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def time_filter(time_from: str = "6h", *, absolute_ms: tuple[int, int] | None = None) -> str:
    if absolute_ms is not None:
        start, end = absolute_ms
        return f"time >= {start}ms and time <= {end}ms"
    duration_ms(time_from)  # validates
    return f"time >= now() - {time_from}"


@dataclass(frozen=True, slots=True)
class Context:
    """The dashboard state a query is interpolated in."""

    variables: Mapping[str, Variable] = field(default_factory=dict)
    selection: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    time_from: str = "6h"
    interval: str = "1m"

    def with_selection(self, **selection: str | Sequence[str]) -> Context:
        return Context(
            self.variables, {**self.selection, **selection}, self.time_from, self.interval
        )


def interpolate(
    query: str,
    context: Context,
    *,
    panel_time_from: str | None = None,
    min_interval: str | None = None,
) -> str:
    """``query`` as Grafana would send it to InfluxDB in ``context``; a panel's ``timeFrom``
    replaces the range and its ``interval`` (min interval) raises ``$__interval``."""
    interval = context.interval
    if min_interval and duration_ms(min_interval) > duration_ms(interval):
        interval = min_interval
    builtins = {
        "timeFilter": time_filter(panel_time_from or context.time_from),
        "__interval": interval,
        "__interval_ms": str(duration_ms(interval)),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3) or match.group(4)
        if name in builtins:
            return builtins[name]
        variable = context.variables.get(name)
        if variable is None:
            raise KeyError(f"${name} is neither a Grafana built-in nor a variable of this board")
        if name not in context.selection:
            raise KeyError(f"no value selected for ${name}")
        return variable.format(context.selection[name])

    return _TOKEN.sub(replace, query)


def placeholders(query: str) -> set[str]:
    """Every ``$name`` a query uses (built-ins included)."""
    return {m.group(1) or m.group(3) or m.group(4) for m in _TOKEN.finditer(query)}
