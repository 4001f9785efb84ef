"""The Grafana alert rules match the rules file, rule for rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.models import alerting

from city.kinds import Kind
from city.rules import RuleBook, load_rules, parse_rules
from city.topology import load_city
from dashboards import alerts
from dashboards.generate import PACKAGE_DIR, alert_rules, boards
from dashboards.influxql import register
from dashboards.names import ALERTS_FOLDER, DATASOURCE_UID

CITY = load_city()
BOOK = load_rules()


@pytest.fixture(scope="module")
def rules() -> list[alerts.GrafanaRule]:
    return alert_rules(CITY, BOOK, boards(CITY, BOOK))


def _json(rule: alerts.GrafanaRule) -> dict[str, Any]:
    document: dict[str, Any] = alerts.to_json(rule.model)
    return document


def _data(rule: alerts.GrafanaRule) -> dict[str, dict[str, Any]]:
    return {d["refId"]: d for d in _json(rule)["data"]}


def _threshold(rule: alerts.GrafanaRule) -> dict[str, Any]:
    data = _data(rule)
    model: dict[str, Any] = data[_json(rule)["condition"]]["model"]
    assert model["type"] == "threshold"
    condition: dict[str, Any] = model["conditions"][0]
    return condition


def test_one_grafana_rule_per_rule_of_the_file(rules: list[alerts.GrafanaRule]) -> None:
    base = [r for r in rules if not re.search(r"--\d+$", r.model.uid or "")]
    assert [r.source_id for r in base] == [r.id for r in BOOK.rules] + [r.id for r in BOOK.no_data]
    for rule in base:
        assert rule.model.uid == f"tianqu-{rule.source_id}"
    uids = [r.model.uid for r in rules]
    assert len(uids) == len(set(uids))
    assert all(uid and len(uid) <= 40 for uid in uids)
    titles = [r.model.title for r in rules]
    assert len(titles) == len(set(titles))


def test_labels_annotations_and_timing_follow_the_rule(rules: list[alerts.GrafanaRule]) -> None:
    by_uid = {r.model.uid: r for r in rules}
    for source in BOOK.rules:
        rule = by_uid[f"tianqu-{source.id}"].model
        assert rule.labels is not None and rule.annotations is not None
        assert rule.labels["rule_id"] == source.id
        assert rule.labels["grade"] == source.grade.value
        assert rule.labels["level"] == source.grade.responsible_level.value
        assert rule.labels["kind"] == source.kind.value
        assert rule.annotations["rule_name"] == source.name
        assert source.name in rule.title
        assert rule.for_val == (f"{source.for_s}s" if source.for_s else "0s")
        assert rule.is_paused is (not source.enabled)
        assert rule.folder_uid == ALERTS_FOLDER.uid
        assert rule.rule_group == f"tianqu-{source.kind.value}"
        assert rule.exec_err_state == "Error"
        query = rule.data[0]
        assert query.datasource_uid == DATASOURCE_UID
        text = query.model.to_json()["query"]  # type: ignore[union-attr]
        assert f'FROM "{source.kind.value}"' in text
        assert "$timeFilter" in text
        group_by = text.rsplit("GROUP BY", 1)[1]
        for tag in ("township", "village", "device"):
            assert f'"{tag}"' in group_by, (source.id, text)
        if source.kind is Kind.STREETLIGHT:
            assert '"road"' in group_by
        if source.site == "river":
            assert '"river"' in group_by
        assert query.relative_time_range is not None
        assert query.relative_time_range.from_val >= source.repeat * source.kind.heartbeat_s  # type: ignore[operator]


def test_thresholds_and_recovery_match_the_conditions(rules: list[alerts.GrafanaRule]) -> None:
    by_uid = {r.model.uid: r for r in rules}
    expect = {
        "manhole-tilt": ("min", {"type": "gt", "params": [10.0]}, {"type": "lt", "params": [5.0]}),
        "manhole-open": ("min", {"type": "gt", "params": [0.5]}, None),
        "manhole-ch4-critical": (
            "min",
            {"type": "gt", "params": [50.0]},
            {"type": "lt", "params": [25.0]},
        ),
        "manhole-battery-low": (
            "max",
            {"type": "lt", "params": [15.0]},
            {"type": "gt", "params": [25.0]},
        ),
        "river-above-warning": (
            "min",
            {"type": "gt", "params": [0.0]},
            {"type": "lt", "params": [0.0]},
        ),
        "river-low-oxygen": (
            "max",
            {"type": "lt", "params": [3.0]},
            {"type": "gt", "params": [5.0]},
        ),
        "road-waterlogging": (
            "min",
            {"type": "gt", "params": [0.15]},
            {"type": "lt", "params": [0.05]},
        ),
        "lamp-failure": ("last", {"type": "gt", "params": [0.5]}, None),
    }
    for rule_id, (reducer, evaluator, unload) in expect.items():
        rule = by_uid[f"tianqu-{rule_id}"]
        data = _data(rule)
        assert data["B"]["model"]["type"] == "reduce"
        assert data["B"]["model"]["reducer"] == reducer, rule_id
        condition = _threshold(rule)
        assert condition["evaluator"] == evaluator, rule_id
        assert condition.get("unloadEvaluator") == unload, rule_id


def test_repeat_reads_the_last_n_readings(rules: list[alerts.GrafanaRule]) -> None:
    by_uid = {r.model.uid: r for r in rules}
    for source in BOOK.rules:
        query = _data(by_uid[f"tianqu-{source.id}"])["A"]["model"]["query"]
        assert f"ORDER BY time DESC LIMIT {source.repeat}" in query
    ph = by_uid["tianqu-river-quality-ph"]
    data = _data(ph)
    assert data["B"]["model"] == {
        "expression": "($A < 6.0) || ($A > 9.0)",
        "refId": "B",
        "type": "math",
        "datasource": {"type": "__expr__", "uid": "__expr__"},
    }
    assert data["C"]["model"]["reducer"] == "min"
    assert _threshold(ph)["evaluator"] == {"type": "gt", "params": [0.5]}


def test_station_levels_come_from_the_roster(rules: list[alerts.GrafanaRule]) -> None:
    by_uid = {r.model.uid: r for r in rules}
    warning = _data(by_uid["tianqu-river-above-warning"])["A"]["model"]["query"]
    guarantee = _data(by_uid["tianqu-river-above-guarantee"])["A"]["model"]["query"]
    for river, station in CITY.stations():
        assert (
            f'"level_m" - {station.warning_level_m!r} AS "level_m" FROM "water" WHERE $timeFilter '
            f"AND \"site\" = 'river' AND \"river\" = '{river.id}' "
            f"AND \"village\" = '{station.village}'"
        ) in warning
        assert f'"level_m" - {station.guarantee_level_m!r} AS' in guarantee


def test_overrides_become_area_rules_and_are_excluded_from_the_base(
    rules: list[alerts.GrafanaRule],
) -> None:
    by_uid = {r.model.uid: r for r in rules}
    base = by_uid["tianqu-manhole-tilt"]
    area = by_uid["tianqu-manhole-tilt--1"]
    assert "\"village\" != 'dongzhan'" in _data(base)["A"]["model"]["query"]
    assert "\"village\" = 'dongzhan'" in _data(area)["A"]["model"]["query"]
    assert _threshold(area)["evaluator"] == {"type": "gt", "params": [5.0]}
    assert _threshold(area)["unloadEvaluator"] == {"type": "lt", "params": [3.0]}
    assert area.model.labels == base.model.labels
    assert area.model.title == "井盖倾斜（东站社区） [manhole-tilt]"


def test_no_data_rules(rules: list[alerts.GrafanaRule]) -> None:
    by_uid = {r.model.uid: r for r in rules}
    for source in BOOK.no_data:
        rule = by_uid[f"tianqu-{source.id}"]
        assert rule.group == "tianqu-no-data" and rule.interval_s == 300
        query = _data(rule)["A"]["model"]["query"]
        step = max(60, int(source.silence_s()) // 6)
        assert f"GROUP BY time({step}s)" in query and "fill(0)" in query
        assert query.startswith('SELECT moving_average(count("seq"), 7)')
        assert _threshold(rule)["evaluator"] == {"type": "lt", "params": [0.01]}
        assert rule.model.labels is not None
        assert rule.model.labels["rule_id"] == source.id
        assert rule.model.labels["grade"] == source.grade.value
    assert (
        "\"site\" = 'river'" in _data(by_uid["tianqu-river-station-silent"])["A"]["model"]["query"]
    )


def test_panel_links(rules: list[alerts.GrafanaRule]) -> None:
    by_uid = {r.model.uid: r for r in rules}
    annotations = by_uid["tianqu-manhole-ch4-high"].model.annotations
    assert annotations is not None
    assert annotations["__dashboardUid__"] == "tianqu-kind-manhole"
    assert int(annotations["__panelId__"]) > 0


def test_rules_round_trip_through_the_sdk_model(rules: list[alerts.GrafanaRule]) -> None:
    register()
    for rule in rules:
        document = _json(rule)
        assert alerts.to_json(alerting.Rule.from_json(document)) == document


def test_the_provisioning_file_lists_the_same_rules(rules: list[alerts.GrafanaRule]) -> None:
    document = yaml.safe_load(
        (PACKAGE_DIR / "provisioning/alerting/tianqu-rules.yaml").read_text(encoding="utf-8")
    )
    in_file = {r["uid"]: (g["name"], r) for g in document["groups"] for r in g["rules"]}
    assert set(in_file) == {r.model.uid for r in rules}
    for group in document["groups"]:
        assert group["folder"] == ALERTS_FOLDER.title
        assert group["interval"] in {"1m", "5m"}
    for rule in rules:
        group, entry = in_file[rule.model.uid]
        assert group == rule.group
        assert entry["title"] == rule.model.title
        assert entry["labels"] == rule.model.labels
        assert "folderUID" not in entry and "ruleGroup" not in entry
        if "dashboardUid" in entry:
            assert isinstance(entry["panelId"], int)
            assert "__dashboardUid__" not in entry["annotations"]


def _book(extra: str) -> RuleBook:
    return parse_rules(
        yaml.safe_load(
            "version: 1\ndeadlines_s: {IV: 86400, III: 14400, II: 7200, I: 3600}\n" + extra
        )
    )


def test_edge_cases_of_the_mapping() -> None:
    book = _book(
        """
