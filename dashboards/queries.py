# ruff: noqa: S608 - InfluxQL for Grafana is built from the contract's names and the roster,
# never from user input; Grafana substitutes its own variables later.
"""The InfluxQL behind the boards, in one place, written against docs/architecture.md's schema.

Every query is raw InfluxQL for Grafana's InfluxDB data source: ``$timeFilter`` and
``$__interval`` are Grafana's, ``$township`` / ``$village`` the boards' variables, always inside a
regex match (``=~ /^$township$/``) so that one value, several (``(a|b)``) and "All" work alike.
Only the portable subset is used (plain SELECT, subqueries, GROUP BY time/tags), which InfluxDB
1.x, 2.x (v1 API) and 3.x all run.

"Now" values (devices online, lamps failing, open incidents) take each series' latest point in
the panel's range with a ``last()`` subquery, then aggregate that in the outer query.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from city.incidents import EVENT_MEASUREMENT, KPI_MEASUREMENT, State
from city.schema import STATUS_MEASUREMENT

CLOSED: Final = State.CLOSED.value

# Written by the platform's own services for the platform-health board (see platform.py).
PLATFORM_MEASUREMENT: Final = "platform_stats"


class Scope(StrEnum):
    """The three levels of the 三级机长制, and what a board at each level filters on."""

    DISTRICT = "district"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def area_tag(self) -> str | None:
        """The tag that names one area at this level (None for the whole district)."""
        return {"district": None, "township": "township", "village": "village"}[self.value]


def ident(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def area(scope: Scope) -> str:
    """`` AND "township" =~ /^$township$/ …`` for a board's scope ('' for the district)."""
    if scope is Scope.DISTRICT:
        return ""
    condition = ' AND "township" =~ /^$township$/'
    if scope is Scope.VILLAGE:
        condition += ' AND "village" =~ /^$village$/'
    return condition


def group_tag(scope: Scope) -> str:
    """The tag a board breaks its area down by: townships on the district board, villages
    below it."""
    return "township" if scope is Scope.DISTRICT else "village"


def tags(*names: str) -> str:
    return ", ".join(ident(n) for n in names)


# --- devices (device_status) ---------------------------------------------------------------


def latest_status(scope: Scope, *group: str, kind: str | None = None) -> str:
    """Each device's latest ``online`` in range, keeping ``group`` tags for the outer query."""
    only = f' AND "kind" = {literal(kind)}' if kind else ""
    return (
        f'SELECT last("online") AS "online" FROM {ident(STATUS_MEASUREMENT)} '
        f"WHERE $timeFilter{area(scope)}{only} GROUP BY {tags('device', *group)}"
    )


def devices_online(scope: Scope, kind: str | None = None) -> str:
    return f'SELECT sum("online") AS "在线" FROM ({latest_status(scope, kind=kind)})'


def devices_offline(scope: Scope, kind: str | None = None) -> str:
    return (
        f'SELECT count("online") AS "离线" FROM ({latest_status(scope, kind=kind)}) '
        'WHERE "online" = 0'
    )


def devices_online_in(scope: Scope, kind: str) -> str:
    """Devices of one kind online, per area below the board's level."""
    by = group_tag(scope)
    return (
        f'SELECT sum("online") AS "在线" FROM ({latest_status(scope, by, kind=kind)}) '
        f"GROUP BY {ident(by)}"
    )


def devices_online_by_kind(scope: Scope) -> str:
    by = group_tag(scope)
    return (
        f'SELECT sum("online") AS "在线", count("online") AS "设备" '
        f"FROM ({latest_status(scope, 'kind', by)}) GROUP BY {tags('kind', by)}"
    )


def device_positions(scope: Scope) -> str:
    return (
        f'SELECT last("lat") AS "lat", last("lon") AS "lon", last("online") AS "online" '
        f"FROM {ident(STATUS_MEASUREMENT)} WHERE $timeFilter{area(scope)} "
        f"GROUP BY {tags('device', 'kind', 'township', 'village')}"
    )


