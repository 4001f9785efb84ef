# ruff: noqa: S608 - InfluxQL for Grafana is built from the contract's names and the roster,
# never from user input; Grafana substitutes its own variables later.
"""Grafana alert rules generated from the platform's rules file (``city.rules.load_rules()``).

One Grafana rule per threshold rule and per no-data rule, with the same id, grade and Chinese
name, so that an operator who prefers Grafana's alerting gets the incidents the platform's own
evaluator would raise. Every rule is multi-dimensional: its InfluxQL query groups by the
device's area tags (``township``, ``village``, ``device``; ``road`` for lamps, ``river`` for
river stations), so each device is an alert instance whose labels carry its area, and the
webhook hands the API everything an :class:`city.alerts.AlertEvent` needs.

How a rule's semantics map onto Grafana's query → expressions → condition:

- ``repeat: N`` — the query returns each device's last N readings
  (``ORDER BY time DESC LIMIT N``) and a *reduce* takes the one that decides: ``min`` for
  ``above`` (all N above ⇔ the smallest is), ``max`` for ``below``;
- ``above`` / ``below`` — a *threshold* expression ``gt`` / ``lt``; ``recover`` becomes its
  recovery threshold (Grafana's ``unloadEvaluator``: hysteresis);
- ``outside [lo, hi]`` — ``outside_range`` on the last reading; with ``repeat`` > 1 a *math*
  expression marks each reading outside the band and ``min`` requires all N;
- ``equals`` on a 0/1 field (booleans are stored as integers) — ``gt 0.5`` / ``lt 0.5``;
  ``equals`` on a string field (lamp ``status``) — InfluxQL counts the last N readings equal to
  it and the threshold requires N; a device that recovers drops out of the result, and Grafana
  resolves an instance whose series is gone (two evaluations later);
- ``station.*_level_m`` — InfluxQL subtracts each station's own level from the roster
  (``level_m - 4.2``, one subquery per station) so one threshold at 0 serves every station;
- ``for_s`` — the rule's pending period (``for``);
- overrides — the base rule excludes each overridden area and one more Grafana rule per area
  (same ``rule_id``) carries the override's threshold, grade or ``enabled: false``;
- no-data — per device, the moving count of readings over the silence window (``fill(0)``
  buckets of a sixth of it) reaching 0; devices silent for longer than the 24 h look-back drop
  out of the result (Grafana then resolves them; the platform's own evaluator keeps them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from grafana_foundation_sdk.models import alerting, expr
from grafana_foundation_sdk.models import dashboard as dm

from city.kinds import Kind
from city.rules import Condition, NoDataRule, OverrideMatch, RuleBook, ThresholdRule, reading_model
from city.topology import City, Station
from dashboards.influxql import InfluxQuery
from dashboards.names import ALERTS_FOLDER, UID_PREFIX

EXPR_UID: Final = "__expr__"
THRESHOLD_INTERVAL_S: Final = 60
NO_DATA_INTERVAL_S: Final = 300
NO_DATA_LOOKBACK_S: Final = 86_400
NO_DATA_STEPS: Final = 6  # buckets per silence window
MAX_UID: Final = 40  # Grafana's limit for an alert rule uid

Evaluator = Literal[
    "gt",
    "lt",
    "eq",
    "ne",
    "gte",
    "lte",
    "within_range",
    "outside_range",
    "within_range_included",
    "outside_range_included",
]


Expression = expr.TypeReduce | expr.TypeMath | expr.TypeThreshold


class UnsupportedRule(ValueError):
    """A rule whose semantics Grafana's expressions cannot express faithfully."""


def rule_uid(*parts: str) -> str:
    text = UID_PREFIX + "--".join(parts)
    if len(text) <= MAX_UID:
        return text
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{text[: MAX_UID - 9]}-{digest}"


def group_name(kind: Kind) -> str:
    return f"{UID_PREFIX}{kind.value}"


NO_DATA_GROUP: Final = f"{UID_PREFIX}no-data"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def group_tags(kind: Kind, site: str | None) -> list[str]:
    """The tags an alert instance is labelled with: the device and where it stands."""
    extra = {Kind.STREETLIGHT: ["road"]}.get(kind, ["river"] if site == "river" else [])
    return ["township", "village", *extra, "device"]


