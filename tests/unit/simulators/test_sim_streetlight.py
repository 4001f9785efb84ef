from __future__ import annotations

import random

import pytest

from city.kinds import Kind
from city.telemetry import StreetlightReading
from simulators.clock import parse_instant
from simulators.daylight import local_date, sun_times
from simulators.fleet import Placement
from simulators.kinds.streetlight import LightingSchedule, Streetlight

LAMP = Placement(
    device_id="sl-dongzhan-00012",
    kind=Kind.STREETLIGHT,
    township="yuanqiao",
    village="dongzhan",
    lat=37.44,
    lon=116.415,
    road="dezhou-dadao",
    road_index=12,
)


def reading_at(when: str, seed: int = 1) -> StreetlightReading:
    t = parse_instant(when)
    lamp = Streetlight(LAMP, random.Random(seed), interval_s=600)
    lamp.start(t - 600)
    (reading,) = lamp.poll(t + 600)  # the first periodic report falls within one interval
    assert isinstance(reading, StreetlightReading)
    return reading


def beijing_minutes(t: float) -> float:
    return ((t / 60) + 8 * 60) % (24 * 60)


@pytest.mark.parametrize(
    ("day", "sunset_hhmm", "sunrise_hhmm"),
    [("2025-12-15", (16, 57), (7, 22)), ("2026-06-25", (19, 39), (4, 55))],
)
def test_dezhou_sun_times_match_the_almanac(day: str, sunset_hhmm: tuple[int, int],
                                            sunrise_hhmm: tuple[int, int]) -> None:  # fmt: skip
    rise, set_ = sun_times(local_date(parse_instant(f"{day}T12:00:00")))
    assert beijing_minutes(set_) == pytest.approx(sunset_hhmm[0] * 60 + sunset_hhmm[1], abs=5)
    assert beijing_minutes(rise) == pytest.approx(sunrise_hhmm[0] * 60 + sunrise_hhmm[1], abs=5)


@pytest.mark.parametrize(
    ("when", "lit"),
    [
        ("2025-12-15T12:00:00", False),  # noon
        ("2025-12-15T16:35:00", False),  # sun still up (sets ~16:57)
        ("2025-12-15T17:30:00", True),  # lit by ~17:10
        ("2025-12-16T07:45:00", False),  # after sunrise (~07:22)
        ("2026-06-25T12:00:00", False),
        ("2026-06-25T19:15:00", False),  # a June evening stays light until ~19:40
        ("2026-06-25T20:15:00", True),
        ("2026-06-26T03:30:00", True),  # before a ~04:55 sunrise
        ("2026-06-26T05:30:00", False),
    ],
)
def test_lamps_follow_dusk_and_dawn_in_dezhou(when: str, lit: bool) -> None:
    # The reading is taken within ten minutes after ``when``; choose times well clear of switching.
    for seed in range(3):
        reading = reading_at(when, seed)
        assert reading.lamp_on is lit, (when, seed)
        assert (reading.power_w > 0) is lit
        assert reading.status == "ok"


def test_ambient_light_is_bright_by_day_and_dark_at_night() -> None:
    assert reading_at("2026-06-25T12:00:00").ambient_lux > 10_000
    assert reading_at("2026-06-25T23:00:00").ambient_lux < 5


def test_lamps_dim_after_midnight() -> None:
    evening = reading_at("2025-12-15T22:00:00")
    late = reading_at("2025-12-16T01:00:00")
    assert (evening.dimming_pct, late.dimming_pct) == (100, 50)
    assert late.power_w == pytest.approx(evening.power_w / 2, rel=0.1)


def test_electrical_values_are_plausible() -> None:
    lamp = Streetlight(LAMP, random.Random(5), interval_s=600)
    t = parse_instant("2026-01-10T18:00:00")
    lamp.start(t)
    readings = [r for k in range(1, 144) for r in lamp.poll(t + k * 600)]
    on = [r for r in readings if isinstance(r, StreetlightReading) and r.lamp_on]
    assert len(on) > 50
    for r in on:
        assert 198 <= r.voltage_v <= 242
        assert 0.88 <= r.power_factor <= 0.99
        assert r.power_w == pytest.approx(lamp.rated_w * r.dimming_pct / 100, rel=0.08)
        assert r.current_a == pytest.approx(r.power_w / (r.voltage_v * r.power_factor), rel=0.01)
    assert 60 <= lamp.rated_w <= 250


def test_energy_only_increases_and_matches_the_lit_hours() -> None:
    lamp = Streetlight(LAMP, random.Random(2), interval_s=600)
    t0 = parse_instant("2025-12-15T12:00:00")
    lamp.start(t0)
    energies = []
    for k in range(1, 24 * 6 + 1):
        energies.extend(
            r.energy_kwh for r in lamp.poll(t0 + k * 600) if isinstance(r, StreetlightReading)
        )
    assert energies == sorted(energies)
    used = energies[-1] - energies[0]
    # Winter night: ~17:07 to ~07:12 lit, full power until midnight, half after.
    hours = LightingSchedule().dimmed_hours(t0 + 600, t0 + 24 * 3600, lamp.skew_s)
    assert 9.5 < hours < 11.5
    assert used == pytest.approx(lamp.rated_w / 1000 * hours, rel=0.05)
