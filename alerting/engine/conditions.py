"""A rule's condition against one value: does it hold, and how to say the threshold.

Thresholds are numbers or the name of a river station's level (``station.warning_level_m``),
resolved against the station that the reading came from. A condition that names a station
level cannot be judged without a station: :func:`holds` answers ``None`` then.
"""

from __future__ import annotations

from city.rules import Condition, Threshold
from city.topology import Station

Value = float | int | bool | str

_STATION_NAMES = {
    "station.normal_level_m": "常水位",
    "station.warning_level_m": "警戒水位",
    "station.guarantee_level_m": "保证水位",
}


def threshold_value(threshold: Threshold, station: Station | None) -> float | None:
    if isinstance(threshold, str):
        if station is None:
            return None
        value: float = getattr(station, threshold.removeprefix("station."))
        return value
    return float(threshold)


def _number(value: Value) -> float | None:
    if isinstance(value, (bool, str)):
        return None
    return float(value)


def holds(condition: Condition, value: Value, station: Station | None = None) -> bool | None:
    """True or False; None when the condition cannot be judged (no station, wrong type)."""
    if condition.equals is not None:
        if isinstance(condition.equals, bool) != isinstance(value, bool):
            return None
        return value == condition.equals
    number = _number(value)
    if number is None:
        return None
    if condition.above is not None:
        limit = threshold_value(condition.above, station)
        return None if limit is None else number > limit
    if condition.below is not None:
        limit = threshold_value(condition.below, station)
        return None if limit is None else number < limit
    assert condition.outside is not None  # the model allows exactly one of the four
    low, high = condition.outside
    return number < low or number > high


def format_number(value: float) -> str:
    """12.3, 10, 7.25: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_value(value: Value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return value
    return format_number(float(value))


def describe(condition: Condition, station: Station | None = None) -> str:
    """``> 10``, ``< 5``, ``outside [6, 9]``, ``= defectiveLamp``; station levels as numbers
    followed by their name: ``> 7.5 警戒水位``."""

    def limit(threshold: Threshold) -> str:
        if isinstance(threshold, str):
            number = threshold_value(threshold, station)
            name = _STATION_NAMES.get(threshold, threshold)
            return name if number is None else f"{format_number(number)} {name}"
        return format_number(float(threshold))

    if condition.above is not None:
        return f"> {limit(condition.above)}"
    if condition.below is not None:
        return f"< {limit(condition.below)}"
    if condition.outside is not None:
        low, high = condition.outside
        return f"outside [{format_number(low)}, {format_number(high)}]"
    equals = condition.equals
    shown = format_value(equals) if equals is not None else ""
    return f"= {shown}"
