# ruff: noqa: S608 - InfluxQL for Grafana is built from the contract's names and the roster,
# never from user input; Grafana substitutes its own variables later.
"""One board per kind of device (设备 folder), with every quantity of its contract model.

Each quantity is charted per village with the aggregate that matters for it (the worst tilt,
the lowest battery, the mean voltage) and the rules file's thresholds drawn on the panel, so
the line an operator sees is the line that raises an incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from city.kinds import Kind
from city.rules import RuleBook, ThresholdRule
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
    PanelBuilder,
    Step,
    bargauge_panel,
    display_names,
    row,
    stat_panel,
    timeseries_panel,
)
from dashboards.queries import Scope
from dashboards.vocabulary import LAMP_STATUS_NAMES, village_names

# Kind boards are filtered like the village board (township → village), several at a time.
SCOPE = Scope.VILLAGE
GROUP = "village"


@dataclass(frozen=True, slots=True)
class Quantity:
    field: str
    title: str
    unit: str
    aggregate: str = "mean"
    site: str | None = None  # water only: river or drain


QUANTITIES: dict[Kind, tuple[Quantity, ...]] = {
    Kind.STREETLIGHT: (
        Quantity("voltage_v", "电压（均值）", "volt"),
        Quantity("current_a", "电流（均值）", "amp"),
        Quantity("power_w", "功率（均值）", "watt"),
        Quantity("power_factor", "功率因数（均值）", "none"),
        Quantity("dimming_pct", "调光（均值）", "percent"),
        Quantity("lamp_on", "亮灯率", "percentunit"),
        Quantity("ambient_lux", "环境照度（均值）", "lux"),
    ),
    Kind.MANHOLE: (
        Quantity("tilt_deg", "井盖倾角（最大）", "degree", "max"),
        Quantity("cover_open", "井盖开启（任一）", "none", "max"),
        Quantity("water_level_m", "井内水位（最大）", "lengthm", "max"),
        Quantity("ch4_lel_pct", "甲烷 %LEL（最大）", "percent", "max"),
        Quantity("h2s_ppm", "硫化氢（最大）", "ppm", "max"),
        Quantity("battery_pct", "电池电量（最低）", "percent", "min"),
    ),
    Kind.PARKING: (
        Quantity("occupied", "车位占用率", "percentunit"),
        Quantity("battery_pct", "电池电量（最低）", "percent", "min"),
    ),
    Kind.WATER: (
        Quantity("level_m", "河道水位（均值）", "lengthm", site="river"),
        Quantity("flow_m3h", "流量（均值）", "suffix: m³/h", site="river"),
        Quantity("ph", "pH（均值）", "none", site="river"),
        Quantity("turbidity_ntu", "浊度（均值）", "suffix: NTU", site="river"),
        Quantity("do_mg_l", "溶解氧（最低）", "suffix: mg/L", "min", site="river"),
        Quantity("cod_mg_l", "化学需氧量（最大）", "suffix: mg/L", "max", site="river"),
        Quantity("water_temp_c", "水温（均值）", "celsius", site="river"),
        Quantity("depth_m", "道路积水深度（最大）", "lengthm", "max", site="drain"),
    ),
}
# Fields charted by dedicated panels below rather than per quantity.
SPECIAL_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.STREETLIGHT: ("energy_kwh", "status"),
    Kind.MANHOLE: ("report",),
    Kind.PARKING: ("report",),
    Kind.WATER: (),
}

UIDS = {kind: f"tianqu-kind-{kind.value}" for kind in Kind}


def title(kind: Kind) -> str:
    return f"设备 · {kind.display_name}"


def _matching_rules(book: RuleBook, kind: Kind, quantity: Quantity) -> list[ThresholdRule]:
    return [
        r
        for r in book.rules
        if r.enabled and r.kind is kind and r.quantity == quantity.field and r.site == quantity.site
    ]


def rule_steps(book: RuleBook, kind: Kind, quantity: Quantity) -> list[Step]:
    """The rules file's numeric thresholds for a quantity, coloured by the grade they raise."""
    above: list[tuple[float, str]] = []
    below: list[tuple[float, str]] = []
    for rule in _matching_rules(book, kind, quantity):
        cond = rule.condition
        colour = rule.grade.colour
        if isinstance(cond.above, float | int) and not isinstance(cond.above, bool):
            above.append((float(cond.above), colour))
        elif isinstance(cond.below, float | int) and not isinstance(cond.below, bool):
            below.append((float(cond.below), colour))
        elif cond.outside is not None:
            below.append((cond.outside[0], colour))
            above.append((cond.outside[1], colour))
        elif cond.equals is True:
            above.append((0.5, colour))
    steps: list[Step] = []
    if below:
        # Worst first: the lowest band takes the gravest colour of the rules below it.
        ordered = sorted(below)
        steps.append((None, ordered[0][1]))
        steps.extend((value, colour) for (value, _), (_, colour) in pairwise(ordered))
        steps.append((ordered[-1][0], "green"))
    else:
        steps.append((None, "green"))
    steps.extend(sorted(above))
    return steps


