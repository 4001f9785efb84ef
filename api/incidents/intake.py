"""Alert events in: each answered created, deduplicated, cleared, silenced or ignored.

- **firing**, an incident open for the fingerprint → *deduplicated*: the occurrence is counted
  and the last value kept (if its condition had cleared, it is marked firing again, audited);
- **firing**, none open, a silence matches → *silenced*: recorded, no incident;
- **firing**, none open → *created*: routed to the level its grade needs in its area (Ⅳ →
  village, Ⅲ → township, Ⅱ/Ⅰ → district; a township-wide Ⅳ goes to the township), to the
  captain on duty there, with the levels below informed, and its escalation and reminder
  timers set;
- **resolved**, an incident open → *cleared*: the condition has cleared (audited); the incident
  still goes through the loop to 结案;
- **resolved**, none open → *silenced* if a silence matches, else *ignored*;
- an area not in the roster, or outside the reporting key's area → *ignored*, with the reason.

Each event commits on its own. Two replicas taking the same new alert at once cannot open two
incidents: ``open_key`` is UNIQUE, the loser's INSERT fails and its retry finds the winner's
incident and deduplicates. A version conflict (a captain changed the incident meanwhile) is
retried the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.core.scope import Scope
from api.incidents import audit, silences, timers
from api.incidents.audit import Actor
from api.incidents.context import IncidentContext
from api.incidents.duty import on_duty
from api.incidents.notifications import notify_incident, recipients_for
from api.incidents.timers import TimerKind
from api.models.incident_tables import Incident
from api.notify import Event
from city.alerts import AlertEvent
from city.grades import Level
from city.incidents import State

Status = Literal["created", "deduplicated", "cleared", "silenced", "ignored"]
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    incident_id: int | None = None
    silence_id: int | None = None
    reason: str | None = None


def take(
    session: Session, ctx: IncidentContext, event: AlertEvent, reporter: Actor, area: Scope
) -> Outcome:
    """Handle one event in its own transaction (committed here)."""
    problem = _area_problem(ctx, event, area)
    if problem is not None:
        return Outcome("ignored", reason=problem)
    for attempt in range(ATTEMPTS):
        try:
            outcome = _take_once(session, ctx, event, reporter)
            session.commit()
        except (IntegrityError, StaleDataError):
            # Another replica opened the incident, or someone changed it: look again.
            session.rollback()
            if attempt == ATTEMPTS - 1:
                raise
        else:
            return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def _area_problem(ctx: IncidentContext, event: AlertEvent, area: Scope) -> str | None:
    if ctx.city.township(event.township) is None:
        return f"township {event.township!r} is not in the roster"
    if event.village is not None and not ctx.city.has_area(event.township, event.village):
        return f"village {event.village!r} is not in township {event.township!r}"
    if not area.contains(event.township, event.village):
        return f"outside the reporting key's area ({area.describe()})"
    return None


def _take_once(
    session: Session, ctx: IncidentContext, event: AlertEvent, reporter: Actor
) -> Outcome:
    now = ctx.clock.now()
    incident = session.scalar(
        select(Incident)
        .where(Incident.open_key == event.fingerprint)
        .execution_options(populate_existing=True)  # another replica may have changed it
    )
    if incident is not None:
        if event.status == "firing":
            return _deduplicate(session, incident, event, reporter, now)
        return _clear(session, ctx, incident, reporter, now)
    silence = silences.matching(session, event, now)
    if silence is not None:
        silences.record_hit(session, silence, event, now)
        return Outcome("silenced", silence_id=silence.id, reason=silence.comment)
    if event.status == "resolved":
        return Outcome("ignored", reason="no open incident for this fingerprint")
    return Outcome("created", incident_id=_create(session, ctx, event, reporter, now).id)


def responsible_level(event: AlertEvent) -> Level:
    level = event.grade.responsible_level
    # A township-wide incident has no village captain to answer for it.
    return Level.TOWNSHIP if level is Level.VILLAGE and event.village is None else level


def title(event: AlertEvent) -> str:
    about = event.subject or event.device_id or event.village or event.township
    return f"{event.grade.label} {event.rule_name} · {about}"[:200]


def _create(
    session: Session, ctx: IncidentContext, event: AlertEvent, reporter: Actor, now: datetime
) -> Incident:
    level = responsible_level(event)
    duty = on_duty(session, level, event.township, event.village, now)
    incident = Incident(
        fingerprint=event.fingerprint,
        open_key=event.fingerprint,
        source=event.source,
        rule_id=event.rule_id,
        rule_name=event.rule_name,
        grade=event.grade.value,
        severity=event.grade.severity,
        township=event.township,
        village=event.village,
        device_id=event.device_id,
        kind=event.kind.value if event.kind else None,
        subject=event.subject,
        title=title(event),
        summary=event.summary,
        threshold=event.threshold,
        first_value=event.value,
        last_value=event.value,
        occurrences=1,
        lat=event.lat,
        lon=event.lon,
        observed_at=datetime.fromtimestamp(event.observed_ms / 1000, UTC),
        last_seen_at=now,
        state=State.RAISED.value,
        level=level.value,
        level_since=now,
        duty_captain_id=duty.captain.id if duty.captain else None,
        raised_at=now,
        updated_at=now,
    )
    session.add(incident)
    session.flush()  # the INSERT: a second open incident for the fingerprint fails here
    told = recipients_for(session, incident, Event.RAISED, now)
    audit.record(
        session, incident, "raised", reporter, now, to_state=State.RAISED.value,
        comment=event.summary,
        details={"value": event.value, "threshold": event.threshold, "routed_to": level.value,
                 "notified": [r.username for r in told]},
    )  # fmt: skip
    notify_incident(session, incident, Event.RAISED, told, ctx=ctx)
    if level.above is not None:
        timers.schedule(
            session,
            incident.id,
            TimerKind.ESCALATE,
            now + timedelta(seconds=ctx.ack_timeout_s(level)),
        )
    timers.schedule(
        session, incident.id, TimerKind.REMIND, now + timedelta(seconds=ctx.reminder_every_s)
    )
    return incident


def _deduplicate(
    session: Session, incident: Incident, event: AlertEvent, reporter: Actor, now: datetime
) -> Outcome:
    if incident.condition_cleared:
        incident.condition_cleared = False
        incident.updated_at = now
        audit.record(session, incident, "refired", reporter, now, comment=event.summary,
                     details={"value": event.value})  # fmt: skip
    # Counted in SQL, outside the row's version: a repeat of the alert never turns a captain's
    # simultaneous action into a conflict, and two replicas' counts add up.
    session.flush()
    session.execute(
        update(Incident)
        .where(Incident.id == incident.id)
        .values(occurrences=Incident.occurrences + 1, last_value=event.value, last_seen_at=now),
        execution_options={"synchronize_session": False},
    )
    return Outcome("deduplicated", incident_id=incident.id)


def _clear(
    session: Session, ctx: IncidentContext, incident: Incident, reporter: Actor, now: datetime
) -> Outcome:
    if not incident.condition_cleared:
        incident.condition_cleared = True
        incident.cleared_at = now
        incident.updated_at = now
        audit.record(
            session, incident, "cleared", reporter, now,
            comment="the condition has cleared; the incident stays open until closed",
        )  # fmt: skip
        told = recipients_for(session, incident, Event.CLEARED, now)
        notify_incident(session, incident, Event.CLEARED, told, ctx=ctx)
    return Outcome("cleared", incident_id=incident.id)
