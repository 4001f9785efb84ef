"""Every panel, variable and annotation query of every generated board, interpolated the way
Grafana does it, runs against a real InfluxDB filled by the simulator through the real ingester
and returns data; every alert rule's query runs too, and its expressions (re-evaluated here)
fire for exactly the devices the scenarios upset."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from city.rules import load_rules
from city.topology import load_city
from dashboards import alerts, walk
from dashboards.generate import JSON_DIR, PACKAGE_DIR, alert_rules, boards
from dashboards.interpolate import ALL, Context, Variable, interpolate, time_filter
from influxv1 import QueryError
from tests.integration.dashboards.conftest import District

pytestmark = pytest.mark.integration

CITY = load_city()
BOOK = load_rules()
BOARDS = {
    json.loads(p.read_text(encoding="utf-8"))["uid"]: json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((PACKAGE_DIR / JSON_DIR).rglob("*.json"))
}
KINDS = [uid for uid in BOARDS if uid.startswith("tianqu-kind-")]

Selection = dict[str, str | list[str]]
YUANQIAO_ALL: Selection = {"township": ["yuanqiao"], "village": ALL}
EVERYWHERE: Selection = {"township": ALL, "village": ALL}
TWO_VILLAGES: Selection = {"township": ["yuanqiao"], "village": ["dongzhan", "mazhuang"]}
# (board, selection, rich): in a rich selection the simulation guarantees data for every panel
# but those in MAY_BE_EMPTY.
CASES: list[tuple[str, Selection, bool]] = [
    ("tianqu-district-cockpit", {}, True),
    ("tianqu-platform", {}, True),
    ("tianqu-township-cockpit", {"township": ["yuanqiao"]}, True),
    ("tianqu-township-cockpit", {"township": ALL}, False),
    ("tianqu-township-cockpit", {"township": ["yuanqiao", "bianlin"]}, False),
    ("tianqu-village-cockpit", {"township": "yuanqiao", "village": "dongzhan"}, True),
    ("tianqu-village-cockpit", {"township": "changhe", "village": "tianqu"}, False),
    *((uid, YUANQIAO_ALL, True) for uid in KINDS),
    *((uid, EVERYWHERE, False) for uid in KINDS),
    *((uid, TWO_VILLAGES, False) for uid in KINDS),
]
MAY_BE_EMPTY = {
    # Devices were killed, not stopped: none sent an offline status.
    ("*", "离线设备"),
    # 东站社区 has no river station.
    ("tianqu-village-cockpit", "河道水位（各站对照警戒/保证水位）"),
}


def _series(district: District, query: str) -> list[dict[str, Any]]:
    return district.query(query)


def _resolve(district: District, board: Mapping[str, Any], selection: Selection) -> Context:
    """The board's variables with their options, query variables asked of InfluxDB in order
    (a chained variable sees the selection of the ones before it)."""
    variables: dict[str, Variable] = {}
    for model in walk.variables(board):
        options: Sequence[str] = ()
        if model["type"] == "query":
            query = interpolate(model["query"], Context(variables, selection))
            options = sorted(str(r["value"]) for r in _series(district, query))
            assert options, f"{board['uid']}: variable {model['name']} has no options: {query}"
        variables[model["name"]] = Variable.from_model(model, options)
    return Context(variables, selection)


@pytest.mark.parametrize(("uid", "selection", "rich"), CASES, ids=str)
def test_every_query_of_the_board_runs(
    district: District, uid: str, selection: Selection, rich: bool
) -> None:
    board = BOARDS[uid]
    context = _resolve(district, board, selection)
    results: dict[str, int] = {}
    errors = []
    for target in walk.targets(board):
        query = interpolate(
            target.query,
            context,
            panel_time_from=target.time_from,
            min_interval=target.min_interval,
        )
        try:
            rows = _series(district, query)
        except QueryError as exc:
            errors.append(f"{target.panel} [{target.ref_id}]: {exc}\n  {query}")
            continue
        results[target.panel] = results.get(target.panel, 0) + len(rows)
    assert not errors, "\n".join(errors)
    if rich:
        empty = [
            panel
            for panel, n in results.items()
            if n == 0 and (uid, panel) not in MAY_BE_EMPTY and ("*", panel) not in MAY_BE_EMPTY
        ]
        assert not empty, f"{uid} {selection}: no data for {empty}"


def test_chained_village_variable_follows_the_township(district: District) -> None:
    board = BOARDS["tianqu-village-cockpit"]
    yuanqiao = _resolve(district, board, {"township": "yuanqiao"}).variables["village"].options
    assert set(yuanqiao) <= {v.id for v in CITY.township("yuanqiao").villages}  # type: ignore[union-attr]
    assert "dongzhan" in yuanqiao
    kinds = BOARDS["tianqu-kind-water"]
    several = _resolve(district, kinds, {"township": ["yuanqiao", "zhaohu"]}).variables["village"]
    assert {"mazhuang", "yangzhuang"} <= set(several.options)
    everything = _resolve(district, kinds, {"township": ALL}).variables["village"]
    assert len(everything.options) > len(several.options)


def test_rich_numbers_are_what_the_simulation_did(district: District) -> None:
    board = BOARDS["tianqu-district-cockpit"]
    context = _resolve(district, board, {})

    def rows(title: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for target in (t for t in walk.targets(board) if t.panel == title):
            query = interpolate(
                target.query,
                context,
                panel_time_from=target.time_from,
                min_interval=target.min_interval,
            )
            found += _series(district, query)
        return found

    (online,) = rows("在线设备")
    assert online["在线"] >= 300 - 1  # the silent scenario may have taken one off the air
    failing = {r["township"]: r["故障"] for r in rows("当前故障路灯")}
    assert failing == {"yuanqiao": 3}
    open_covers = {r["township"]: r["开盖"] for r in rows("当前开盖井盖")}
    assert open_covers["yuanqiao"] == 1 and sum(open_covers.values()) == 1
    listed = rows("在办事件清单")
    assert sorted(r["incident_id"] for r in listed) == [101, 102, 104, 105]
    assert {r["incident_id"]: r["level"] for r in listed}[102] == "township", "escalated"
    positions = rows("在办事件分布")
    villages = {r["village"] for r in positions if "在办事件" in r}
    centres = {r["village"] for r in positions if "lat" in r}
    assert villages & centres == {"dongzhan", "yangzhuang"}, "the map joins them by village"


def _evaluate(rule: alerts.GrafanaRule, district: District) -> set[str]:
    """The devices a rule fires for at the end of the simulation: its query over its relative
    range ending then, its expressions as Grafana's server-side expressions compute them."""
    body = alerts.to_json(rule.model)
    data = {d["refId"]: d for d in body["data"]}
    lookback = data["A"]["relativeTimeRange"]["from"]
    query = data["A"]["model"]["query"].replace(
        "$timeFilter", time_filter(absolute_ms=(district.end_ms - lookback * 1000, district.end_ms))
    )
    frames: dict[str, dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]] = {"A": {}}
    for statement in district.client.query(query):
        for series in statement:
            key = tuple(sorted(series.tags.items()))
            value_column = next(c for c in series.columns if c != "time")
            frames["A"].setdefault(key, []).extend(
                (int(r["time"]), float(r[value_column]))
                for r in series.rows()
                if r[value_column] is not None
            )
    numbers: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for ref, item in data.items():
        model = item["model"]
        if ref == "A":
            continue
        if model["type"] == "math":
            low, high = map(float, re.findall(r"[<>] ([0-9.]+)", model["expression"]))
            frames[ref] = {
                k: [(t, float(v < low or v > high)) for t, v in points]
                for k, points in frames[model["expression"][2]].items()
            }
        elif model["type"] == "reduce":
            source = frames[model["expression"]]
            reduce = {"min": min, "max": max}.get(model["reducer"])
            numbers[ref] = {
                k: (reduce(v for _, v in p) if reduce else sorted(p)[-1][1])
                for k, p in source.items()
                if p
            }
        elif model["type"] == "threshold":
            evaluator = model["conditions"][0]["evaluator"]
            test: Callable[[float, list[float]], bool] = {
                "gt": lambda v, p: v > p[0],
                "lt": lambda v, p: v < p[0],
                "outside_range": lambda v, p: v < p[0] or v > p[1],
            }[evaluator["type"]]
            numbers[ref] = {
                k: float(test(v, evaluator["params"]))
                for k, v in numbers[model["expression"]].items()
            }
    condition = numbers[body["condition"]]
    return {dict(k)["device"] for k, v in condition.items() if v}


