"""Parking-bay detectors (地磁/雷达车位检测器): a bay is free or taken, reported on change.

Cars come and go as a two-state process whose arrival rate follows the hour of the day (night
residents, the morning commute, business hours, the evening), so that the long-run share of
taken bays at each hour is :func:`occupancy_probability`. Near a hotspot the share is pushed
towards full: ``1 − (1 − p)^weight``, so Dezhou East station (weight 6) stays busy around the
clock while an ordinary street empties at night. A heartbeat goes out every 30 minutes.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from city.kinds import Kind
from city.telemetry import AnyReading, ParkingReading
from simulators.clock import CITY_TZ
from simulators.fleet import Placement
from simulators.kinds.base import CHANGE_LATENCY_S, SimDevice

# Share of ordinary street bays taken at each hour of a weekday (Beijing time).
_WEEKDAY = (
    0.25, 0.22, 0.20, 0.20, 0.20, 0.22, 0.28, 0.42, 0.58, 0.66, 0.68, 0.66,
    0.60, 0.62, 0.66, 0.66, 0.63, 0.62, 0.57, 0.53, 0.48, 0.40, 0.33, 0.28,
)  # fmt: skip
_WEEKEND_DAYTIME_FACTOR = 0.8
_MAX_OCCUPANCY = 0.97
_MEAN_STAY_S = 2 * 3600.0
# Rates change over the day: never plan further ahead than this without a fresh look.
_PLANNING_HORIZON_S = 15 * 60.0
_BATTERY_DRAIN_PER_S = 20.0 / (365 * 86400)  # ~5-year battery


def occupancy_probability(t: float, hotspot_weight: float = 1.0) -> float:
    moment = datetime.fromtimestamp(t, CITY_TZ)
    hour = moment.hour + moment.minute / 60
    low = _WEEKDAY[int(hour) % 24]
    high = _WEEKDAY[(int(hour) + 1) % 24]
    p = low + (high - low) * (hour - int(hour))
    if moment.weekday() >= 5:
        night = min(_WEEKDAY)
        p = night + (p - night) * _WEEKEND_DAYTIME_FACTOR
    return min(_MAX_OCCUPANCY, 1 - math.pow(1 - p, hotspot_weight))


class ParkingBay(SimDevice):
    kind = Kind.PARKING

    def __init__(self, placement: Placement, rng: random.Random, interval_s: float) -> None:
        super().__init__(placement, rng, interval_s)
        self.weight = placement.hotspot_weight
        # Busy places turn over faster: station drop-offs, shoppers.
        self.mean_stay_s = _MEAN_STAY_S / (1 + 0.1 * (self.weight - 1))
        self.occupied = False
        self.battery = rng.uniform(40.0, 100.0)
        self._battery_at = 0.0
        self._event_due = 0.0
        self._flip_at_event = False

    def _boot(self, now: float) -> None:
        self._battery_at = now
        self.occupied = self.rng.random() < occupancy_probability(now, self.weight)
        self._plan(now)

    def _plan(self, now: float) -> None:
        """Draw when the bay next changes; past the horizon, just look again then."""
        p = occupancy_probability(now, self.weight)
        leave_rate = 1 / self.mean_stay_s
        rate = leave_rate if self.occupied else leave_rate * p / (1 - p)
        wait = self.rng.expovariate(rate)
        self._flip_at_event = wait <= _PLANNING_HORIZON_S
        if self._flip_at_event:
            # The report leaves a moment after the car has settled over the sensor.
            self._event_due = now + wait + CHANGE_LATENCY_S
        else:
            self._event_due = now + _PLANNING_HORIZON_S

    def _own_due(self) -> float:
        return self._event_due

    def _poll(self, now: float, periodic: bool) -> list[AnyReading]:
        changed = False
        if now >= self._event_due:
            if self._flip_at_event:
                self.occupied = not self.occupied
                changed = True
            self._plan(now)
        if not (changed or periodic):
            return []
        self.battery = max(0.0, self.battery - (now - self._battery_at) * _BATTERY_DRAIN_PER_S)
        self._battery_at = now
        return [
            ParkingReading(
                device_id=self.device_id,
                ts=self._ms(now),
                seq=self._next_seq(),
                report="change" if changed else "heartbeat",
                occupied=self.occupied,
                battery_pct=round(self.battery),
            )
        ]