def _group_by(tags: Sequence[str]) -> str:
    return ", ".join(f'"{t}"' for t in tags)


def _match_filter(match: OverrideMatch) -> str:
    parts = [
        f'"{key}" = {_literal(value)}'
        for key, value in (
            ("township", match.township),
            ("village", match.village),
            ("device", match.device),
        )
        if value is not None
    ]
    return " AND ".join(parts)


def _exclusion(match: OverrideMatch) -> str:
    parts = [
        f'"{key}" != {_literal(value)}'
        for key, value in (
            ("township", match.township),
            ("village", match.village),
            ("device", match.device),
        )
        if value is not None
    ]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


@dataclass(frozen=True, slots=True)
class Variant:
    """One Grafana rule for a threshold rule: the base, or the rule as overridden in an area."""

    rule: ThresholdRule
    match: OverrideMatch | None
    exclude: tuple[OverrideMatch, ...]
    index: int = 0

    def where(self, site: str | None) -> str:
        parts = ["$timeFilter"]
        if site:
            parts.append(f'"site" = {_literal(site)}')
        if self.match is not None:
            parts.append(_match_filter(self.match))
        parts.extend(_exclusion(m) for m in self.exclude)
        return " AND ".join(parts)


def variants(book: RuleBook, rule: ThresholdRule, city: City) -> list[Variant]:
    """The base rule and one variant per overridden area, most specific areas excluded from
    the less specific ones (an area's overrides apply on top of its enclosing areas')."""
    matches: list[OverrideMatch] = []
    for override in book.overrides:
        if override.rule == rule.id and override.match not in matches:
            matches.append(override.match)
    matches.sort(key=lambda m: (m.specificity(), m.township or "", m.village or "", m.device or ""))
    result = [Variant(rule, None, tuple(matches))]
    for i, match in enumerate(matches, start=1):
        township = match.township
        if township is None and match.village is not None:
            found = city.village(match.village)
            township = found[0].id if found else None
        effective = book.effective(rule, township or "", match.village, match.device)
        deeper = tuple(m for m in matches if m.specificity() > match.specificity())
        result.append(Variant(effective, match, deeper, i))
    return result


# --- expressions ----------------------------------------------------------------------------


def _expr_ref() -> dm.DataSourceRef:
    return dm.DataSourceRef(type_val=EXPR_UID, uid=EXPR_UID)


def _reduce(ref: str, source: str, reducer: Literal["min", "max", "last"]) -> expr.TypeReduce:
    return expr.TypeReduce(
        datasource=_expr_ref(),
        expression=source,
        reducer=reducer,
        ref_id=ref,
        settings=expr.ExprTypeReduceSettings(mode="dropNN"),
    )


def _math(ref: str, expression: str) -> expr.TypeMath:
    return expr.TypeMath(datasource=_expr_ref(), expression=expression, ref_id=ref)


def _threshold(
    ref: str,
    source: str,
    evaluator: tuple[Evaluator, list[float]],
    unload: tuple[Evaluator, list[float]] | None = None,
) -> expr.TypeThreshold:
    condition = expr.ExprTypeThresholdConditions(
        evaluator=expr.ExprTypeThresholdConditionsEvaluator(
            type_val=evaluator[0], params=evaluator[1]
        )
    )
    if unload is not None:
        condition.unload_evaluator = expr.ExprTypeThresholdConditionsUnloadEvaluator(
            type_val=unload[0], params=unload[1]
        )
    return expr.TypeThreshold(
        datasource=_expr_ref(), expression=source, ref_id=ref, conditions=[condition]
    )


@dataclass
class Plan:
    """What a rule becomes: the InfluxQL, the expressions and which one is the condition."""

    query: str
    lookback_s: int
    expressions: list[Expression] = field(default_factory=list)
    condition: str = ""
    value_ref: str = "B"
    no_data_state: Literal["Alerting", "NoData", "OK"] = "OK"
    describe: str = ""


def _lookback(rule: ThresholdRule) -> int:
    # Enough history to hold the last `repeat` readings of a device at its heartbeat.
    return max(600, 2 * rule.repeat * rule.kind.heartbeat_s + rule.for_s)


def _last_n(rule: ThresholdRule, where: str, tags: Sequence[str], select: str) -> str:
    return (
        f'SELECT {select} FROM "{rule.kind.value}" WHERE {where} GROUP BY {_group_by(tags)} '
        f"ORDER BY time DESC LIMIT {rule.repeat}"
    )