rules:
  - {id: cover-shut, name: 井盖关闭, kind: manhole, quantity: cover_open,
     condition: {equals: false}, recover: {equals: true}, grade: IV, enabled: false}
  - {id: ph-once, name: pH, kind: water, site: river, quantity: ph,
     condition: {outside: [6.5, 8.5]}, recover: {outside: [6.0, 9.0]}, grade: IV}
  - {id: tilt, name: 倾斜, kind: manhole, quantity: tilt_deg, condition: {above: 10}, grade: IV}
overrides:
  - {rule: tilt, match: {township: yuanqiao}, grade: III}
  - {rule: tilt, match: {village: dongzhan}, enabled: false}
  - {rule: tilt, match: {device: mh-x-00001}, condition: {above: 3}}
"""
    )
    rules = {r.model.uid: r for r in alerts.generate(book, CITY, datasource_uid="ds")}
    shut = rules["tianqu-cover-shut"]
    assert shut.model.is_paused is True
    assert _data(shut)["B"]["model"]["reducer"] == "max"
    assert _threshold(shut) == {
        "evaluator": {"type": "lt", "params": [0.5]},
        "unloadEvaluator": {"type": "gt", "params": [0.5]},
    }
    ph = rules["tianqu-ph-once"]
    assert _data(ph)["B"]["model"]["reducer"] == "last"
    assert _threshold(ph)["evaluator"] == {"type": "outside_range", "params": [6.5, 8.5]}
    assert _threshold(ph)["unloadEvaluator"] == {"type": "outside_range", "params": [6.0, 9.0]}
    base, township, village, device = (
        rules["tianqu-tilt"],
        rules["tianqu-tilt--1"],
        rules["tianqu-tilt--2"],
        rules["tianqu-tilt--3"],
    )
    q = {
        k: _data(v)["A"]["model"]["query"]
        for k, v in {
            "base": base,
            "township": township,
            "village": village,
            "device": device,
        }.items()
    }
    assert "\"township\" != 'yuanqiao'" in q["base"] and "\"device\" != 'mh-x-00001'" in q["base"]
    assert (
        "\"township\" = 'yuanqiao'" in q["township"]
        and "\"village\" != 'dongzhan'" in q["township"]
    )
    assert township.model.labels is not None and township.model.labels["grade"] == "III"
    assert village.model.is_paused is True, "enabled: false in dongzhan pauses its area rule"
    assert village.model.labels is not None and village.model.labels["grade"] == "III"
    assert _threshold(device)["evaluator"] == {"type": "gt", "params": [3.0]}


def test_what_grafana_cannot_express_is_refused() -> None:
    book = _book(
        """
rules:
  - {id: ph-thrice, name: pH, kind: water, site: river, quantity: ph, repeat: 3,
     condition: {outside: [6.5, 8.5]}, recover: {outside: [6.0, 9.0]}, grade: IV}
"""
    )
    with pytest.raises(alerts.UnsupportedRule, match="ph-thrice"):
        alerts.generate(book, CITY, datasource_uid="ds")
    mixed = _book(
        """
rules:
  - {id: crest, name: 水位, kind: water, site: river, quantity: level_m,
     condition: {above: station.guarantee_level_m}, recover: {below: station.warning_level_m},
     grade: II}
"""
    )
    with pytest.raises(alerts.UnsupportedRule, match="same station level"):
        alerts.generate(mixed, CITY, datasource_uid="ds")


def test_long_ids_keep_uids_within_grafanas_limit() -> None:
    uid = alerts.rule_uid("a" * 60, "3")
    assert len(uid) == 40 and uid.startswith("tianqu-aaa")
    assert alerts.rule_uid("short") == "tianqu-short"


def test_kinds_have_groups() -> None:
    assert {alerts.group_name(k) for k in Kind} == {
        "tianqu-streetlight",
        "tianqu-manhole",
        "tianqu-parking",
        "tianqu-water",
    }
