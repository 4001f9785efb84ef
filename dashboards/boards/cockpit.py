"""The three cockpit boards of the 三级机长制: 新区 (district), 乡镇街道 (township), 村居 (village).

One builder, three scopes: the township and village boards carry the chained area variables
(township → village) and every query is filtered to the selection; the district board sees the
whole district and breaks it down by township.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from city.grades import Grade, Level
from city.topology import City
from dashboards import queries as q
from dashboards.boards.base import (
    board,
    finish,
    incident_annotation,
    township_variable,
    village_variable,
)
from dashboards.influxql import Influx
from dashboards.panels import (
    SeriesPanel,
    Step,
    bargauge_panel,
    display_names,
    geomap_panel,
    markers,
    row,
    stat_panel,
    table_panel,
    thresholds,
    timeseries_panel,
)
from dashboards.queries import Scope
from dashboards.vocabulary import (
    GRADE_LABELS,
    LAMP_STATUS_NAMES,
    mappings,
    township_names,
    village_names,
)

TITLES = {
    Scope.DISTRICT: "新区城市驾驶舱",
    Scope.TOWNSHIP: "乡镇街道驾驶舱",
    Scope.VILLAGE: "村居驾驶舱",
}
UIDS = {
    Scope.DISTRICT: "tianqu-district-cockpit",
    Scope.TOWNSHIP: "tianqu-township-cockpit",
    Scope.VILLAGE: "tianqu-village-cockpit",
}
AREA_WORD = {Scope.DISTRICT: "乡镇街道", Scope.TOWNSHIP: "村居", Scope.VILLAGE: "村居"}

# "Now" panels look back further than the dashboard range: a device's latest status may be
# days old (births are rewritten only on reconnect), an open incident weeks old.
GRADE_COLOURS = {grade.value: grade.colour for grade in Grade}
STATUS_LOOKBACK = "7d"
INCIDENT_LOOKBACK = "30d"

RATE_STEPS: list[Step] = [(None, "red"), (0.8, "orange"), (0.95, "green")]


def _area_names(scope: Scope, city: City) -> dict[str, str]:
    """Series aliased ``$tag_township`` / ``$tag_village`` shown by their Chinese names."""
    return township_names(city) if q.group_tag(scope) == "township" else village_names(city)


def _overview(scope: Scope) -> list[db.Panel | object]:
    kpi = q.kpi_now
    return [
        stat_panel(
            "在线设备",
            Influx(q.devices_online(scope)),
            width=3,
            time_from=STATUS_LOOKBACK,
            description="各设备最近一次状态为在线的数量（device_status，近7天）",
        ),
        stat_panel(
            "离线设备",
            Influx(q.devices_offline(scope)),
            width=3,
            steps=[(None, "green"), (1, "orange")],
            time_from=STATUS_LOOKBACK,
            description="最近一次状态为离线（遗嘱消息）的设备数",
        ),
        stat_panel(
            "在办事件",
            Influx(kpi(scope, "open", "30d")),
            width=3,
            steps=[(None, "green"), (1, "orange"), (10, "red")],
            description="近30天发现、尚未结案的事件数（incident_kpi.open，period 30d）",
        ),
        stat_panel("今日发现", Influx(kpi(scope, "raised", "day")), width=3),
        stat_panel("今日结案", Influx(kpi(scope, "closed", "day")), width=3),
        stat_panel(
            "结案率（近30天）",
            Influx(kpi(scope, "completion_rate", "30d", "mean")),
            unit="percentunit",
            steps=RATE_STEPS,
            width=3,
            description="结案数 ÷ 立案数（incident_kpi.completion_rate，0–1）",
        ),
        stat_panel(
            "按时办结率（近30天）",
            Influx(kpi(scope, "on_time_rate", "30d", "mean")),
            unit="percentunit",
            steps=RATE_STEPS,
            width=3,
            description="派遣后在等级时限内处置完毕的比例（incident_kpi.on_time_rate）",
        ),
        stat_panel(
            "平均处置时长（近30天）",
            Influx(kpi(scope, "mttr_s", "30d", "mean")),
            unit="s",
            width=3,
        ),
    ]


def _maps(scope: Scope) -> list[object]:
    devices = geomap_panel(
        "设备分布",
        [Influx(q.device_positions(scope))],
        [markers("设备（红：离线）", "A", colour_field="online")],
        steps=[(None, "red"), (1, "green")],
        time_from=STATUS_LOOKBACK,
        description="device_status 的经纬度，颜色为最近一次在线状态",
    )
    incidents = geomap_panel(
        "在办事件分布",
        [Influx(q.open_incidents_by_village(scope)), Influx(q.village_positions(scope))],
        [markers("在办事件", None, colour_field="在办事件", size=10)],
        steps=[(None, "blue"), (2, "orange"), (5, "red")],
        time_from=INCIDENT_LOOKBACK,
        transformations=[
            # Incidents carry no position: place each village's count at its devices' centre.
            dm.DataTransformerConfig(
                id_val="joinByField", options={"byField": "village", "mode": "inner"}
            ),
        ],
        description="各村居在办事件数，标注在该村居设备的中心位置",
    )
    return [devices, incidents]


def _devices_and_incidents(scope: Scope, city: City) -> list[object]:
    by = q.group_tag(scope)
    online = table_panel(
        f"各类设备在线（按{AREA_WORD[scope]}）",
        [Influx(q.devices_online_by_kind(scope))],
        mappings=mappings(city),
        time_from=STATUS_LOOKBACK,
        renames={"kind": "设备类型", by: AREA_WORD[scope]},
        height=9,
    )
    levels = (Level.DISTRICT, Level.TOWNSHIP, Level.VILLAGE)
    open_by_level = bargauge_panel(
        "在办事件（按等级与层级）",
        [
            Influx(q.open_incidents_by_grade(scope, level.value)).alias(
                f"$tag_grade · {level.display_name}"
            )
            for level in levels
        ],
        width=12,
        height=9,
        time_from=INCIDENT_LOOKBACK,
        steps=[(None, "blue"), (2, "orange"), (5, "red")],
        description="每条规则在每个村居的最新事件状态；按等级（Ⅰ–Ⅳ）与当前负责层级计数",
    )
    display_names(
        open_by_level,
        {
            f"{g.value} · {lv.display_name}": f"{g.label} · {lv.display_name}"
            for g in Grade
            for lv in levels
        },
        {f"{g.value} · {lv.display_name}": g.colour for g in Grade for lv in levels},
    )
    return [online, open_by_level]


def _incidents(scope: Scope, city: City) -> list[object]:
    return [
        table_panel(
            "在办事件清单",
            [Influx(q.open_incidents_list(scope))],
            mappings=mappings(city),
            width=14,
            height=9,
            time_from=INCIDENT_LOOKBACK,
            renames={
                "grade": "等级",
                "township": "乡镇街道",
                "village": "村居",
                "rule": "规则",
                "incident_id": "事件编号",
                "title": "事件",
                "state": "状态",
                "level": "负责层级",
            },
        ),
        display_names(
            timeseries_panel(
                "事件发现（按等级）",
                [Influx(q.incidents_raised(scope)).alias("$tag_grade")],
                width=10,
                height=9,
                bars=True,
                stacked=True,
                min_interval="10m",
            ),
            GRADE_LABELS,
            GRADE_COLOURS,
        ),
        timeseries_panel(
            "结案率与按时办结率（近30天滚动）",
            [
                Influx(
                    q.kpi_trend(
                        scope,
                        {"completion_rate": "结案率", "on_time_rate": "按时办结率"},
                        "30d",
                    )
                )
            ],
            unit="percentunit",
            min_interval="5m",
        ),
        timeseries_panel(
            "平均响应与处置时长（近30天滚动）",
            [Influx(q.kpi_trend(scope, {"mtta_s": "平均响应", "mttr_s": "平均处置"}, "30d"))],
            unit="s",
            min_interval="5m",
        ),
    ]


def _station_steps(warning: float, guarantee: float) -> list[Step]:
    return [(None, "green"), (warning, "orange"), (guarantee, "red")]


def _rivers(scope: Scope, city: City) -> list[object]:
    if scope is Scope.DISTRICT:
        return [
            timeseries_panel(
                f"{station.name} 水位（警戒 {station.warning_level_m} m / 保证 "
                f"{station.guarantee_level_m} m）",
                [Influx(q.station_level(river.id, station.village)).alias(station.name)],
                unit="lengthm",
                steps=_station_steps(station.warning_level_m, station.guarantee_level_m),
                threshold_style=cm.GraphThresholdsStyleMode.DASHED_AND_AREA,
                width=8,
                height=7,
                min_interval="5m",
                description=f"{river.name}，{station.name}：水位对照警戒水位与保证水位（来自名录）",
            )
            for river, station in city.stations()
        ]
    stations = list(city.stations())
    panel = timeseries_panel(
        "河道水位（各站对照警戒/保证水位）",
        [
            Influx(q.station_level_in_scope(scope, river.id, station.village)).alias(
                f"{station.name}（警戒 {station.warning_level_m} / 保证 "
                f"{station.guarantee_level_m} m）"
            )
            for river, station in stations
        ],
        unit="lengthm",
        threshold_style=cm.GraphThresholdsStyleMode.DASHED,
        width=24,
        height=9,
        min_interval="5m",
        description="辖区内水文站的水位；每站的虚线为其警戒与保证水位",
    )
    for i, (_, station) in enumerate(stations):
        panel.override_by_query(
            chr(ord("A") + i),
            [
                dm.DynamicConfigValue(
                    id_val="thresholds",
                    value=thresholds(
                        _station_steps(station.warning_level_m, station.guarantee_level_m)
                    ).build(),
                )
            ],
        )
    return [panel]


def _streetlights(scope: Scope, city: City) -> list[object]:
    by = q.group_tag(scope)
    alias = f"$tag_{by}"
    names = _area_names(scope, city)
    panels: list[SeriesPanel] = [
        timeseries_panel(
            "路灯用电量",
            [Influx(q.lamp_energy(scope)).alias(alias)],
            unit="kwatth",
            width=6,
            bars=True,
            stacked=True,
            min_interval="1h",
            description="各单灯累计电量的增量之和",
        ),
        timeseries_panel(
            "亮灯率",
            [Influx(q.Series("streetlight", "lamp_on").by(scope, by)).alias(alias)],
            unit="percentunit",
            width=6,
            min_interval="10m",
        ),
        bargauge_panel(
            "当前故障路灯",
            [Influx(q.lamps_failing_now(scope)).alias(alias)],
            width=6,
            steps=[(None, "green"), (1, "orange"), (3, "red")],
            description="最近一次上报状态不是 ok 的单灯数",
        ),
    ]
    faults = timeseries_panel(
        "路灯故障上报（按类型）",
        [Influx(q.lamp_fault_reports(scope)).alias("$tag_status")],
        width=6,
        bars=True,
        stacked=True,
        min_interval="10m",
    )
    return [*(display_names(p, names) for p in panels), display_names(faults, LAMP_STATUS_NAMES)]


def _parking_manholes_drains(scope: Scope, city: City) -> list[object]:
    by = q.group_tag(scope)
    alias = f"$tag_{by}"
    panels: list[SeriesPanel] = [
        timeseries_panel(
            "车位占用率",
            [Influx(q.Series("parking", "occupied").by(scope, by)).alias(alias)],
            unit="percentunit",
            width=8,
            min_interval="10m",
            description="地磁车位 occupied（0/1）的均值",
        ),
        bargauge_panel(
            "当前车位占用率",
            [Influx(q.occupancy_now(scope)).alias(alias)],
            unit="percentunit",
            max_value=1,
            steps=[(None, "green"), (0.7, "orange"), (0.9, "red")],
            width=4,
        ),
        bargauge_panel(
            "当前开盖井盖",
            [Influx(q.covers_open_now(scope)).alias(alias)],
            steps=[(None, "green"), (1, "red")],
            width=4,
        ),
        timeseries_panel(
            "道路积水深度（最大）",
            [
                Influx(
                    q.Series("water", "depth_m", "max", " AND \"site\" = 'drain'").by(scope, by)
                ).alias(alias)
            ],
            unit="lengthm",
            steps=[(None, "green"), (0.15, "orange"), (0.4, "red")],
            threshold_style=cm.GraphThresholdsStyleMode.DASHED,
            width=8,
            min_interval="5m",
        ),
    ]
    names = _area_names(scope, city)
    return [display_names(p, names) for p in panels]


def cockpit(scope: Scope, city: City) -> dm.Dashboard:
    dashboard = board(
        UIDS[scope],
        TITLES[scope],
        tags=["cockpit", scope.value],
        description=f"三级机长制 · {TITLES[scope]}：设备、事件、河道水位、路灯与停车",
    )
    if scope is Scope.TOWNSHIP:
        dashboard.with_variable(township_variable(city, multi=True))
    elif scope is Scope.VILLAGE:
        dashboard.with_variable(township_variable(city, multi=False))
        dashboard.with_variable(village_variable(multi=False))
    dashboard.annotation(incident_annotation(scope))

    sections: list[tuple[str, list[object]]] = [
        ("总览", _overview(scope)),
        ("设备与事件分布", _maps(scope)),
        ("设备在线与在办事件", _devices_and_incidents(scope, city)),
        ("事件处置", _incidents(scope, city)),
        ("河道水位", _rivers(scope, city)),
        ("路灯", _streetlights(scope, city)),
        ("停车、井盖与积水", _parking_manholes_drains(scope, city)),
    ]
    for title, panels in sections:
        dashboard.with_row(row(title))
        for panel in panels:
            dashboard.with_panel(panel)  # type: ignore[arg-type]
    return finish(dashboard)
