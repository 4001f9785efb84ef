from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from collections import Counter

import pytest

from city.kinds import Kind
from city.telemetry import DEVICE_ID_PATTERN
from city.topology import City
from simulators.fleet import Fleet, apportion, build_fleet, road_length_m


def test_fleet_reaches_every_township_and_village(city: City, fleet_1000: Fleet) -> None:
    all_villages = {v.id for _, v in city.villages()}
    assert len(city.townships) == 7
    assert len(all_villages) == 35
    assert {p.township for p in fleet_1000} == {t.id for t in city.townships}
    assert {p.village for p in fleet_1000} == all_villages
    # Lamps, covers and bays are each spread over every village, not just the fleet as a whole.
    for kind in (Kind.STREETLIGHT, Kind.MANHOLE, Kind.PARKING):
        assert {p.village for p in fleet_1000.of_kind(kind)} == all_villages, kind


def test_ids_are_unique_ascii_and_match_the_contract(fleet_1000: Fleet) -> None:
    ids = [p.device_id for p in fleet_1000]
    assert len(ids) == len(set(ids)) == 1000
    for p in fleet_1000:
        assert p.device_id.isascii()
        assert re.match(DEVICE_ID_PATTERN, p.device_id), p.device_id
        assert p.device_id.startswith(p.kind.id_prefix + "-")
    assert "sl-dongzhan-00012" in ids


def test_kind_mix_follows_the_defaults_and_river_stations_are_always_there(city: City) -> None:
    fleet = build_fleet(city, 1000, seed=1)
    counts = fleet.counts()
    assert sum(counts.values()) == 1000
    assert counts[Kind.STREETLIGHT] == pytest.approx(550, abs=6)
    assert counts[Kind.MANHOLE] == pytest.approx(200, abs=6)
    assert counts[Kind.PARKING] == pytest.approx(220, abs=6)
    stations = {s.id for _, s in city.stations()}
    assert {p.station for p in fleet if p.site == "river"} == stations

    smallest = build_fleet(city, len(stations), seed=1)
    assert {p.station for p in smallest} == stations
    with pytest.raises(ValueError, match="river station"):
        build_fleet(city, len(stations) - 1)


def test_custom_mix(city: City) -> None:
    fleet = build_fleet(city, 206, mix={Kind.STREETLIGHT: 1.0})
    assert fleet.counts() == Counter({Kind.STREETLIGHT: 200, Kind.WATER: 6})
    with pytest.raises(ValueError, match="add up"):
        build_fleet(city, 100, mix={Kind.STREETLIGHT: 0.9, Kind.PARKING: 0.3})


def test_same_seed_same_fleet_other_seed_other_positions(city: City) -> None:
    a = build_fleet(city, 500, seed=3)
    assert a == build_fleet(city, 500, seed=3)
    b = build_fleet(city, 500, seed=4)
    assert [p.device_id for p in a] == [p.device_id for p in b]  # ids depend on size, not seed
    bays_a = [(p.lat, p.lon) for p in a.of_kind(Kind.PARKING)]
    bays_b = [(p.lat, p.lon) for p in b.of_kind(Kind.PARKING)]
    assert bays_a != bays_b


def test_lamps_are_evenly_spaced_in_order_along_their_road(city: City, fleet_1000: Fleet) -> None:
    road = next(r for _, v in city.villages() for r in v.roads if r.id == "dezhou-dadao")
    lamps = [p for p in fleet_1000.of_kind(Kind.STREETLIGHT) if p.road == road.id]
    assert len(lamps) >= 5
    assert [p.road_index for p in lamps] == list(range(len(lamps)))
    gaps = [math.dist((a.lat, a.lon), (b.lat, b.lon)) for a, b in itertools.pairwise(lamps)]
    assert max(gaps) == pytest.approx(min(gaps), rel=1e-6)
    assert road_length_m(road) == pytest.approx(3113, rel=0.01)  # 0.028° of latitude


def test_parking_bays_cluster_at_hotspots(fleet_1000: Fleet) -> None:
    station_bays = [
        p for p in fleet_1000.of_kind(Kind.PARKING) if p.hotspot == "dezhou-east-station"
    ]
    assert station_bays
    assert all(p.hotspot_weight == 6.0 for p in station_bays)
    for p in station_bays:  # within ~150 m of the station
        assert abs(p.lat - 37.444) < 0.0015
        assert abs(p.lon - 116.417) < 0.002


def test_a_50000_device_fleet_builds(city: City) -> None:
    fleet = build_fleet(city, 50_000, seed=1)
    assert len(fleet) == 50_000
    assert len({p.device_id for p in fleet}) == 50_000
    assert fleet.counts()[Kind.WATER] > 1000  # extra drains along roads at this scale


def test_export_csv_and_json(city: City) -> None:
    fleet = build_fleet(city, 120, seed=2)
    rows = list(csv.DictReader(io.StringIO(fleet.to_csv())))
    assert len(rows) == 120
    assert set(rows[0]) >= {"device_id", "kind", "township", "village", "road", "river", "site"}
    assert {r["kind"] for r in rows} == {k.value for k in Kind}
    river = next(r for r in rows if r["site"] == "river")
    assert river["river"] and river["station"] and not river["road"]
    data = json.loads(fleet.to_json())
    assert data["seed"] == 2
    assert [d["device_id"] for d in data["devices"]] == [r["device_id"] for r in rows]
    assert isinstance(data["devices"][0]["lat"], float)


@pytest.mark.parametrize("total", [0, 1, 34, 35, 36, 1000])
def test_apportion_adds_up(total: int) -> None:
    weights = [1.0 + i % 7 for i in range(35)]
    parts = apportion(total, weights, at_least_one=True)
    assert sum(parts) == total
    if total >= 35:
        assert min(parts) >= 1
