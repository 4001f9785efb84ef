"""What a claimed timer does to an unacknowledged incident: go one level up, or remind.

Escalation moves the incident to ``Level.above`` (village → township → district), routes it to
the captain on duty there, tells them (the level below is informed) and restarts both clocks
at the new level. At the district there is nowhere higher: reminders go on until someone
acknowledges. A reminder goes to the holding level's captain plus one more deputy each time.

Both return whether the timer was still ours; the caller commits on True, rolls back on False.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.incidents import audit, timers
from api.incidents.audit import SYSTEM
from api.incidents.context import IncidentContext
from api.incidents.duty import on_duty
from api.incidents.notifications import notify_incident, recipients_for
from api.incidents.timers import Claim, TimerKind
from api.models.incident_tables import Incident, IncidentAudit
from api.notify import Event
from city.grades import Level
from city.incidents import State


def fire(session: Session, ctx: IncidentContext, held: Claim) -> bool:
    now = ctx.clock.now()
    incident = session.get(Incident, held.incident_id)
    if incident is None or incident.state != State.RAISED:
        return timers.finish(session, held)  # acknowledged meanwhile: nothing left to do
    if held.kind is TimerKind.ESCALATE:
        return _escalate(session, ctx, incident, held, now)
    return _remind(session, ctx, incident, held, now)


def _escalate(
    session: Session, ctx: IncidentContext, incident: Incident, held: Claim, now: datetime
) -> bool:
    previous = Level(incident.level)
    above = previous.above
    if above is None:
        return timers.finish(session, held)
    duty = on_duty(session, above, incident.township, incident.village, now)
    incident.level = above.value
    incident.level_since = now
    incident.escalations += 1
    incident.duty_captain_id = duty.captain.id if duty.captain else None
    incident.updated_at = now
    told = recipients_for(session, incident, Event.ESCALATED, now)
    audit.record(
        session, incident, "escalated", SYSTEM, now,
        comment=f"not acknowledged within {ctx.ack_timeout_s(previous)} s at the "
        f"{previous.value} level",
        details={"from_level": previous.value, "to_level": above.value,
                 "notified": [r.username for r in told], "replica": ctx.instance},
    )  # fmt: skip
    notify_incident(session, incident, Event.ESCALATED, told, ctx=ctx)
    if above.above is None:
        kept = timers.finish(session, held)
    else:
        kept = timers.reschedule(session, held, now + timedelta(seconds=ctx.ack_timeout_s(above)))
    timers.schedule(
        session, incident.id, TimerKind.REMIND, now + timedelta(seconds=ctx.reminder_every_s)
    )
    return kept


def _remind(
    session: Session, ctx: IncidentContext, incident: Incident, held: Claim, now: datetime
) -> bool:
    earlier = session.scalar(
        select(func.count())
        .select_from(IncidentAudit)
        .where(
            IncidentAudit.incident_id == incident.id,
            IncidentAudit.action == "reminder",
            IncidentAudit.at >= incident.level_since,
        )
    )
    number = (earlier or 0) + 1
    told = recipients_for(session, incident, Event.REMINDER, now, deputies=number)
    waiting_s = int((now - incident.level_since).total_seconds())
    audit.record(
        session, incident, "reminder", SYSTEM, now,
        comment=f"reminder {number}: not acknowledged for {waiting_s} s",
        details={"number": number, "notified": [r.username for r in told],
                 "replica": ctx.instance},
    )  # fmt: skip
    notify_incident(session, incident, Event.REMINDER, told, ctx=ctx)
    # From now, not from the due time: after a clock jump, one reminder, not a burst of them.
    return timers.reschedule(session, held, now + timedelta(seconds=ctx.reminder_every_s))