def village_positions(scope: Scope) -> str:
    """Where a village is on the map: the mean position of its devices."""
    inner = (
        f'SELECT last("lat") AS "lat", last("lon") AS "lon" FROM {ident(STATUS_MEASUREMENT)} '
        f"WHERE $timeFilter{area(scope)} GROUP BY {tags('device', 'village')}"
    )
    return f'SELECT mean("lat") AS "lat", mean("lon") AS "lon" FROM ({inner}) GROUP BY "village"'


# --- incidents (incident_event, incident_kpi) ----------------------------------------------


def _latest_incident_events(scope: Scope, fields: str = '"level"') -> str:
    # One row per rule and village: its latest transition. ``last()`` is a selector, so the
    # other fields named come from that same point (the level it is held at, its title…).
    return (
        f'SELECT last("state") AS "state", {fields} FROM {ident(EVENT_MEASUREMENT)} '
        f"WHERE $timeFilter{area(scope)} GROUP BY {tags('grade', 'township', 'village', 'rule')}"
    )


def open_incidents_by_grade(scope: Scope, level: str) -> str:
    return (
        f'SELECT count("state") AS "在办" FROM ({_latest_incident_events(scope)}) '
        f'WHERE "state" != {literal(CLOSED)} AND "level" = {literal(level)} GROUP BY "grade"'
    )


def open_incidents_list(scope: Scope) -> str:
    inner = _latest_incident_events(scope, '"level", "title", "incident_id"')
    return (
        f'SELECT "incident_id", "title", "state", "level" FROM ({inner}) '
        f'WHERE "state" != {literal(CLOSED)} '
        f"GROUP BY {tags('grade', 'township', 'village', 'rule')}"
    )


def open_incidents_by_village(scope: Scope) -> str:
    return (
        f'SELECT count("state") AS "在办事件" FROM ({_latest_incident_events(scope)}) '
        f'WHERE "state" != {literal(CLOSED)} GROUP BY "village"'
    )


def incidents_raised(scope: Scope) -> str:
    return (
        f'SELECT count("incident_id") FROM {ident(EVENT_MEASUREMENT)} '
        f"WHERE $timeFilter{area(scope)} AND \"event\" = 'raised' "
        f'GROUP BY time($__interval), "grade" fill(0)'
    )


def incident_annotations(scope: Scope) -> str:
    return (
        f'SELECT "title", "state", "incident_id", "grade", "level", "event", "township", '
        f'"village", "rule" FROM {ident(EVENT_MEASUREMENT)} WHERE $timeFilter{area(scope)}'
    )


def kpi_filter(scope: Scope, period: str) -> str:
    """incident_kpi rows of this board's level: ``scope`` is the level, ``area`` its id."""
    where = f'"scope" = {literal(scope.value)} AND "period" = {literal(period)}'
    if scope is not Scope.DISTRICT:
        where += f' AND "area" =~ /^${scope.value}$/'
    return where


def kpi_now(scope: Scope, field: str, period: str, aggregate: str = "sum") -> str:
    """One number for the board's area: the latest KPI of each area, summed or averaged."""
    inner = (
        f"SELECT last({ident(field)}) AS {ident(field)} FROM {ident(KPI_MEASUREMENT)} "
        f'WHERE $timeFilter AND {kpi_filter(scope, period)} GROUP BY "area"'
    )
    return f"SELECT {aggregate}({ident(field)}) AS {ident(field)} FROM ({inner})"


def kpi_trend(scope: Scope, fields: dict[str, str], period: str) -> str:
    selected = ", ".join(f"mean({ident(f)}) AS {ident(alias)}" for f, alias in fields.items())
    return (
        f"SELECT {selected} FROM {ident(KPI_MEASUREMENT)} WHERE $timeFilter AND "
        f"{kpi_filter(scope, period)} GROUP BY time($__interval) fill(none)"
    )


