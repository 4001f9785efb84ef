"""Every board builds, survives the SDK's models unchanged, and is internally consistent."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from city.kinds import Kind
from city.rules import load_rules, reading_model
from city.schema import field_names
from city.topology import load_city
from dashboards import walk
from dashboards.boards import kinds
from dashboards.generate import Board, boards
from dashboards.influxql import InfluxQuery, register
from dashboards.interpolate import placeholders
from dashboards.names import BOARD_FOLDERS, DATASOURCE_UID, TIMEZONE

BUILTINS = {"timeFilter", "__interval", "__interval_ms"}
CITY = load_city()
BOOK = load_rules()


@pytest.fixture(scope="module")
def built() -> list[Board]:
    return boards(CITY, BOOK)


@pytest.fixture(scope="module")
def documents(built: list[Board]) -> dict[str, dict[str, Any]]:
    return {b.uid: b.to_json() for b in built}


def _encode(model: Any) -> Any:
    return json.loads(json.dumps(model, cls=JSONEncoder, ensure_ascii=False))


def test_the_boards_and_their_folders(built: list[Board]) -> None:
    assert [b.folder.title for b in built] == [
        "新区",
        "乡镇街道",
        "村居",
        "设备",
        "设备",
        "设备",
        "设备",
        "平台",
    ]
    assert {b.folder for b in built} == set(BOARD_FOLDERS)
    titles = {b.uid: b.model.title for b in built}
    assert titles["tianqu-district-cockpit"] == "新区城市驾驶舱"
    assert titles["tianqu-township-cockpit"] == "乡镇街道驾驶舱"
    assert titles["tianqu-village-cockpit"] == "村居驾驶舱"
    assert titles["tianqu-platform"] == "平台运行状态"
    assert {titles[kinds.UIDS[k]] for k in Kind} == {f"设备 · {k.display_name}" for k in Kind}
    assert len({b.uid for b in built}) == len(built)
    assert all(len(b.uid) <= 40 for b in built)


def test_every_board_round_trips_through_the_sdk_models(
    documents: dict[str, dict[str, Any]],
) -> None:
    register()
    for uid, document in documents.items():
        again = _encode(Dashboard.from_json(copy.deepcopy(document)))
        # The SDK's AnnotationTarget models only Grafana's built-in annotation store, so an
        # InfluxDB annotation's query target is checked against our own model instead.
        for original, parsed in zip(
            document["annotations"].get("list", []),
            again["annotations"].get("list", []),
            strict=True,
        ):
            target = original.get("target")
            if target is not None:
                assert InfluxQuery.from_json(target).to_json() == target
                parsed["target"] = target
        assert again == document, uid


def test_dashboard_frame(documents: dict[str, dict[str, Any]]) -> None:
    for document in documents.values():
        assert document["schemaVersion"] == 41
        assert document["timezone"] == TIMEZONE
        assert document["editable"] is False
        assert "tianqu" in document["tags"]
        if document["uid"] == "tianqu-platform":
            continue
        (annotation,) = document["annotations"]["list"]
        assert annotation["name"] == "事件"
        assert annotation["target"]["fromAnnotations"] is True
        assert 'FROM "incident_event"' in annotation["target"]["query"]
        assert annotation["target"]["textColumn"] == "title"


def test_panels_are_numbered_and_laid_out_without_overlap(
    documents: dict[str, dict[str, Any]],
) -> None:
    for document in documents.values():
        panels = list(walk.panels(document))
        assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
        cells: set[tuple[int, int]] = set()
        for panel in panels:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
            area = {
                (x, y)
                for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])
            }
            assert not cells & area, f"{document['uid']}: {panel['title']} overlaps"
            cells |= area
            assert panel["title"], "every panel has a (Chinese) title"


def test_every_target_is_raw_influxql_on_our_datasource(
    documents: dict[str, dict[str, Any]],
) -> None:
    for document in documents.values():
        names = {v["name"] for v in walk.variables(document)}
        for panel in walk.panels(document):
            refs = [t["refId"] for t in panel.get("targets") or []]
            assert len(refs) == len(set(refs)), panel["title"]
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
            for target in panel.get("targets") or []:
                assert target["rawQuery"] is True
                assert target["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
                assert target["resultFormat"] in {"time_series", "table"}
        for target in walk.targets(document):
            assert "$timeFilter" in target.query, target
            unknown = placeholders(target.query) - BUILTINS - names
            assert not unknown, f"{target.board} / {target.panel}: {unknown}"


def test_area_variables_chain_township_to_village(documents: dict[str, dict[str, Any]]) -> None:
    village_board = documents["tianqu-village-cockpit"]
    township, village = walk.variables(village_board)
    assert township["type"] == "custom" and township["name"] == "township"
    assert [o["text"] for o in township["options"]] == [t.name for t in CITY.townships]
    assert [o["value"] for o in township["options"]] == [t.id for t in CITY.townships]
    assert township["query"].startswith("长河街道 : changhe,")
    assert village["type"] == "query"
    assert village["query"] == (
        'SHOW TAG VALUES FROM "device_status" WITH KEY = "village" '
        'WHERE "township" =~ /^$township$/'
    )
    assert village["datasource"]["uid"] == DATASOURCE_UID
    assert not township["multi"] and not village["multi"]
    township_board = documents["tianqu-township-cockpit"]
    (multi,) = walk.variables(township_board)
    assert multi["multi"] and multi["includeAll"]
    assert multi["options"][0]["value"] == "$__all"
    assert not walk.variables(documents["tianqu-district-cockpit"])
    for kind in Kind:
        _, kind_village = walk.variables(documents[kinds.UIDS[kind]])
        assert f'FROM "{kind.value}"' in kind_village["query"]
        assert kind_village["allValue"] == ".*"


def test_scoped_boards_filter_every_query_by_their_area(
    documents: dict[str, dict[str, Any]],
) -> None:
    for uid, needle in (
        ("tianqu-township-cockpit", '"township" =~ /^$township$/'),
        ("tianqu-village-cockpit", '"village" =~ /^$village$/'),
    ):
        for target in walk.targets(documents[uid]):
            assert needle in target.query or '"area" =~ /^$' in target.query, target
    for target in walk.targets(documents["tianqu-district-cockpit"]):
        assert "$township" not in target.query and "$village" not in target.query


def test_kind_boards_chart_every_quantity_of_the_contract() -> None:
    for kind in Kind:
        charted = {q.field for q in kinds.QUANTITIES[kind]} | set(kinds.SPECIAL_FIELDS[kind])
        sites = [None] if kind is not Kind.WATER else ["river", "drain"]
        contract = {
            name
            for site in sites
            for name in field_names(reading_model(kind, site))  # type: ignore[arg-type]
        } - {"seq"}
        assert charted == contract, kind


def test_kind_panels_draw_the_rules_thresholds(documents: dict[str, dict[str, Any]]) -> None:
    board = documents[kinds.UIDS[Kind.MANHOLE]]
    by_title = {p["title"]: p for p in walk.panels(board)}
    steps = by_title["甲烷 %LEL（最大）"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["value"], s["color"]) for s in steps] == [
        (None, "green"),
        (10.0, "yellow"),
        (50.0, "orange"),
    ]
    battery = by_title["电池电量（最低）"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["value"], s["color"]) for s in battery] == [(None, "blue"), (15.0, "green")]
    water = {p["title"]: p for p in walk.panels(documents[kinds.UIDS[Kind.WATER]])}
    ph = water["pH（均值）"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["value"], s["color"]) for s in ph] == [(None, "blue"), (6.0, "green"), (9.0, "blue")]


def test_district_river_panels_use_each_stations_levels(
    documents: dict[str, dict[str, Any]],
) -> None:
    panels = [
        p for p in walk.panels(documents["tianqu-district-cockpit"]) if "水位（警戒" in p["title"]
    ]
    stations = list(CITY.stations())
    assert len(panels) == len(stations)
    for panel, (river, station) in zip(panels, stations, strict=True):
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps] == [
            None,
            station.warning_level_m,
            station.guarantee_level_m,
        ]
        query = panel["targets"][0]["query"]
        assert (
            f"\"river\" = '{river.id}'" in query and f"\"village\" = '{station.village}'" in query
        )
    township_river = next(
        p
        for p in walk.panels(documents["tianqu-township-cockpit"])
        if p["type"] == "timeseries" and p["title"].startswith("河道水位")
    )
    overrides = township_river["fieldConfig"]["overrides"]
    assert len(overrides) == len(stations) == len(township_river["targets"])
    assert overrides[0]["matcher"] == {"id": "byFrameRefID", "options": "A"}


def test_tables_map_ids_to_chinese_names(documents: dict[str, dict[str, Any]]) -> None:
    table = next(
        p for p in walk.panels(documents["tianqu-district-cockpit"]) if p["title"] == "在办事件清单"
    )
    options = table["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert options["yuanqiao"]["text"] == "袁桥镇"
    assert options["dongzhan"]["text"] == "东站社区"
    assert options["III"]["text"] == "Ⅲ级 较大"
    assert options["township"]["text"] == "乡镇/街道"
    assert options["dispatched"]["text"] == "派遣"
    assert all(v.name in {o["text"] for o in options.values()} for _, v in CITY.villages())


def test_series_named_by_id_show_chinese_names(documents: dict[str, dict[str, Any]]) -> None:
    district = {p["title"]: p for p in walk.panels(documents["tianqu-district-cockpit"])}

    def names(panel: dict[str, Any]) -> dict[str, Any]:
        return {
            o["matcher"]["options"]: {p["id"]: p["value"] for p in o["properties"]}
            for o in panel["fieldConfig"]["overrides"]
            if o["matcher"]["id"] == "byName"
        }

    assert names(district["当前故障路灯"])["yuanqiao"] == {"displayName": "袁桥镇"}
    assert names(district["路灯故障上报（按类型）"])["defectiveLamp"] == {"displayName": "光源故障"}
    raised = names(district["事件发现（按等级）"])["II"]
    assert raised == {"displayName": "Ⅱ级 重大", "color": {"mode": "fixed", "fixedColor": "orange"}}
    by_level = names(district["在办事件（按等级与层级）"])["III · 乡镇/街道"]
    assert by_level["displayName"] == "Ⅲ级 较大 · 乡镇/街道"
    township = {p["title"]: p for p in walk.panels(documents["tianqu-township-cockpit"])}
    assert names(township["车位占用率"])["dongzhan"] == {"displayName": "东站社区"}
