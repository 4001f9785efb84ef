"""Water sensing (水情/水质): river gauging stations and road-drain waterlogging sensors.

A river station's stage wanders slowly around its normal level (a small daily swing plus a
mean-reverting random walk with a half-day memory); flow follows the stage through a rating
curve; quality sits inside surface-water class Ⅲ (pH 6–9, DO ≥ 5 mg/L, COD ≤ 20 mg/L) and
degrades while a flood passes. A flood crest (scenario) lifts the stage past the warning and
guarantee levels and lets it fall back, reaching downstream stations later.

A drain sensor reads ~0 m of water on the road in dry weather; a waterlogging scenario makes it
rise and recede. Both report every five minutes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from city.kinds import Kind
from city.telemetry import AnyReading, DrainReading, RiverReading
from city.topology import Station
from simulators.clock import CITY_TZ
from simulators.daylight import local_hour
from simulators.fleet import Placement
from simulators.kinds.base import SimDevice, clamp

_WANDER_SIGMA_M = 0.12  # long-run spread of the random walk around the normal level
_WANDER_MEMORY_S = 12 * 3600.0
_DAILY_SWING_M = 0.04
_RISING_SHARE = 0.4  # a crest rises over the first 40 % of its passage and falls over the rest
_RATING_EXPONENT = 1.6


@dataclass(frozen=True, slots=True)
class Crest:
    """A smooth rise to ``peak`` above the usual and back, over ``duration_s`` from ``start``."""

    start: float
    duration_s: float
    peak: float

    def height(self, t: float) -> float:
        if self.duration_s <= 0:
            return 0.0
        x = (t - self.start) / self.duration_s
        if x <= 0 or x >= 1:
            return 0.0
        if x < _RISING_SHARE:
            return self.peak * 0.5 * (1 - math.cos(math.pi * x / _RISING_SHARE))
        falling = (x - _RISING_SHARE) / (1 - _RISING_SHARE)
        return self.peak * 0.5 * (1 + math.cos(math.pi * falling))


def _seasonal_water_temp(t: float) -> float:
    day = datetime.fromtimestamp(t, CITY_TZ).timetuple().tm_yday
    hour = local_hour(t)
    seasonal = 15.0 - 12.0 * math.cos(2 * math.pi * (day - 20) / 365)
    return seasonal + 0.8 * math.sin(2 * math.pi * (hour - 10) / 24)


def _do_saturation(temp_c: float) -> float:
    """Dissolved-oxygen saturation in fresh water (mg/L) at ``temp_c``."""
    return 14.62 - 0.3898 * temp_c + 0.006969 * temp_c**2 - 0.00005897 * temp_c**3


class RiverStation(SimDevice):
    kind = Kind.WATER

    def __init__(
        self, placement: Placement, rng: random.Random, interval_s: float, station: Station
    ) -> None:
        super().__init__(placement, rng, interval_s)
        if placement.river is None:
            raise ValueError(f"river station {placement.device_id} names no river")
        self.river = placement.river
        self.station = station
        self.crest: Crest | None = None
        self._wander = rng.gauss(0, _WANDER_SIGMA_M / 2)
        self._wander_at = 0.0
        self._daily_phase_h = rng.uniform(0, 24)
        # A river's own character: what its water is like on an ordinary day.
        self._ph = rng.uniform(7.5, 8.1)
        self._cod = rng.uniform(10.0, 16.0)
        self._turbidity = rng.uniform(8.0, 25.0)
        self._do_share = rng.uniform(0.82, 0.92)
        # Stage at which the river stops flowing, for the rating curve.
        self._zero_flow_m = 0.35 * station.normal_level_m

    def _boot(self, now: float) -> None:
        self._wander_at = now

    def set_crest(self, crest: Crest | None) -> None:
        self.crest = crest

    def level(self, t: float) -> float:
        """Stage at ``t``; advances the random walk, so call with non-decreasing times."""
        dt = max(0.0, t - self._wander_at)
        decay = math.exp(-dt / _WANDER_MEMORY_S)
        noise = _WANDER_SIGMA_M * math.sqrt(1 - decay * decay)
        self._wander = self._wander * decay + noise * self.rng.gauss(0, 1)
        self._wander_at = max(t, self._wander_at)
        hour = local_hour(t)
        daily = _DAILY_SWING_M * math.sin(2 * math.pi * (hour - self._daily_phase_h) / 24)
        flood = self.crest.height(t) if self.crest else 0.0
        return max(0.0, self.station.normal_level_m + daily + self._wander + flood)

    def flow(self, level: float) -> float:
        head = max(0.0, level - self._zero_flow_m)
        normal_head = self.station.normal_level_m - self._zero_flow_m
        return self.station.normal_flow_m3h * math.pow(head / normal_head, _RATING_EXPONENT)

    def _poll(self, now: float, periodic: bool) -> list[AnyReading]:
        if not periodic:
            return []
        rng = self.rng
        level = self.level(now)
        # How deep into a flood we are, 0–1: muddier, more organic load, less oxygen.
        flood = 0.0
        if self.crest is not None and self.crest.peak > 0:
            flood = self.crest.height(now) / self.crest.peak
        temp = _seasonal_water_temp(now) + rng.gauss(0, 0.1)
        hour = local_hour(now)
        photosynthesis = math.sin(2 * math.pi * (hour - 9) / 24)  # DO and pH peak mid-afternoon
        do = _do_saturation(temp) * (self._do_share + 0.05 * photosynthesis) * (1 - 0.15 * flood)
        return [
            RiverReading(
                device_id=self.device_id,
                ts=self._ms(now),
                seq=self._next_seq(),
                river=self.river,
                level_m=round(clamp(level, 0.0, 60.0), 3),
                flow_m3h=round(clamp(self.flow(level), 0.0, 5_000_000.0), 0),
                ph=round(clamp(self._ph + 0.15 * photosynthesis + rng.gauss(0, 0.03), 6, 9), 2),
                turbidity_ntu=round(self._turbidity * (1 + 12 * flood) * rng.gauss(1, 0.05), 1),
                do_mg_l=round(clamp(do + rng.gauss(0, 0.1), 0.0, 20.0), 2),
                cod_mg_l=round(max(0.0, self._cod * (1 + 0.6 * flood) + rng.gauss(0, 0.4)), 1),
                water_temp_c=round(clamp(temp, -5.0, 40.0), 1),
            )
        ]


class DrainSensor(SimDevice):
    kind = Kind.WATER

    def __init__(self, placement: Placement, rng: random.Random, interval_s: float) -> None:
        super().__init__(placement, rng, interval_s)
        self.flooding: Crest | None = None

    def _boot(self, now: float) -> None:
        pass

    def set_flooding(self, crest: Crest | None) -> None:
        self.flooding = crest

    def depth(self, t: float) -> float:
        standing = self.flooding.height(t) if self.flooding else 0.0
        # A dry road reads a few millimetres at most (ultrasonic noise), never below zero.
        return clamp(standing + abs(self.rng.gauss(0, 0.002)), 0.0, 3.0)

    def _poll(self, now: float, periodic: bool) -> list[AnyReading]:
        if not periodic:
            return []
        return [
            DrainReading(
                device_id=self.device_id,
                ts=self._ms(now),
                seq=self._next_seq(),
                depth_m=round(self.depth(now), 3),
            )
        ]