def _quantity_panel(book: RuleBook, kind: Kind, quantity: Quantity) -> PanelBuilder:
    where = f" AND \"site\" = '{quantity.site}'" if quantity.site else ""
    series = q.Series(kind.value, quantity.field, quantity.aggregate, where)
    steps = rule_steps(book, kind, quantity)
    return timeseries_panel(
        quantity.title,
        [Influx(series.by(SCOPE, GROUP)).alias("$tag_village")],
        unit=quantity.unit,
        steps=steps,
        threshold_style=(
            cm.GraphThresholdsStyleMode.DASHED
            if len(steps) > 1
            else cm.GraphThresholdsStyleMode.OFF
        ),
        min_interval="5m" if kind is Kind.WATER else "10m",
        description=f"{kind.value}.{quantity.field}，按村居取{quantity.aggregate}；虚线为告警规则阈值",
    )


def _special_panels(kind: Kind) -> list[PanelBuilder]:
    alias = "$tag_village"
    if kind is Kind.STREETLIGHT:
        energy = timeseries_panel(
            "用电量",
            [Influx(q.lamp_energy(SCOPE)).alias(alias)],
            unit="kwatth",
            bars=True,
            stacked=True,
            min_interval="1h",
            description="energy_kwh（累计电量）的增量，按村居求和",
        )
        faults = timeseries_panel(
            "故障上报（按类型）",
            [Influx(q.lamp_fault_reports(SCOPE)).alias("$tag_status")],
            bars=True,
            stacked=True,
            min_interval="10m",
            description="status 不为 ok 的上报次数",
        )
        return [energy, display_names(faults, LAMP_STATUS_NAMES)]
    if kind in (Kind.MANHOLE, Kind.PARKING):
        reports = (
            f'SELECT count("report") AS "change" FROM "{kind.value}" WHERE $timeFilter'
            f"{q.area(SCOPE)} AND \"report\" = 'change' GROUP BY time($__interval), "
            '"village" fill(0)'
        )
        panel = timeseries_panel(
            "即时上报（告警/恢复/变化）",
            [Influx(reports).alias(alias)],
            bars=True,
            stacked=True,
            min_interval="10m",
            description="report = change 的消息数：事件驱动的即时上报",
        )
        return [panel]
    return []


def kind_board(kind: Kind, city: City, book: RuleBook) -> dm.Dashboard:
    dashboard = board(
        UIDS[kind],
        title(kind),
        tags=["devices", kind.value],
        description=f"{kind.display_name}：各项读数按村居汇总，阈值来自告警规则",
    )
    dashboard.with_variable(township_variable(city, multi=True))
    dashboard.with_variable(village_variable(multi=True, measurement=kind.value))
    dashboard.annotation(incident_annotation(SCOPE))

    dashboard.with_row(row("概况"))
    dashboard.with_panel(
        stat_panel(
            "在线设备",
            Influx(q.devices_online(SCOPE, kind.value)),
            width=6,
            time_from="7d",
        )
    )
    dashboard.with_panel(
        stat_panel(
            "离线设备",
            Influx(q.devices_offline(SCOPE, kind.value)),
            width=6,
            steps=[(None, "green"), (1, "orange")],
            time_from="7d",
        )
    )
    # Village series keep their ids on the quantity panels: 35 display-name overrides on each
    # would quadruple these boards (one Kubernetes ConfigMap holds the whole 设备 folder).
    dashboard.with_panel(
        display_names(
            bargauge_panel(
                "在线设备（按村居）",
                [Influx(q.devices_online_in(SCOPE, kind.value)).alias("$tag_village")],
                width=12,
                height=4,
                time_from="7d",
            ),
            village_names(city),
        )
    )
    dashboard.with_row(row("读数"))
    for quantity in QUANTITIES[kind]:
        dashboard.with_panel(_quantity_panel(book, kind, quantity))
    for panel in _special_panels(kind):
        dashboard.with_panel(panel)
    return finish(dashboard)
