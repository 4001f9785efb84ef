from __future__ import annotations

import pytest

from city.kinds import Kind
from city.telemetry import DrainReading, RiverReading
from city.topology import City
from simulators.engine import Engine, Outgoing
from simulators.fleet import Fleet, build_fleet
from simulators.kinds import RiverStation
from simulators.scenarios import ScenarioBook
from tests.unit.simulators.sim_testkit import SUMMER_AFTERNOON, run_engine


@pytest.fixture(scope="module")
def water_fleet(city: City) -> Fleet:
    """Only water devices: the six river stations and a few dozen drains."""
    return build_fleet(city, 40, seed=7, mix={})


def rivers(messages: list[Outgoing]) -> list[RiverReading]:
    return [
        RiverReading.model_validate_json(m.payload)
        for m in messages
        if m.malformation is None and b'"site":"river"' in m.payload
    ]


def drains(messages: list[Outgoing]) -> list[DrainReading]:
    return [
        DrainReading.model_validate_json(m.payload)
        for m in messages
        if m.malformation is None and b'"site":"drain"' in m.payload
    ]


def test_rivers_stay_near_normal_and_in_class_iii(city: City, water_fleet: Fleet) -> None:
    engine = Engine(water_fleet, city, SUMMER_AFTERNOON)
    readings = rivers(run_engine(engine, SUMMER_AFTERNOON + 2 * 86400, step=300))
    stations = {s.id: s for _, s in city.stations()}
    assert len({r.device_id for r in readings}) == 6
    assert len(readings) > 6 * 500  # every five minutes for two days
    for r in readings:
        station = stations[r.device_id.removeprefix("wt-")]
        assert abs(r.level_m - station.normal_level_m) < 0.7
        assert r.level_m < station.warning_level_m
        assert 0.5 < r.flow_m3h / station.normal_flow_m3h < 1.8
        assert 6 <= r.ph <= 9 and r.do_mg_l >= 5 and r.cod_mg_l <= 20
        assert 15 < r.water_temp_c < 32  # July


def test_flow_rises_with_level(city: City, water_fleet: Fleet) -> None:
    engine = Engine(water_fleet, city, SUMMER_AFTERNOON)
    station = next(d for d in engine.devices_of(Kind.WATER) if isinstance(d, RiverStation))
    flows = [station.flow(level) for level in (2.0, 3.0, 4.0, 6.0, 8.0)]
    assert flows == sorted(flows) and flows[0] < flows[-1] / 4


def test_flood_crest_on_majiahe_passes_warning_and_guarantee_and_recedes(
    city: City, water_fleet: Fleet
) -> None:
    engine = Engine(water_fleet, city, SUMMER_AFTERNOON)
    book = ScenarioBook(engine)
    book.inject("flood-crest:river=majiahe,duration=6h")
    readings = rivers(run_engine(engine, SUMMER_AFTERNOON + 10 * 3600, step=300, book=book))
    stations = {s.id: s for _, s in city.stations()}
    for device_id in ("wt-majiahe-zhaohu", "wt-majiahe-majiadao"):
        station = stations[device_id.removeprefix("wt-")]
        series = [r for r in readings if r.device_id == device_id]
        levels = [r.level_m for r in series]
        peak_at = levels.index(max(levels))
        assert max(levels) > station.guarantee_level_m > station.warning_level_m
        assert levels[0] < station.warning_level_m  # before
        assert levels[-1] < station.warning_level_m  # and after it has passed
        assert series[peak_at].turbidity_ntu > 3 * series[0].turbidity_ntu
    # The downstream station peaks later; other rivers do not flood.
    peaks = {
        d: max((r for r in readings if r.device_id == d), key=lambda r: r.level_m).ts
        for d in ("wt-majiahe-zhaohu", "wt-majiahe-majiadao")
    }
    assert peaks["wt-majiahe-zhaohu"] < peaks["wt-majiahe-majiadao"]
    for r in readings:
        if r.river != "majiahe":
            assert r.level_m < stations[r.device_id.removeprefix("wt-")].warning_level_m
    assert not book.scenarios  # the crest ended by itself


def test_drains_are_dry_until_waterlogging(city: City, water_fleet: Fleet) -> None:
    engine = Engine(water_fleet, city, SUMMER_AFTERNOON)
    dry = drains(run_engine(engine, SUMMER_AFTERNOON + 3600, step=300))
    assert dry and all(r.depth_m <= 0.01 for r in dry)

    book = ScenarioBook(engine)
    book.inject("waterlogging:village=tianqu,depth=0.35,duration=2h")
    wet = drains(run_engine(engine, engine.now + 3 * 3600, step=300, book=book))
    underpass = [r.depth_m for r in wet if r.device_id == "wt-tianqu-underpass"]
    assert max(underpass) > 0.3
    assert underpass[-1] <= 0.01
    elsewhere = [r.depth_m for r in wet if r.device_id == "wt-hubin-tunnel"]
    assert max(elsewhere) <= 0.01
