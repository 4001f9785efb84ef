"""The 三级机长制 KPIs over the incidents raised in a period, for an area and optionally a level.

- completion rate (事件完成率) = closed ÷ raised, over the incidents raised in the period;
- on-time rate: of the dispatched incidents whose outcome is known, the share resolved within
  their grade's deadline counted from dispatch (``deadlines_s`` in the rules file); one still
  unresolved past its deadline counts as late, one still within it is not counted yet;
- MTTA and MTTR: mean seconds from raised to acknowledged, and from raised to resolved;
- escalations: how many times incidents went up a level, and how many incidents did.

Rows are loaded with the caller's scope conditions, so an aggregate never counts an incident
outside the caller's area.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.scope import Scope
from api.models.incident_tables import Incident
from city.grades import Grade, Level
from city.incidents import State

Period = Literal["day", "7d", "30d"]
PERIOD_S: dict[str, int] = {"day": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400}


@dataclass(frozen=True, slots=True)
class KpiValues:
    raised: int
    closed: int
    open: int
    completion_rate: float | None
    on_time: int
    late: int
    on_time_rate: float | None
    mtta_s: float | None
    mttr_s: float | None
    escalations: int
    escalated_incidents: int


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _on_time(incident: Incident, now: datetime, deadlines: dict[Grade, int]) -> bool | None:
    if incident.dispatched_at is None:
        return None
    deadline = incident.dispatched_at + timedelta(seconds=deadlines[Grade(incident.grade)])
    if incident.resolved_at is not None:
        return incident.resolved_at <= deadline
    return False if now > deadline else None


def compute(incidents: Iterable[Incident], now: datetime, deadlines: dict[Grade, int]) -> KpiValues:
    rows = list(incidents)
    closed = sum(1 for i in rows if i.state == State.CLOSED)
    outcomes = [o for o in (_on_time(i, now, deadlines) for i in rows) if o is not None]
    on_time = sum(outcomes)
    ack = [(i.acknowledged_at - i.raised_at).total_seconds() for i in rows if i.acknowledged_at]
    res = [(i.resolved_at - i.raised_at).total_seconds() for i in rows if i.resolved_at]
    return KpiValues(
        raised=len(rows),
        closed=closed,
        open=len(rows) - closed,
        completion_rate=_ratio(closed, len(rows)),
        on_time=on_time,
        late=len(outcomes) - on_time,
        on_time_rate=_ratio(on_time, len(outcomes)),
        mtta_s=_mean(ack),
        mttr_s=_mean(res),
        escalations=sum(i.escalations for i in rows),
        escalated_incidents=sum(1 for i in rows if i.escalations),
    )


def raised_since(
    session: Session, scope: Scope, start: datetime, level: Level | None = None
) -> list[Incident]:
    conditions = [
        *scope.sql_conditions(Incident.township, Incident.village),
        Incident.raised_at >= start,
    ]
    if level is not None:
        conditions.append(Incident.level == level.value)
    return list(session.scalars(select(Incident).where(*conditions)))


def by(rows: Iterable[Incident], key: Literal["level", "grade"]) -> dict[str, list[Incident]]:
    groups: dict[str, list[Incident]] = {}
    for incident in rows:
        groups.setdefault(getattr(incident, key), []).append(incident)
    return groups
