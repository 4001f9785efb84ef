from __future__ import annotations

import itertools
import json

from city.kinds import Kind
from city.telemetry import ManholeReading
from city.topology import City
from simulators.engine import Engine, Outgoing
from simulators.fleet import Fleet
from simulators.scenarios import ScenarioBook
from tests.unit.simulators.sim_testkit import SUMMER_AFTERNOON, run_engine

COVER = "mh-dongzhan-00000"


def covers(messages: list[Outgoing], device_id: str = COVER) -> list[ManholeReading]:
    return [
        ManholeReading.model_validate_json(m.payload)
        for m in messages
        if m.device_id == device_id and m.malformation is None
    ]


def minutes(reading: ManholeReading, start: float) -> float:
    return (reading.ts / 1000 - start) / 60


def test_a_quiet_cover_sends_normal_heartbeats_every_half_hour(
    city: City, fleet_1000: Fleet
) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    readings = covers(run_engine(engine, SUMMER_AFTERNOON + 6 * 3600))
    assert 11 <= len(readings) <= 13
    for r in readings:
        assert r.report == "heartbeat"
        assert r.tilt_deg < 2.5 and not r.cover_open
        assert r.ch4_lel_pct < 2 and r.h2s_ppm < 1.2
        assert 0 <= r.water_level_m < 1
    gaps = [b.ts - a.ts for a, b in itertools.pairwise(readings)]
    assert all(1700_000 < g < 1900_000 for g in gaps)
    assert [r.seq for r in readings] == list(range(len(readings)))


def test_battery_drains_slowly(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    cover = engine.device(COVER)
    (first,) = cover.poll(SUMMER_AFTERNOON + 1800)
    (later,) = cover.poll(SUMMER_AFTERNOON + 200 * 86400)
    assert isinstance(first, ManholeReading) and isinstance(later, ManholeReading)
    assert first.battery_pct - 7 <= later.battery_pct <= first.battery_pct - 4


def test_gas_leak_crosses_the_low_and_high_limits_and_recovers(
    city: City, fleet_1000: Fleet
) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    book = ScenarioBook(engine)
    (scenario,) = book.inject(f"gas-leak:device={COVER},ramp=20m")
    readings = covers(run_engine(engine, SUMMER_AFTERNOON + 30 * 60, step=10, book=book))
    changes = [r for r in readings if r.report == "change"]
    # Each limit crossing is reported when it happens: 10 and 50 %LEL, 6 and 20 ppm.
    ch4_levels = [sum(r.ch4_lel_pct >= x for x in (10, 50)) for r in changes]
    h2s_levels = [sum(r.h2s_ppm >= x for x in (6, 20)) for r in changes]
    assert {1, 2} <= set(ch4_levels)
    assert {1, 2} <= set(h2s_levels)
    first_alarm = next(r for r in changes if r.ch4_lel_pct >= 10)
    assert 2 < minutes(first_alarm, SUMMER_AFTERNOON) < 5  # 65 %LEL over 20 min: 10 at ~3 min
    assert max(r.ch4_lel_pct for r in readings) > 60
    assert max(r.h2s_ppm for r in readings) > 25

    book.inject(f"clear:id={scenario['id']}")
    after = covers(run_engine(engine, engine.now + 120, step=10, book=book))
    assert after[0].report == "change"
    assert after[0].ch4_lel_pct < 10 and after[0].h2s_ppm < 6


def test_cover_opened_is_reported_at_once_and_closing_too(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    book = ScenarioBook(engine)
    book.inject(f"cover-open:device={COVER}")
    (opened,) = covers(run_engine(engine, SUMMER_AFTERNOON + 20, step=1, book=book))
    assert opened.report == "change" and opened.cover_open
    assert minutes(opened, SUMMER_AFTERNOON) < 0.2
    book.inject("clear:name=cover-open")
    (closed,) = covers(run_engine(engine, engine.now + 20, step=1, book=book))
    assert closed.report == "change" and not closed.cover_open


def test_cover_tilt_is_held(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    book = ScenarioBook(engine)
    book.inject(f"cover-tilt:device={COVER},deg=25")
    readings = covers(run_engine(engine, SUMMER_AFTERNOON + 2 * 3600, book=book))
    assert readings[0].report == "change"
    assert len(readings) >= 4  # the change, then heartbeats that keep showing the tilt
    assert all(24 < r.tilt_deg < 26 for r in readings)
    assert sum(r.report == "change" for r in readings) == 1


def test_covers_in_a_village_are_chosen_in_id_order(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    (scenario,) = ScenarioBook(engine).inject("cover-open:village=dongzhan,count=3")
    expected = sorted(
        p.device_id for p in fleet_1000.of_kind(Kind.MANHOLE) if p.village == "dongzhan"
    )
    assert scenario["devices"] == expected[:3]
    assert json.dumps(scenario)  # the control endpoint returns it as JSON
