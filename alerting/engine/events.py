"""AlertEvents as the incident service receives them, with a Chinese summary for people.

``井下甲烷超标 12.3 %LEL (阈值 > 10)`` when firing, ``井下甲烷超标 已恢复 3.1 %LEL (恢复条件
< 5)`` when resolved; ``fingerprint`` is the rule and its subject (the device, ``road:<id>``
or ``township:<id>``), so the service keeps one open incident per rule and subject.
"""

from __future__ import annotations

from typing import Literal

from alerting.engine.conditions import Value, describe, format_number, format_value
from alerting.engine.correlation import AreaChange
from alerting.engine.devices import DeviceRecord
from alerting.engine.places import Place
from city.alerts import AlertEvent, fingerprint
from city.grades import Grade
from city.rules import NoDataRule, ThresholdRule
from city.topology import Station

Status = Literal["firing", "resolved"]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _event_value(value: Value) -> float | str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else float(value)


def _minutes(ms: int) -> str:
    minutes = ms / 60_000
    return (
        f"{format_number(minutes)} 分钟" if minutes < 120 else f"{format_number(minutes / 60)} 小时"
    )


def threshold_event(
    rule: ThresholdRule,
    device: DeviceRecord,
    status: Status,
    *,
    value: Value,
    observed_ms: int,
    station: Station | None,
) -> AlertEvent:
    unit = f" {rule.unit}" if rule.unit and not isinstance(value, (bool, str)) else ""
    shown = f"{format_value(value)}{unit}"
    condition = describe(rule.condition, station)
    if status == "firing":
        summary = f"{rule.name} {shown} (阈值 {condition})"
    else:
        recover = describe(rule.recover, station) if rule.recover else f"不再 {condition}"
        summary = f"{rule.name} 已恢复 {shown} (恢复条件 {recover})"
    return AlertEvent(
        status=status,
        rule_id=rule.id,
        rule_name=rule.name,
        grade=rule.grade,
        fingerprint=fingerprint(rule.id, device.device_id),
        township=device.township,
        village=device.village,
        device_id=device.device_id,
        kind=device.kind,
        subject=device.device_id,
        value=_event_value(value),
        threshold=_clip(condition, 120),
        observed_ms=observed_ms,
        summary=_clip(summary, 200),
        lat=device.lat,
        lon=device.lon,
    )


def silence_event(
    rule: NoDataRule,
    grade: Grade,
    device: DeviceRecord,
    status: Status,
    *,
    observed_ms: int,
    silent_ms: int = 0,
) -> AlertEvent:
    limit = f"{_minutes(int(rule.silence_s() * 1000))}"
    if status == "firing":
        summary = f"{rule.name} {_minutes(silent_ms)}无数据 (阈值 {limit})"
    else:
        summary = f"{rule.name} 已恢复通信"
    return AlertEvent(
        status=status,
        rule_id=rule.id,
        rule_name=rule.name,
        grade=grade,
        fingerprint=fingerprint(rule.id, device.device_id),
        township=device.township,
        village=device.village,
        device_id=device.device_id,
        kind=device.kind,
        subject=device.device_id,
        value=round(silent_ms / 1000, 1) if status == "firing" else None,
        threshold=f"> {format_number(rule.silence_s())} s",
        observed_ms=observed_ms,
        summary=summary,
        lat=device.lat,
        lon=device.lon,
    )


def area_event(change: AreaChange, grade: Grade, place: Place) -> AlertEvent:
    rule = change.rule
    subject = f"{rule.by}:{change.group}"
    window = _minutes(rule.within_s * 1000)
    if change.status == "firing":
        summary = f"{rule.name} {place.name} {window}内 {change.count} 处 (阈值 ≥ {rule.count})"
    else:
        summary = f"{rule.name} {place.name} 已恢复"
    return AlertEvent(
        status="firing" if change.status == "firing" else "resolved",
        rule_id=rule.id,
        rule_name=rule.name,
        grade=grade,
        fingerprint=fingerprint(rule.id, subject),
        township=place.township,
        village=place.village,
        subject=subject,
        value=float(change.count) if change.status == "firing" else None,
        threshold=f">= {rule.count} in {rule.within_s} s",
        observed_ms=change.observed_ms,
        summary=_clip(summary, 200),
        lat=place.lat,
        lon=place.lon,
    )
