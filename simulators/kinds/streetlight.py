"""Single-lamp controllers (单灯控制器): metered LED lamps switched by the sun.

The district's schedule: on a few minutes after sunset, full brightness until midnight, dimmed
(50 %) from midnight until dawn, off a few minutes before sunrise. Each controller meters its
lamp (voltage, current, power, power factor, cumulative kWh) and reports every ten minutes.
A feeder fault (scenario) leaves lamps commanded on but drawing nothing: ``defectiveLamp``, 0 W.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from city.kinds import Kind
from city.telemetry import AnyReading, LampStatus, StreetlightReading
from simulators.daylight import ambient_lux, local_date, next_local_midnight, sun_times
from simulators.fleet import Placement
from simulators.kinds.base import CHANGE_LATENCY_S, SimDevice, clamp

NOMINAL_V = 220.0


@dataclass(frozen=True, slots=True)
class LightingSchedule:
    on_after_sunset_s: float = 10 * 60
    off_before_sunrise_s: float = 10 * 60
    night_dimming_pct: int = 50  # from local midnight until the lamps go off

    def state(self, t: float, skew_s: float = 0.0) -> tuple[bool, int, float]:
        """(lamp on, dimming %, when this state ends) at ``t``; ``skew_s`` shifts both switch
        times for one lamp (photocells and relay clocks are never exactly alike)."""
        day = local_date(t)
        rise, set_ = sun_times(day)
        off_at = rise - self.off_before_sunrise_s + skew_s
        on_at = set_ + self.on_after_sunset_s + skew_s
        if t < off_at:
            return True, self.night_dimming_pct, off_at
        if t < on_at:
            return False, 0, on_at
        return True, 100, next_local_midnight(t)

    def dimmed_hours(self, t0: float, t1: float, skew_s: float = 0.0) -> float:
        """∫ dimming/100 dt over [t0, t1] in hours: the lamp's energy at 1 kW rating."""
        total = 0.0
        t = t0
        while t < t1:
            _, dimming, ends = self.state(t, skew_s)
            segment_end = min(ends, t1)
            total += dimming / 100 * (segment_end - t)
            t = segment_end
        return total / 3600


def _rated_watts(road: str | None, rng: random.Random) -> int:
    """Arterials (大道) carry bright lamps, village lanes (村道) small ones."""
    road = road or ""
    if "dadao" in road:
        return rng.choice((150, 180, 200, 250))
    if "cundao" in road or "zhongxinjie" in road:
        return rng.choice((60, 80, 100))
    return rng.choice((100, 120, 150))


class Streetlight(SimDevice):
    kind = Kind.STREETLIGHT

    def __init__(
        self,
        placement: Placement,
        rng: random.Random,
        interval_s: float,
        schedule: LightingSchedule | None = None,
    ) -> None:
        super().__init__(placement, rng, interval_s)
        if placement.road is None:
            raise ValueError(f"lamp {placement.device_id} stands on no road")
        self.road = placement.road
        self.schedule = schedule or LightingSchedule()
        self.rated_w = _rated_watts(placement.road, rng)
        self.power_factor = rng.uniform(0.93, 0.98)
        self.skew_s = rng.uniform(-120, 120)
        self.energy_kwh = round(rng.uniform(50, 3000), 3)  # lamps have run for a while
        self.fault: LampStatus | None = None
        self._metered_until = 0.0
        self._reported_status: LampStatus = "ok"

    def _boot(self, now: float) -> None:
        self._metered_until = now

    def set_fault(self, status: LampStatus | None, now: float) -> None:
        """A feeder or lamp fault from ``now`` on (``None`` repairs it); reported at once."""
        self._meter(now)
        self.fault = status
        self.wake(now + CHANGE_LATENCY_S)

    def lamp_state(self, t: float) -> tuple[bool, int]:
        on, dimming, _ = self.schedule.state(t, self.skew_s)
        return on, dimming

    def _meter(self, now: float) -> None:
        """Add the energy used since the last metering; a faulty lamp draws nothing."""
        if now <= self._metered_until:
            return
        if self.fault is None:
            hours = self.schedule.dimmed_hours(self._metered_until, now, self.skew_s)
            self.energy_kwh += self.rated_w / 1000 * hours
        self._metered_until = now

    def _poll(self, now: float, periodic: bool) -> list[AnyReading]:
        status: LampStatus = self.fault or "ok"
        if not periodic and status == self._reported_status:
            return []
        self._reported_status = status
        self._meter(now)
        on, dimming = self.lamp_state(now)
        rng = self.rng
        # Mains sag in the evening peak and rise late at night when the grid is lightly loaded.
        evening = 0.985 if on and dimming == 100 else 1.01 if on else 1.0
        voltage = clamp(NOMINAL_V * evening * rng.gauss(1.0, 0.012), 198.0, 242.0)
        if on and self.fault is None:
            load = dimming / 100
            power = self.rated_w * load * rng.gauss(1.0, 0.015)
            pf = clamp(self.power_factor - (1 - load) * 0.04 + rng.gauss(0, 0.003), 0.85, 0.99)
            current = power / (voltage * pf)
        else:
            power, pf, current = 0.0, 0.0, 0.0
        return [
            StreetlightReading(
                device_id=self.device_id,
                ts=self._ms(now),
                seq=self._next_seq(),
                road=self.road,
                voltage_v=round(voltage, 1),
                current_a=round(current, 3),
                power_w=round(power, 1),
                power_factor=round(pf, 3),
                energy_kwh=round(self.energy_kwh, 3),
                dimming_pct=dimming if on else 0,
                lamp_on=on,
                status=status,
                ambient_lux=round(max(0.0, ambient_lux(now) * rng.gauss(1.0, 0.04)), 1),
            )
        ]
