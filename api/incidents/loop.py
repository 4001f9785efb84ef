"""The closed loop as captains work it: 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案 (and reopen).

``city.incidents.next_state`` decides what may follow what; a step it refuses is a 409 that
names the current state. Who may take a step:

- anyone who may operate (captain, admin) and whose area holds the incident (the route has
  already answered 404 otherwise);
- acknowledge, dispatch, close and reopen are command decisions: only a captain at the level
  holding the incident or above (a village captain cannot acknowledge what the township holds,
  or the escalation would stop without the township ever knowing);
- verify: someone other than whoever resolved it (核查 is a second pair of eyes).

Every step sets its milestone, writes the audit row (and its InfluxDB point) and notifies.
Acknowledging stops the escalation and reminder timers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.scope import Level as ScopeLevel
from api.incidents import audit, timers
from api.incidents.audit import Actor
from api.incidents.context import IncidentContext
from api.incidents.notifications import notify_incident, recipients_for
from api.models.incident_tables import Incident
from api.models.tables import User
from api.notify import Event
from city.grades import Level
from city.incidents import Action, State, next_state

COMMAND_ACTIONS = frozenset({Action.ACKNOWLEDGE, Action.DISPATCH, Action.CLOSE, Action.REOPEN})
PAST = {
    Action.ACKNOWLEDGE: "acknowledged",
    Action.DISPATCH: "dispatched",
    Action.NOTE: "note",
    Action.RESOLVE: "resolved",
    Action.VERIFY: "verified",
    Action.CLOSE: "closed",
    Action.REOPEN: "reopened",
}
_EVENTS = {
    Action.ACKNOWLEDGE: Event.ACKNOWLEDGED,
    Action.DISPATCH: Event.DISPATCHED,
    Action.RESOLVE: Event.RESOLVED,
    Action.VERIFY: Event.VERIFIED,
    Action.CLOSE: Event.CLOSED,
    Action.REOPEN: Event.REOPENED,
}


class Refused(Exception):
    """The step is not allowed now (409) or not by this caller (403); the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    comment: str | None = None
    assignee: User | None = None  # dispatch: the person
    team: str | None = None  # dispatch: or a team


def _rank(level: str) -> int:
    return ScopeLevel(level).rank  # district 0, township 1, village 2


def _check_level(incident: Incident, step: Step, actor: Actor) -> None:
    if step.action not in COMMAND_ACTIONS or actor.level is None:
        return
    if _rank(actor.level) > _rank(incident.level):
        holder = Level(incident.level)
        raise Refused(
            403,
            f"the incident is held at the {holder.value} level ({holder.display_name}); a "
            f"{actor.level}-level captain cannot {step.action.value} it — the {holder.value} "
            "captain on duty does, or add a note",
        )


def take(
    session: Session, ctx: IncidentContext, incident: Incident, step: Step, actor: Actor
) -> Incident:
    """Apply one step; the caller commits (a version conflict then surfaces as StaleDataError)."""
    now = ctx.clock.now()
    current = State(incident.state)
    try:
        target = next_state(current, step.action)
    except ValueError as exc:
        raise Refused(409, str(exc)) from None
    _check_level(incident, step, actor)
    if step.action is Action.VERIFY and incident.resolved_by == actor.key:
        raise Refused(
            409,
            f"核查 must be done by someone other than the resolver: {actor.name} resolved "
            "this incident, so another captain verifies it",
        )
    details: dict[str, object] = {}
    match step.action:
        case Action.ACKNOWLEDGE:
            incident.acknowledged_at = now
            timers.cancel(session, incident.id)
        case Action.DISPATCH:
            incident.assignee_id = step.assignee.id if step.assignee else None
            incident.team = step.team
            incident.dispatched_at = incident.dispatched_at or now  # the case clock starts once
            details = {"assignee": step.assignee.username if step.assignee else None,
                       "team": step.team}  # fmt: skip
        case Action.RESOLVE:
            incident.resolved_at = now
            incident.resolved_by = actor.key
        case Action.VERIFY:
            incident.verified_at = now
        case Action.CLOSE:
            incident.closed_at = now
            incident.open_key = None  # a new alert with this fingerprint opens a new incident
            timers.cancel(session, incident.id)
        case Action.REOPEN:
            _reopen(session, incident)
        case Action.NOTE:
            pass
    incident.state = target.value
    incident.updated_at = now
    audit.record(
        session, incident, PAST[step.action], actor, now, from_state=current.value,
        to_state=target.value, comment=step.comment, details=details or None,
    )  # fmt: skip
    event = _EVENTS.get(step.action)
    if event is not None:
        told = recipients_for(session, incident, event, now)
        notify_incident(session, incident, event, told, ctx=ctx)
    return incident


def _reopen(session: Session, incident: Incident) -> None:
    if incident.open_key is None:
        newer = session.scalar(select(Incident.id).where(Incident.open_key == incident.fingerprint))
        if newer is not None:
            raise Refused(
                409,
                f"incident {newer} is open for the same alert; work on that one instead",
            )
        incident.open_key = incident.fingerprint
    incident.resolved_at = incident.verified_at = incident.closed_at = None
    incident.resolved_by = None
    incident.reopened += 1
