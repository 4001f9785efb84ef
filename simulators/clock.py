"""Simulated time: the instant the devices believe it is, at real or accelerated speed.

Every timestamp a device sends comes from here, never from the wall clock directly, so a demo can
start at dusk at any hour (``--start``) and show a night in minutes (``--speed``). Times are epoch
seconds as floats; devices turn them into epoch milliseconds on the wire.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

CITY_TZ = ZoneInfo("Asia/Shanghai")


class SimClock:
    """Maps the monotonic real clock onto simulated epoch seconds: ``start + elapsed × speed``.

    Anchored on ``time.monotonic`` so that an NTP step of the host clock cannot make device
    timestamps jump backwards.
    """

    def __init__(
        self,
        start: float | None = None,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.start = time.time() if start is None else start
        self.speed = speed
        self._monotonic = monotonic
        self._anchor = monotonic()

    def restart(self) -> None:
        """Stand at ``start`` again, e.g. once the fleet is built and the broker connected,
        so that setting up does not eat into the simulated time a demo was meant to show."""
        self._anchor = self._monotonic()

    def now(self) -> float:
        return self.start + (self._monotonic() - self._anchor) * self.speed

    def real_seconds_until(self, sim_t: float) -> float:
        """How long to sleep in real time until the simulated clock reaches ``sim_t``."""
        return max(0.0, (sim_t - self.now()) / self.speed)


def parse_instant(text: str) -> float:
    """``2026-07-15T20:00:00+08:00`` → epoch seconds; a naive time is Beijing time."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CITY_TZ)
    return moment.timestamp()


def format_instant(t: float) -> str:
    return datetime.fromtimestamp(t, CITY_TZ).strftime("%Y-%m-%d %H:%M:%S")


def parse_duration(text: str) -> float:
    """``90`` or ``90s`` → 90, ``20m`` → 1200, ``6h`` → 21600, ``1d`` → 86400 (seconds)."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    cleaned = text.strip().lower()
    factor = units.get(cleaned[-1:])
    number = cleaned[:-1] if factor is not None else cleaned
    try:
        value = float(number) * (factor or 1.0)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 20m, 6h)") from None
    if value < 0:
        raise ValueError(f"a duration cannot be negative: {text!r}")
    return value
