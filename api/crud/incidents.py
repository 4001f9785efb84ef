"""Incidents as captains look them up: scoped lists (gravest and newest first), one by id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.core.principal import Role
from api.core.scope import Scope
from api.models.incident_tables import Incident, IncidentAudit, IncidentTimer
from api.models.incidents import IncidentPublic
from api.models.tables import User
from city.grades import Grade, Level
from city.incidents import State
from city.rules import RuleBook


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    state: State | None = None
    grade: Grade | None = None
    level: Level | None = None
    open: bool | None = None
    rule_id: str | None = None
    device_id: str | None = None


def _conditions(scope: Scope, f: IncidentFilter) -> list[ColumnElement[bool]]:
    conditions = scope.sql_conditions(Incident.township, Incident.village)
    if f.state is not None:
        conditions.append(Incident.state == f.state.value)
    if f.grade is not None:
        conditions.append(Incident.grade == f.grade.value)
    if f.level is not None:
        conditions.append(Incident.level == f.level.value)
    if f.open is True:
        conditions.append(Incident.state != State.CLOSED.value)
    elif f.open is False:
        conditions.append(Incident.state == State.CLOSED.value)
    if f.rule_id is not None:
        conditions.append(Incident.rule_id == f.rule_id)
    if f.device_id is not None:
        conditions.append(Incident.device_id == f.device_id)
    return conditions


def list_in_scope(
    session: Session, scope: Scope, f: IncidentFilter, limit: int, offset: int
) -> tuple[list[Incident], int]:
    conditions = _conditions(scope, f)
    total = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
    rows = session.scalars(
        select(Incident)
        .where(*conditions)
        .order_by(Incident.severity.desc(), Incident.raised_at.desc(), Incident.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def get_in_scope(session: Session, scope: Scope, incident_id: int) -> Incident | None:
    incident = session.get(Incident, incident_id)
    if incident is None or not scope.contains(incident.township, incident.village):
        return None
    return incident


def audit_trail(session: Session, incident_id: int) -> list[IncidentAudit]:
    return list(
        session.scalars(
            select(IncidentAudit)
            .where(IncidentAudit.incident_id == incident_id)
            .order_by(IncidentAudit.id)
        )
    )


def people_of(session: Session, incidents: Iterable[Incident]) -> dict[int, User]:
    """The captains and handlers a page of incidents names, in one query."""
    ids = {i for inc in incidents for i in (inc.duty_captain_id, inc.assignee_id) if i}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def handler_for(session: Session, incident: Incident, user_id: int) -> User | None:
    """A person the incident can be dispatched to: active, may operate, and sees the incident
    (so the handler can report progress and resolve it); None otherwise."""
    user = session.get(User, user_id)
    if (
        user is None
        or not user.active
        or user.role not in (Role.CAPTAIN.value, Role.ADMIN.value)
        or not Scope.of(user.township, user.village).contains(incident.township, incident.village)
    ):
        return None
    return user


def escalation_due(session: Session, incident_ids: Iterable[int]) -> dict[int, datetime]:
    """When each of these incidents goes one level up unless acknowledged (its timer's due
    time); absent once acknowledged, and at the district, where only reminders remain."""
    ids = set(incident_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(IncidentTimer.incident_id, IncidentTimer.due_at).where(
            IncidentTimer.kind == "escalate", IncidentTimer.incident_id.in_(ids)
        )
    )
    return {row.incident_id: row.due_at for row in rows}


def public(session: Session, rules: RuleBook, rows: Sequence[Incident]) -> list[IncidentPublic]:
    """A page of incidents as the API shows them: people, escalation due times and the
    quantity each rule watches, in one query each."""
    people = people_of(session, rows)
    due = escalation_due(session, (i.id for i in rows))
    watched = {r.id: r for r in rules.rules}
    return [
        IncidentPublic.of(
            i, people, rules.deadlines_s, escalates_at=due.get(i.id), rule=watched.get(i.rule_id)
        )
        for i in rows
    ]
