from __future__ import annotations

import pytest

from city.kinds import Kind
from city.telemetry import StreetlightReading
from city.topology import City
from simulators.clock import parse_instant
from simulators.engine import Engine, Outgoing
from simulators.fleet import Fleet
from simulators.scenarios import ScenarioBook, ScenarioError, parse_spec, spec_from_json
from tests.unit.simulators.sim_testkit import SUMMER_AFTERNOON, run_engine

NIGHT = parse_instant("2026-07-15T21:00:00")


def test_parse_spec() -> None:
    spec = parse_spec(" gas-leak:device=mh-dongzhan-00003, ramp=10m ")
    assert spec.name == "gas-leak"
    assert dict(spec.params) == {"device": "mh-dongzhan-00003", "ramp": "10m"}
    assert str(spec) == "gas-leak:device=mh-dongzhan-00003,ramp=10m"
    assert dict(parse_spec("clear:all").params) == {"all": ""}
    assert spec_from_json({"spec": "silent:device=x"}).name == "silent"
    assert dict(spec_from_json({"name": "cover-tilt", "deg": 30, "device": "m"}).params) == {
        "deg": "30",
        "device": "m",
    }
    with pytest.raises(ScenarioError):
        spec_from_json(["gas-leak"])


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("earthquake:village=dongzhan", "unknown scenario"),
        ("gas-leak", "say which devices"),
        ("gas-leak:device=mh-nowhere-00001", "no device"),
        ("silent:device=pk-nowhere-00001", "no device"),
        ("lamp-outage:device=sl-nowhere-00001", "no device"),
        ("lamp-outage:device=mh-dongzhan-00000", "not a streetlight"),
        ("gas-leak:device=sl-dongzhan-00001", "not a manhole"),
        ("gas-leak:village=dongzhan,colour=red", "unknown parameter"),
        ("cover-tilt:village=dongzhan,deg=steep", "not a number"),
        ("lamp-outage:road=no-such-road", "no lamps"),
        ("flood-crest:river=yangtze", "no station"),
        ("malformed:rate=2", "rate"),
        ("malformed:kinds=bad-json+haiku", "unknown kinds"),
        ("clear:id=nothing-1", "nothing matches"),
    ],
)
def test_bad_specs_are_refused_with_a_reason(
    city: City, fleet_1000: Fleet, spec: str, complaint: str
) -> None:
    book = ScenarioBook(Engine(fleet_1000, city, SUMMER_AFTERNOON))
    with pytest.raises(ScenarioError, match=complaint):
        book.inject(spec)
    assert not book.scenarios


def lamp_readings(messages: list[Outgoing]) -> dict[str, list[StreetlightReading]]:
    out: dict[str, list[StreetlightReading]] = {}
    for m in messages:
        if m.malformation is None and m.device_id.startswith("sl-"):
            out.setdefault(m.device_id, []).append(
                StreetlightReading.model_validate_json(m.payload)
            )
    return out


def test_lamp_outage_takes_out_consecutive_lamps_of_one_road_only(
    city: City, fleet_1000: Fleet
) -> None:
    engine = Engine(fleet_1000, city, NIGHT)
    book = ScenarioBook(engine)
    (scenario,) = book.inject("lamp-outage:road=dezhou-dadao,count=4")
    readings = lamp_readings(run_engine(engine, NIGHT + 1800, step=30, book=book))
    failed = {d for d, rs in readings.items() if any(r.status != "ok" for r in rs)}
    assert failed == set(scenario["devices"])
    placements = {p.device_id: p for p in fleet_1000}
    indexes = sorted(placements[d].road_index or 0 for d in failed)
    assert len(indexes) == 4
    assert indexes == list(range(indexes[0], indexes[0] + 4))
    assert {placements[d].road for d in failed} == {"dezhou-dadao"}
    for device_id in failed:
        first = readings[device_id][0]
        # Reported at once, not at the next ten-minute report: commanded on, drawing nothing.
        assert first.ts / 1000 - NIGHT < 10
        assert (first.status, first.lamp_on, first.power_w) == ("defectiveLamp", True, 0.0)
    neighbours = [
        d
        for d, p in placements.items()
        if p.kind is Kind.STREETLIGHT and p.road == "dezhou-dadao" and d not in failed
    ]
    assert neighbours
    for device_id in neighbours:
        assert all(r.status == "ok" and r.power_w > 50 for r in readings[device_id])

    book.inject("clear:name=lamp-outage")
    repaired = lamp_readings(run_engine(engine, engine.now + 60, step=10, book=book))
    for device_id in failed:
        assert repaired[device_id][0].status == "ok"
        assert repaired[device_id][0].power_w > 50


def test_silent_device_stops_and_comes_back(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    book = ScenarioBook(engine)
    book.inject("silent:device=pk-dongzhan-00000")
    assert list(engine.presence) == [("pk-dongzhan-00000", False)]
    quiet = run_engine(engine, SUMMER_AFTERNOON + 2 * 3600, book=book)
    assert not [m for m in quiet if m.device_id == "pk-dongzhan-00000"]
    assert [m for m in quiet if m.device_id == "pk-dongzhan-00001"]

    book.inject("clear:all")
    assert engine.presence[-1] == ("pk-dongzhan-00000", True)
    back = run_engine(engine, engine.now + 60, step=10, book=book)
    assert [m for m in back if m.device_id == "pk-dongzhan-00000"]


def test_after_and_for_schedule_a_scenario(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    book = ScenarioBook(engine)
    (described,) = book.inject("silent:kind=manhole,village=hubin,count=2,after=10m,for=20m")
    assert not described["active"] and not engine.silent
    book.tick(SUMMER_AFTERNOON + 11 * 60)
    assert engine.silent == set(described["devices"]) and len(engine.silent) == 2
    assert all(engine.device(d).kind is Kind.MANHOLE for d in engine.silent)
    book.tick(SUMMER_AFTERNOON + 31 * 60)
    assert not engine.silent and not book.scenarios


def test_a_new_malformed_rate_replaces_the_old(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    book = ScenarioBook(engine)
    book.inject("malformed:rate=0.5")
    book.inject("malformed:rate=0.01,kinds=bad-json")
    assert [s.name for s in book.scenarios.values()] == ["malformed"]
    assert engine.malformed is not None and engine.malformed.rate == 0.01
    book.inject("clear:name=malformed")
    assert engine.malformed is None