def test_alert_rules_fire_where_the_scenarios_put_trouble(district: District) -> None:
    rules = alert_rules(CITY, BOOK, boards(CITY, BOOK))
    fired = {rule.model.uid: _evaluate(rule, district) for rule in rules}
    outage = {
        r["device"]
        for r in district.query(
            'SELECT last("status") FROM "streetlight" '
            'WHERE "road" = \'dezhou-dadao\' GROUP BY "device"'
        )
        if r["last"] == "defectiveLamp"
    }
    assert len(outage) == 3
    expected_exact = {
        "tianqu-manhole-open": {"mh-dongzhan-00000"},
        "tianqu-manhole-ch4-high": {"mh-dongzhan-00002"},
        "tianqu-manhole-ch4-critical": {"mh-dongzhan-00002"},
        "tianqu-manhole-h2s-high": {"mh-dongzhan-00002"},
        "tianqu-manhole-h2s-critical": {"mh-dongzhan-00002"},
        "tianqu-lamp-failure": outage,
        "tianqu-parking-silent": {"pk-dongzhan-00003"},
        "tianqu-road-waterlogging": {"wt-dongzhan-underpass", "wt-dongzhan-00000"},
    }
    for uid, devices in expected_exact.items():
        assert fired[uid] == devices, uid
    assert "mh-dongzhan-00001" in fired["tianqu-manhole-tilt--1"], "tilt 25° > 东站's stricter 5°"
    assert all(d.startswith("mh-dongzhan-") for d in fired["tianqu-manhole-tilt--1"])
    assert not any(d.startswith("mh-dongzhan-") for d in fired["tianqu-manhole-tilt"])
    assert "wt-majiahe-zhaohu" in fired["tianqu-river-above-warning"]
    assert fired["tianqu-river-above-guarantee"] <= fired["tianqu-river-above-warning"]
    assert all("majiahe" in d for d in fired["tianqu-river-above-warning"])
    quiet = (
        set(fired)
        - set(expected_exact)
        - {
            "tianqu-manhole-tilt",
            "tianqu-manhole-tilt--1",
            "tianqu-river-above-warning",
            "tianqu-river-above-guarantee",
        }
    )
    assert {uid: fired[uid] for uid in quiet if fired[uid]} == {}