def _numeric_bound(cond: Condition) -> tuple[Evaluator, list[float]]:
    if cond.above is not None and not isinstance(cond.above, str):
        return "gt", [float(cond.above)]
    if cond.below is not None and not isinstance(cond.below, str):
        return "lt", [float(cond.below)]
    if cond.outside is not None:
        return "outside_range", [cond.outside[0], cond.outside[1]]
    raise UnsupportedRule(f"no numeric bound in {cond.describe()}")


def _station_offset_query(
    rule: ThresholdRule,
    variant: Variant,
    tags: Sequence[str],
    stations: Sequence[tuple[str, Station]],
    ref: str,
) -> str:
    """One subquery per station (named by its river and village in the roster): the reading
    minus that station's level named by ``ref``."""
    attribute = ref.removeprefix("station.")
    subqueries = []
    for river, station in stations:
        level = float(getattr(station, attribute))
        where = (
            f'{variant.where(rule.site)} AND "river" = {_literal(river)} '
            f'AND "village" = {_literal(station.village)}'
        )
        subqueries.append(
            "("
            + _last_n(rule, where, tags, f'"{rule.quantity}" - {level!r} AS "{rule.quantity}"')
            + ")"
        )
    return (
        f'SELECT "{rule.quantity}" FROM {", ".join(subqueries)} GROUP BY {_group_by(tags)} '
        "ORDER BY time DESC"
    )


def plan_threshold(variant: Variant, city: City) -> Plan:
    rule = variant.rule
    model = reading_model(rule.kind, rule.site)
    assert model is not None  # the rules file was validated against the contract
    annotation = model.model_fields[rule.quantity].annotation
    tags = group_tags(rule.kind, rule.site)
    where = variant.where(rule.site)
    cond, recover = rule.condition, rule.recover
    lookback = _lookback(rule)
    q = f'"{rule.quantity}"'

    if annotation is str or (cond.equals is not None and isinstance(cond.equals, str)):
        if not isinstance(cond.equals, str):
            raise UnsupportedRule(f"{rule.id}: a text field needs equals")
        inner = _last_n(rule, where, tags, q)
        query = (
            f"SELECT count({q}) AS {q} FROM ({inner}) WHERE {q} = {_literal(cond.equals)} "
            f"GROUP BY {_group_by(tags)} ORDER BY time DESC"
        )
        return Plan(
            query,
            lookback,
            [_reduce("B", "A", "last"), _threshold("C", "B", ("gt", [rule.repeat - 0.5]))],
            "C",
            describe=f"最近 {rule.repeat} 次读数 {rule.quantity} = {cond.equals}",
        )

    if annotation is bool:
        if not isinstance(cond.equals, bool):
            raise UnsupportedRule(f"{rule.id}: a true/false field needs equals: true|false")
        reducer: Literal["min", "max", "last"] = "min" if cond.equals else "max"
        evaluator: tuple[Evaluator, list[float]] = ("gt", [0.5]) if cond.equals else ("lt", [0.5])
        unload: tuple[Evaluator, list[float]] | None = None
        if recover is not None and isinstance(recover.equals, bool):
            unload = ("gt", [0.5]) if recover.equals else ("lt", [0.5])
        return Plan(
            _last_n(rule, where, tags, q),
            lookback,
            [_reduce("B", "A", reducer), _threshold("C", "B", evaluator, unload)],
            "C",
            describe=f"{rule.quantity} = {str(cond.equals).lower()}",
        )

    if cond.references_station:
        reference = cond.above if isinstance(cond.above, str) else cond.below
        assert isinstance(reference, str)
        unload_station: tuple[Evaluator, list[float]] | None = None
        if recover is not None:
            recover_ref = recover.above if recover.above is not None else recover.below
            if recover_ref != reference:
                raise UnsupportedRule(
                    f"{rule.id}: recovery must name the same station level as the condition"
                )
            unload_station = ("gt", [0.0]) if recover.above is not None else ("lt", [0.0])
        stations = [(r.id, s) for r, s in city.stations()]
        above = cond.above is not None
        return Plan(
            _station_offset_query(rule, variant, tags, stations, reference),
            lookback,
            [
                _reduce("B", "A", "min" if above else "max"),
                _threshold("C", "B", ("gt", [0.0]) if above else ("lt", [0.0]), unload_station),
            ],
            "C",
            describe=f"{rule.quantity} {'>' if above else '<'} {reference}（各站）",
        )

    evaluator = _numeric_bound(cond)
    unload = _numeric_bound(recover) if recover is not None else None
    if cond.outside is not None and rule.repeat > 1:
        if recover is not None:
            raise UnsupportedRule(f"{rule.id}: outside with repeat and recover")
        low, high = cond.outside
        return Plan(
            _last_n(rule, where, tags, q),
            lookback,
            [
                _math("B", f"($A < {low!r}) || ($A > {high!r})"),
                _reduce("C", "B", "min"),
                _threshold("D", "C", ("gt", [0.5])),
            ],
            "D",
            value_ref="C",
            describe=f"最近 {rule.repeat} 次读数 {rule.quantity} {cond.describe()}",
        )
    reducer = "last" if cond.outside is not None else ("min" if cond.above is not None else "max")
    return Plan(
        _last_n(rule, where, tags, q),
        lookback,
        [_reduce("B", "A", reducer), _threshold("C", "B", evaluator, unload)],
        "C",
        describe=f"{rule.quantity} {cond.describe()}",
    )


