"""Readings against the real influxd: scoping, caps, and InfluxQL injection attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from api.core.scope import Level, Scope
from api.readings import queries
from api.readings.store import ReadingsStore
from city.kinds import Kind
from tests.integration.api.conftest import World

pytestmark = pytest.mark.integration

HOSTILE = [
    "x' OR 1=1 --",
    'x" OR 1=1 --',
    '"; DROP DATABASE tianqu',
    "'; DROP DATABASE tianqu; --",
    ".*",
    "/.*/",
    "pk-.*",
    "^pk",
    'pk-datun-00001\' OR "device" =~ /.*/ --',
    "\\",
    "$scope_township",
    "pk-dongzhan-00001\nSELECT * FROM parking",
]


def _store(world: World) -> ReadingsStore:
    store: ReadingsStore = world.app.state.readings
    return store


def _all_points(world: World) -> int:
    influx = world.influx()
    try:
        [series] = influx.query('SELECT count("seq") FROM "parking"')[0]
        return int(series.values[0][1])
    finally:
        influx.close()


def test_latest_reading_of_own_device(world: World) -> None:
    response = world.get("village-a", f"/devices/{world.devices['A']}/readings/latest")
    assert response.status_code == 200, response.text
    assert response.json()["values"]["occupied"] == 1
    other = world.get("village-a", f"/devices/{world.devices['B']}/readings/latest")
    assert other.status_code == 404


def test_device_history(world: World) -> None:
    response = world.get(
        "township-yuanqiao",
        f"/devices/{world.devices['B']}/readings/history",
        params={"field": "battery_pct", "aggregation": "max", "interval": "1h"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["interval"] == "1h"
    [series] = body["series"]
    assert [p["value"] for p in series["points"]] == [77]


def test_history_picks_an_interval_when_none_is_given(world: World) -> None:
    end = datetime.now(UTC)
    response = world.get(
        "district",
        "/readings/history",
        params={
            "kind": "parking",
            "field": "seq",
            "start": (end - timedelta(days=7)).isoformat(),
            "end": end.isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["interval"] == "30m"


@pytest.mark.parametrize(
    ("params", "loc", "words"),
    [
        ({"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "interval": "1d"},
         ["query", "start"], "at most 93 days"),
        ({"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z", "interval": "10s"},
         ["query", "interval"], "at most 5000"),
        ({"start": "2024-02-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
         ["query", "start"], "before end"),
        ({"field": "report"}, ["query", "aggregation"], "only 'last'"),
        ({"field": "level_m"}, ["query", "field"], "no field"),
        ({"interval": "5 minutes"}, ["query", "interval"], "pattern"),
        ({"interval": "1m) ; DROP"}, ["query", "interval"], "pattern"),
        ({"field": 'seq") FROM "manhole'}, ["query", "field"], "pattern"),
        ({"aggregation": "count"}, ["query", "aggregation"], "mean"),
        ({"kind": "sewer"}, ["query", "kind"], "streetlight"),
        ({"township": "x' OR 1=1 --"}, ["query", "township"], "pattern"),
        ({"start": "1970-01-01T00:00:00Z", "end": "1970-01-02T00:00:00Z"},
         ["query", "start"], "between 2000"),
    ],
)  # fmt: skip
def test_bad_history_requests_name_the_parameter(
    world: World, params: dict[str, str], loc: list[str], words: str
) -> None:
    query = {"kind": "parking", "field": "seq", **params}
    response = world.get("district", "/readings/history", params=query)
    assert response.status_code == 422, response.text
    [error] = [e for e in response.json()["detail"] if e["loc"] == loc]
    assert words in error["msg"], error


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_ids_in_urls_are_refused_or_not_found(world: World, hostile: str) -> None:
    before = _all_points(world)
    for path in ("/devices/{}", "/devices/{}/readings/latest", "/devices/{}/readings/history"):
        url = path.format(quote(hostile, safe=""))
        response = world.get("village-a", url, params={"field": "seq"})
        assert response.status_code in (404, 422), f"{url}: {response.text}"
    for name in ("township", "village"):
        response = world.get(
            "village-a",
            "/readings/history",
            params={"kind": "parking", "field": "seq", name: hostile},
        )
        assert response.status_code in (404, 422), response.text
        response = world.get("village-a", "/devices", params={name: hostile})
        assert response.status_code == 422, response.text
    assert _all_points(world) == before == 3


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_bound_into_influxql_match_nothing(world: World, hostile: str) -> None:
    """Past the API's own validation: the query builder on the real influxd, with bound values."""
    store = _store(world)
    district = Scope.district()
    assert store.latest(Kind.PARKING, hostile, district) is None
    assert store.statuses(district, device_ids=[hostile]) == {}
    assert store.statuses(Scope(Level.TOWNSHIP, hostile)) == {}
    assert store.statuses(Scope(Level.VILLAGE, "yuanqiao", hostile)) == {}
    end = datetime.now(UTC) + timedelta(minutes=1)
    query = queries.history(
        kind=Kind.PARKING, field_name="seq", aggregation="last", start=end - timedelta(days=1),
        end=end, interval="1h", scope=Scope(Level.VILLAGE, hostile, hostile),
    )  # fmt: skip
    assert store.history(query) == []
    assert _all_points(world) == 3


def test_the_scope_is_part_of_every_reading_query(world: World) -> None:
    """Even given another area's device id directly, a scoped query finds nothing."""
    store = _store(world)
    village_a = Scope(Level.VILLAGE, "yuanqiao", "dongzhan")
    other = world.devices["B"]
    assert store.latest(Kind.PARKING, world.devices["A"], village_a) is not None
    assert store.latest(Kind.PARKING, other, village_a) is None
    assert store.statuses(village_a, device_ids=[other]) == {}
    end = datetime.now(UTC) + timedelta(minutes=1)
    query = queries.history(
        kind=Kind.PARKING, field_name="seq", aggregation="last", start=end - timedelta(days=1),
        end=end, interval="1h", scope=village_a, device_id=other,
    )  # fmt: skip
    assert store.history(query) == []


def test_identifiers_outside_the_closed_sets_never_reach_a_query() -> None:
    end = datetime.now(UTC)
    common = {"kind": Kind.PARKING, "start": end - timedelta(hours=1), "end": end,
              "interval": "1m", "scope": Scope.district()}  # fmt: skip
    with pytest.raises(ValueError, match="not a field"):
        queries.history(field_name='seq") FROM "manhole', aggregation="mean", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not one of"):
        queries.history(field_name="seq", aggregation="count(*)); DROP", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="group"):
        queries.history(field_name="seq", aggregation="mean", group_by="seq", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duration"):
        queries.history(field_name="seq", aggregation="mean", **{**common, "interval": "1m)"})  # type: ignore[arg-type]
