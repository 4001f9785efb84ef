"""Smart manhole covers (智能井盖): battery devices that sleep, sample, and speak on change.

A healthy cover sits within a couple of degrees of its installed angle, closed, over a little
water, with next to no methane or hydrogen sulphide; it sends a heartbeat every 30 minutes.
When an alarm starts or ends (opened, tilted past 10°, gas past the low/high limits) it reports
at once with ``report="change"``. While anything is abnormal it samples every 30 seconds, as
vendors' covers do, so a rising gas level is caught as it crosses each limit.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from city.kinds import Kind
from city.telemetry import AnyReading, ManholeReading
from simulators.daylight import local_hour
from simulators.fleet import Placement
from simulators.kinds.base import CHANGE_LATENCY_S, NEVER, SimDevice, clamp

TILT_ALARM_DEG = 10.0
CH4_LIMITS_LEL = (10.0, 50.0)
H2S_LIMITS_PPM = (6.0, 20.0)
SAMPLE_WHILE_ABNORMAL_S = 30.0
_BATTERY_DRAIN_PER_S = 10.0 / (365 * 86400)  # ~10 %/year: a 8–10 year battery life


@dataclass(frozen=True, slots=True)
class GasLeak:
    """Gas rising linearly from the background to a peak over ``ramp_s``, then held."""

    start: float
    ramp_s: float = 20 * 60
    ch4_peak_lel: float = 65.0
    h2s_peak_ppm: float = 28.0

    def progress(self, t: float) -> float:
        if t <= self.start:
            return 0.0
        return min(1.0, (t - self.start) / self.ramp_s) if self.ramp_s > 0 else 1.0


@dataclass(frozen=True, slots=True)
class CoverSample:
    tilt_deg: float
    cover_open: bool
    water_level_m: float
    ch4_lel_pct: float
    h2s_ppm: float

    def alarms(self) -> tuple[bool, bool, int, int]:
        """(open, tilted, CH4 grade 0–2, H2S grade 0–2): a report goes out when this changes."""
        return (
            self.cover_open,
            self.tilt_deg > TILT_ALARM_DEG,
            sum(self.ch4_lel_pct >= limit for limit in CH4_LIMITS_LEL),
            sum(self.h2s_ppm >= limit for limit in H2S_LIMITS_PPM),
        )


class ManholeCover(SimDevice):
    kind = Kind.MANHOLE

    def __init__(self, placement: Placement, rng: random.Random, interval_s: float) -> None:
        super().__init__(placement, rng, interval_s)
        self.installed_tilt = rng.uniform(0.2, 1.6)
        self.water_base_m = rng.uniform(0.05, 0.6)
        self.ch4_background = rng.uniform(0.0, 1.5)
        self.h2s_background = rng.uniform(0.0, 0.8)
        self.battery = rng.uniform(55.0, 100.0)
        # Scenario state: what has been done to this cover, and since when.
        self.opened = False
        self.forced_tilt: float | None = None
        self.leak: GasLeak | None = None
        self._open_tilt = rng.uniform(60.0, 95.0)
        self._battery_at = 0.0
        self._reported: tuple[bool, bool, int, int] = (False, False, 0, 0)
        self._sample_due = NEVER

    def _boot(self, now: float) -> None:
        self._battery_at = now

    # --- scenarios -------------------------------------------------------------------------
    def set_open(self, opened: bool, now: float) -> None:
        self.opened = opened
        self._after_change(now)

    def set_tilt(self, degrees: float | None, now: float) -> None:
        self.forced_tilt = degrees
        self._after_change(now)

    def set_leak(self, leak: GasLeak | None, now: float) -> None:
        self.leak = leak
        self._after_change(now)

    def _after_change(self, now: float) -> None:
        self.wake(now + CHANGE_LATENCY_S)

    @property
    def disturbed(self) -> bool:
        return self.opened or self.forced_tilt is not None or self.leak is not None

    # --- sensing ---------------------------------------------------------------------------
    def sample(self, t: float) -> CoverSample:
        rng = self.rng
        if self.opened:
            tilt = self._open_tilt + rng.gauss(0, 0.5)
        elif self.forced_tilt is not None:
            tilt = self.forced_tilt + rng.gauss(0, 0.3)
        else:
            tilt = self.installed_tilt + abs(rng.gauss(0, 0.15))
        # Sewage flow peaks in the morning and the evening; the level follows it a little.
        daily = 1 + 0.25 * math.sin(2 * math.pi * (local_hour(t) - 5) / 12)
        water = self.water_base_m * daily + rng.gauss(0, 0.01)
        progress = self.leak.progress(t) if self.leak else 0.0
        ch4_peak = self.leak.ch4_peak_lel if self.leak else 0.0
        h2s_peak = self.leak.h2s_peak_ppm if self.leak else 0.0
        ch4 = self.ch4_background + (ch4_peak - self.ch4_background) * progress
        h2s = self.h2s_background + (h2s_peak - self.h2s_background) * progress
        return CoverSample(
            tilt_deg=round(clamp(tilt, 0.0, 180.0), 1),
            cover_open=self.opened,
            water_level_m=round(clamp(water, 0.0, 5.0), 3),
            ch4_lel_pct=round(clamp(ch4 + rng.gauss(0, 0.2), 0.0, 100.0), 1),
            h2s_ppm=round(clamp(h2s + rng.gauss(0, 0.1), 0.0, 500.0), 2),
        )

    def _own_due(self) -> float:
        return self._sample_due

    def _poll(self, now: float, periodic: bool) -> list[AnyReading]:
        self.battery = max(0.0, self.battery - (now - self._battery_at) * _BATTERY_DRAIN_PER_S)
        self._battery_at = now
        sample = self.sample(now)
        alarms = sample.alarms()
        changed = alarms != self._reported
        abnormal = self.disturbed or alarms != (False, False, 0, 0)
        self._sample_due = now + SAMPLE_WHILE_ABNORMAL_S if abnormal else NEVER
        if not (changed or periodic):
            return []
        self._reported = alarms
        return [
            ManholeReading(
                device_id=self.device_id,
                ts=self._ms(now),
                seq=self._next_seq(),
                report="change" if changed else "heartbeat",
                tilt_deg=sample.tilt_deg,
                cover_open=sample.cover_open,
                water_level_m=sample.water_level_m,
                ch4_lel_pct=sample.ch4_lel_pct,
                h2s_ppm=sample.h2s_ppm,
                battery_pct=round(self.battery),
            )
        ]
