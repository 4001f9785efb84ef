"""Lists never include, and aggregates never count, what lies outside the caller's area."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World

pytestmark = pytest.mark.integration

SEES = {
    "district": {"A", "B", "C"},
    "township-yuanqiao": {"A", "B"},
    "township-changhe": {"C"},
    "village-a": {"A"},
    "village-b": {"B"},
    "village-c": {"C"},
}


@pytest.mark.parametrize("who", sorted(SEES))
def test_device_lists_hold_exactly_the_callers_area(world: World, who: str) -> None:
    response = world.get(who, "/devices", params={"limit": 500})
    assert response.status_code == 200, response.text
    page = response.json()
    ids = {d["id"] for d in page["items"]}
    assert ids == {world.devices[a] for a in SEES[who]}
    assert page["total"] == len(SEES[who])


def test_an_area_filter_outside_the_scope_gives_nothing(world: World) -> None:
    for params in ({"township": "changhe"}, {"village": "hubin"}, {"village": "datun"}):
        response = world.get("village-a", "/devices", params=params)
        assert response.status_code == 200
        assert response.json() == {"items": [], "total": 0, "limit": 100, "offset": 0}


def test_a_township_can_narrow_to_one_of_its_villages(world: World) -> None:
    response = world.get("township-yuanqiao", "/devices", params={"village": "datun"})
    assert [d["id"] for d in response.json()["items"]] == [world.devices["B"]]


def test_online_filter_comes_from_device_status_and_stays_scoped(world: World) -> None:
    online = world.get("district", "/devices", params={"online": "true"}).json()
    offline = world.get("district", "/devices", params={"online": "false"}).json()
    assert {d["id"] for d in online["items"]} == {world.devices["A"], world.devices["B"]}
    assert {d["id"] for d in offline["items"]} == {world.devices["C"]}
    assert all(d["online"] is True for d in online["items"])
    scoped = world.get("village-b", "/devices", params={"online": "true"}).json()
    assert [d["id"] for d in scoped["items"]] == [world.devices["B"]]


@pytest.mark.parametrize(
    ("who", "expected"),
    [("village-a", 1.0), ("township-yuanqiao", 0.5), ("district", 1 / 3), ("village-c", 0.0)],
)
def test_area_aggregates_count_only_the_callers_points(
    world: World, who: str, expected: float
) -> None:
    response = world.get(
        who,
        "/readings/history",
        params={"kind": "parking", "field": "occupied", "aggregation": "mean", "interval": "1d"},
    )
    assert response.status_code == 200, response.text
    [series] = response.json()["series"]
    values = [p["value"] for p in series["points"]]
    assert values and sum(values) / len(values) == pytest.approx(expected)


def test_grouping_by_village_lists_only_visible_villages(world: World) -> None:
    response = world.get(
        "township-yuanqiao",
        "/readings/history",
        params={"kind": "parking", "field": "occupied", "group_by": "village", "interval": "1d"},
    )
    villages = {s["tags"]["village"] for s in response.json()["series"]}
    assert villages == {"dongzhan", "datun"}


def test_history_of_another_area_is_not_found(world: World) -> None:
    for params in ({"township": "changhe"}, {"township": "yuanqiao", "village": "datun"}):
        response = world.get(
            "village-a", "/readings/history", params={"kind": "parking", "field": "seq", **params}
        )
        assert response.status_code == 404, response.text


def test_people_keys_and_gateways_lists_are_scoped(world: World) -> None:
    people = world.get("township-yuanqiao", "/users", params={"limit": 500}).json()["items"]
    assert {p["username"] for p in people} >= {"township-yuanqiao", "village-a", "village-b"}
    assert all(p["township"] == "yuanqiao" for p in people)
    village = world.get("village-a", "/users", params={"limit": 500}).json()["items"]
    assert {(p["township"], p["village"]) for p in village} == {("yuanqiao", "dongzhan")}
    for path in ("/gateways", "/api-keys"):
        for item in world.get("village-c", path, params={"limit": 500}).json()["items"]:
            assert (item["township"], item["village"]) == ("changhe", "hubin")


def test_areas_lists_the_callers_part_of_the_roster(world: World) -> None:
    areas = world.get("village-a", "/areas").json()
    assert [(t["id"], [v["id"] for v in t["villages"]]) for t in areas] == [
        ("yuanqiao", ["dongzhan"])
    ]
    assert len(world.get("district", "/areas").json()) == 7


def test_device_detail_carries_status_and_latest_reading(world: World) -> None:
    detail = world.get("village-a", f"/devices/{world.devices['A']}").json()
    assert detail["online"] is True
    assert detail["latest"]["values"]["occupied"] == 1
    assert set(detail["latest"]["values"]) == {"seq", "report", "occupied", "battery_pct"}