def plan_no_data(rule: NoDataRule) -> Plan:
    silence = int(rule.silence_s())
    step = max(60, silence // NO_DATA_STEPS)
    window = -(-silence // step) + 1  # buckets covering the silence, plus the current one
    tags = group_tags(rule.kind, rule.site)
    site = f' AND "site" = {_literal(rule.site)}' if rule.site else ""
    query = (
        f'SELECT moving_average(count("seq"), {window}) AS "readings" FROM "{rule.kind.value}" '
        f"WHERE $timeFilter{site} GROUP BY time({step}s), {_group_by(tags)} fill(0)"
    )
    return Plan(
        query,
        NO_DATA_LOOKBACK_S,
        [_reduce("B", "A", "last"), _threshold("C", "B", ("lt", [0.01]))],
        "C",
        describe=(
            f"{_duration(silence)} 内无数据"
            f"（心跳 {_duration(rule.kind.heartbeat_s)} × {rule.factor}）"
        ),
    )


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PanelLink:
    dashboard_uid: str
    panel_id: int


@dataclass
class GrafanaRule:
    """A generated rule, its group and where it came from (for the tests' rule-for-rule check)."""

    source_id: str
    group: str
    interval_s: int
    model: alerting.Rule
    plan: Plan


def _rule_model(
    *,
    uid: str,
    title: str,
    group: str,
    plan: Plan,
    for_s: int,
    labels: dict[str, str],
    annotations: dict[str, str],
    paused: bool,
    datasource_uid: str,
) -> alerting.Rule:
    query = InfluxQuery(
        ref_id="A",
        query=plan.query,
        datasource_uid=datasource_uid,
        extra={"intervalMs": 60_000, "maxDataPoints": 43_200},
    )
    data = [
        alerting.Query(
            datasource_uid=datasource_uid,
            model=query,
            ref_id="A",
            relative_time_range=alerting.RelativeTimeRange(from_val=plan.lookback_s, to=0),
        ),
        *(
            alerting.Query(
                datasource_uid=EXPR_UID,
                model=e,
                ref_id=e.ref_id,
                relative_time_range=alerting.RelativeTimeRange(from_val=0, to=0),
            )
            for e in plan.expressions
        ),
    ]
    return alerting.Rule(
        uid=uid,
        title=title,
        condition=plan.condition,
        data=data,
        folder_uid=ALERTS_FOLDER.uid,
        rule_group=group,
        org_id=1,
        for_val=_duration(for_s) if for_s else "0s",
        no_data_state=plan.no_data_state,
        exec_err_state="Error",
        labels=labels,
        annotations=annotations,
        is_paused=paused,
    )


def _area_name(match: OverrideMatch, city: City) -> str:
    if match.device:
        return match.device
    if match.village:
        found = city.village(match.village)
        return found[1].name if found else match.village
    township = city.township(match.township or "")
    return township.name if township else (match.township or "")


def generate(
    book: RuleBook,
    city: City,
    *,
    datasource_uid: str,
    panel_links: dict[tuple[Kind, str], PanelLink] | None = None,
) -> list[GrafanaRule]:
    """Every Grafana rule for the rules file, in file order."""
    links = panel_links or {}
    out: list[GrafanaRule] = []
    for rule in book.rules:
        for variant in variants(book, rule, city):
            effective = variant.rule
            plan = plan_threshold(variant, city)
            suffix = ""
            uid = rule_uid(rule.id)
            if variant.match is not None:
                suffix = f"（{_area_name(variant.match, city)}）"
                uid = rule_uid(rule.id, str(variant.index))
            unit = f" {rule.unit}" if rule.unit else ""
            labels = {
                "rule_id": rule.id,
                "grade": effective.grade.value,
                "level": effective.grade.responsible_level.value,
                "kind": rule.kind.value,
                **({"site": rule.site} if rule.site else {}),
            }
            annotations = {
                "rule_name": rule.name,
                "summary": (
                    f"{rule.name}：{{{{ $labels.device }}}}（{{{{ $labels.village }}}}）"
                    f"读数 {{{{ $values.{plan.value_ref}.Value }}}}{unit}"
                ),
                "description": (
                    f"{effective.grade.label} · {plan.describe}"
                    + (f"，持续 {_duration(effective.for_s)}" if effective.for_s else "")
                    + (f"，恢复：{effective.recover.describe()}" if effective.recover else "")
                ),
                "grade_label": effective.grade.label,
                "threshold": effective.condition.describe(),
            }
            link = links.get((rule.kind, rule.quantity))
            if link:
                annotations["__dashboardUid__"] = link.dashboard_uid
                annotations["__panelId__"] = str(link.panel_id)
            model = _rule_model(
                uid=uid,
                title=f"{rule.name}{suffix} [{rule.id}]",
                group=group_name(rule.kind),
                plan=plan,
                for_s=effective.for_s,
                labels=labels,
                annotations=annotations,
                paused=not effective.enabled,
                datasource_uid=datasource_uid,
            )
            out.append(
                GrafanaRule(rule.id, group_name(rule.kind), THRESHOLD_INTERVAL_S, model, plan)
            )
    for silent in book.no_data:
        plan = plan_no_data(silent)
        labels = {
            "rule_id": silent.id,
            "grade": silent.grade.value,
            "level": silent.grade.responsible_level.value,
            "kind": silent.kind.value,
            **({"site": silent.site} if silent.site else {}),
        }
        annotations = {
            "rule_name": silent.name,
            "summary": (
                f"{silent.name}：{{{{ $labels.device }}}}（{{{{ $labels.village }}}}）无数据"
            ),
            "description": f"{silent.grade.label} · {plan.describe}",
            "grade_label": silent.grade.label,
            "threshold": f"silent {int(silent.silence_s())} s",
        }
        model = _rule_model(
            uid=rule_uid(silent.id),
            title=f"{silent.name} [{silent.id}]",
            group=NO_DATA_GROUP,
            plan=plan,
            for_s=0,
            labels=labels,
            annotations=annotations,
            paused=not silent.enabled,
            datasource_uid=datasource_uid,
        )
        out.append(GrafanaRule(silent.id, NO_DATA_GROUP, NO_DATA_INTERVAL_S, model, plan))
    return out


def to_json(value: Any) -> Any:
    """An SDK model tree as plain JSON values (what the HTTP API takes)."""
    import json  # noqa: PLC0415

    from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: PLC0415

    return json.loads(json.dumps(value, cls=JSONEncoder, ensure_ascii=False))


def provisioning_rule(rule: GrafanaRule) -> dict[str, Any]:
    """A rule as a ``provisioning/alerting`` file lists it (no folder/group/org: its group has
    them)."""
    payload = to_json(rule.model)
    for key in ("folderUID", "ruleGroup", "orgID"):
        payload.pop(key, None)
    return dict(payload)


def provisioning_groups(rules: Iterable[GrafanaRule]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for rule in rules:
        group = groups.setdefault(
            rule.group,
            {
                "orgId": 1,
                "name": rule.group,
                "folder": ALERTS_FOLDER.title,
                "interval": _duration(rule.interval_s),
                "rules": [],
            },
        )
        group["rules"].append(provisioning_rule(rule))
    return list(groups.values())
