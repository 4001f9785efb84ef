from __future__ import annotations

import itertools
import statistics

from city.kinds import Kind
from city.telemetry import ParkingReading
from city.topology import City
from simulators.clock import parse_instant
from simulators.engine import Engine
from simulators.fleet import build_fleet
from simulators.kinds import ParkingBay
from simulators.kinds.parking import occupancy_probability
from tests.unit.simulators.sim_testkit import run_engine

WEEKDAY_10AM = parse_instant("2026-07-15T10:00:00")
WEEKDAY_3AM = parse_instant("2026-07-15T03:00:00")


def test_occupancy_follows_the_hour_and_the_hotspot() -> None:
    assert occupancy_probability(WEEKDAY_3AM) < 0.3 < 0.6 < occupancy_probability(WEEKDAY_10AM)
    assert occupancy_probability(WEEKDAY_10AM, 6.0) > 0.95
    assert occupancy_probability(WEEKDAY_3AM, 6.0) > occupancy_probability(WEEKDAY_10AM)
    saturday = parse_instant("2026-07-18T10:00:00")
    assert occupancy_probability(saturday) < occupancy_probability(WEEKDAY_10AM)


def test_bays_near_the_station_are_fuller_at_a_busy_hour(city: City) -> None:
    fleet = build_fleet(city, 3000, seed=11)
    start = WEEKDAY_10AM - 3 * 3600
    engine = Engine(fleet, city, start)
    run_engine(engine, WEEKDAY_10AM, step=300)
    bays = [d for d in engine.devices_of(Kind.PARKING) if isinstance(d, ParkingBay)]
    station = [b.occupied for b in bays if b.placement.hotspot == "dezhou-east-station"]
    ordinary = [b.occupied for b in bays if b.placement.hotspot is None]
    assert len(station) >= 30 and len(ordinary) >= 200
    assert statistics.mean(station) > 0.85
    assert statistics.mean(station) > statistics.mean(ordinary) + 0.2
    assert 0.45 < statistics.mean(ordinary) < 0.85


def test_changes_alternate_and_heartbeats_keep_coming(city: City) -> None:
    fleet = build_fleet(city, 300, seed=3)
    engine = Engine(fleet, city, WEEKDAY_10AM)
    messages = run_engine(engine, WEEKDAY_10AM + 12 * 3600, step=120)
    bay_ids = {p.device_id for p in fleet.of_kind(Kind.PARKING)}
    by_bay: dict[str, list[ParkingReading]] = {}
    for m in messages:
        if m.device_id in bay_ids:
            by_bay.setdefault(m.device_id, []).append(ParkingReading.model_validate_json(m.payload))
    total_changes = 0
    for readings in by_bay.values():
        states = [r.occupied for r in readings if r.report == "change"]
        total_changes += len(states)
        assert all(a != b for a, b in itertools.pairwise(states))
        assert sum(r.report == "heartbeat" for r in readings) >= 20  # every 30 min for 12 h
        assert [r.seq for r in readings] == list(range(len(readings)))
    assert total_changes > 5 * len(by_bay)  # cars come and go all day