# --- telemetry ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Series:
    """One quantity of one kind, aggregated per bucket and per area."""

    measurement: str
    field: str
    aggregate: str = "mean"
    where: str = ""  # extra conditions, e.g. "site" = 'river'

    def by(self, scope: Scope, *group: str) -> str:
        grouping = ", ".join(["time($__interval)", *(ident(g) for g in group)])
        return (
            f"SELECT {self.aggregate}({ident(self.field)}) AS {ident(self.field)} "
            f"FROM {ident(self.measurement)} WHERE $timeFilter{area(scope)}{self.where} "
            f"GROUP BY {grouping} fill(none)"
        )


def station_level(river: str, village: str) -> str:
    """A river station's stage: the roster names a station by its river and village."""
    return (
        'SELECT mean("level_m") AS "level_m" FROM "water" WHERE $timeFilter '
        f'AND "site" = \'river\' AND "river" = {literal(river)} AND "village" = {literal(village)}'
        " GROUP BY time($__interval) fill(none)"
    )


def station_level_in_scope(scope: Scope, river: str, village: str) -> str:
    return (
        f'SELECT mean("level_m") AS "level_m" FROM "water" WHERE $timeFilter{area(scope)} '
        f'AND "site" = \'river\' AND "river" = {literal(river)} AND "village" = {literal(village)}'
        " GROUP BY time($__interval) fill(none)"
    )


def lamp_energy(scope: Scope) -> str:
    """kWh used per bucket: each lamp's meter advance, summed over the area's lamps."""
    by = group_tag(scope)
    inner = (
        'SELECT non_negative_difference(last("energy_kwh")) AS "kwh" FROM "streetlight" '
        f"WHERE $timeFilter{area(scope)} "
        f"GROUP BY time($__interval), {tags('device', by)} fill(none)"
    )
    return (
        f'SELECT sum("kwh") AS "kwh" FROM ({inner}) WHERE $timeFilter '
        f"GROUP BY time($__interval), {ident(by)} fill(0)"
    )


def lamps_failing_now(scope: Scope) -> str:
    by = group_tag(scope)
    inner = (
        f'SELECT last("status") AS "status" FROM "streetlight" WHERE $timeFilter{area(scope)} '
        f"GROUP BY {tags('device', by)}"
    )
    return (
        f'SELECT count("status") AS "故障" FROM ({inner}) WHERE "status" != \'ok\' '
        f"GROUP BY {ident(by)}"
    )


def lamp_fault_reports(scope: Scope) -> str:
    return (
        f'SELECT count("status") AS "上报" FROM "streetlight" WHERE $timeFilter{area(scope)} '
        'AND "status" != \'ok\' GROUP BY time($__interval), "status" fill(0)'
    )


def occupancy_now(scope: Scope) -> str:
    by = group_tag(scope)
    inner = (
        f'SELECT last("occupied") AS "occupied" FROM "parking" WHERE $timeFilter{area(scope)} '
        f"GROUP BY {tags('device', by)}"
    )
    return f'SELECT mean("occupied") AS "占用率" FROM ({inner}) GROUP BY {ident(by)}'


def covers_open_now(scope: Scope) -> str:
    by = group_tag(scope)
    inner = (
        f'SELECT last("cover_open") AS "cover_open" FROM "manhole" WHERE $timeFilter{area(scope)} '
        f"GROUP BY {tags('device', by)}"
    )
    return f'SELECT sum("cover_open") AS "开盖" FROM ({inner}) GROUP BY {ident(by)}'


# --- variables ------------------------------------------------------------------------------


def villages_of_township(measurement: str = STATUS_MEASUREMENT) -> str:
    return (
        f'SHOW TAG VALUES FROM {ident(measurement)} WITH KEY = "village" '
        'WHERE "township" =~ /^$township$/'
    )
