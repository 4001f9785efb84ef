"""Who hears of an incident's step, and the one call that hands it to ``api.notify``.

``notify_incident(session, incident, event, recipients, ctx=…)`` enqueues in the caller's
transaction (``api.notify.enqueue``), so a notification exists exactly when the step that
caused it commits: an escalation that rolls back notifies nobody. The channels (DingTalk,
WeCom, SMS, email, the generic webhook, the screens' MQTT topic) are the notification
package's business; the global ones (webhook, screens) hear of every step even when nobody is
on duty.

Who is told, per event:

===========  ==============================================================================
raised       the captain on duty at the responsible level; the captains of the levels below
             get an ``informed`` notification of their own
escalated    the captain on duty at the new level; the levels below (the one that let it
             slip included) are informed
reminder     the holding level's captain, plus one more deputy with every reminder
acknowledged the levels below (the village learns the township has it)
dispatched   the person it was dispatched to
resolved     the holding level's captain (to have it verified)
verified     the holding level's captain (to close it)
closed       the levels below and the handler
reopened     the holding level's captain and the handler
cleared      the holding level's captain (the sensor reads normal again)
===========  ==============================================================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.incidents.context import IncidentContext
from api.incidents.duty import levels_below, on_duty
from api.models.incident_tables import Incident
from api.models.tables import User
from api.notify import Event, Notification, enqueue
from api.notify import Recipient as Contact
from city.grades import Grade, Level

log = logging.getLogger(__name__)

Role = Literal["responsible", "informed", "handler"]
_CONTACT_FIELDS = ("email", "phone", "dingtalk_webhook", "dingtalk_secret", "wecom_webhook")


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person to tell, and why: they hold it, they are informed, or they handle it."""

    user: User
    role: Role

    @property
    def username(self) -> str:
        return self.user.username


_RESPONSIBLE = {Event.RAISED, Event.ESCALATED, Event.REMINDER, Event.RESOLVED, Event.VERIFIED,
                Event.REOPENED, Event.CLEARED}  # fmt: skip
_INFORMED = {Event.RAISED, Event.ESCALATED, Event.ACKNOWLEDGED, Event.CLOSED}
_HANDLER = {Event.DISPATCHED, Event.CLOSED, Event.REOPENED}


def recipients_for(
    session: Session, incident: Incident, event: Event, at: datetime, *, deputies: int = 0
) -> list[Recipient]:
    """The people to tell about ``event``, each once, the most concerned first."""
    level = Level(incident.level)
    out: list[Recipient] = []
    if event in _RESPONSIBLE:
        duty = on_duty(session, level, incident.township, incident.village, at)
        out.extend(Recipient(u, "responsible") for u in duty.people(deputies))
    if event in _HANDLER and incident.assignee_id is not None:
        handler = session.get(User, incident.assignee_id)
        if handler is not None and handler.active:
            out.append(Recipient(handler, "handler"))
    if event in _INFORMED:
        for below in levels_below(level, incident.village):
            captain = on_duty(session, below, incident.township, incident.village, at).captain
            if captain is not None:
                out.append(Recipient(captain, "informed"))
    seen: set[int] = set()
    unique = []
    for recipient in out:
        if recipient.user.id not in seen:
            seen.add(recipient.user.id)
            unique.append(recipient)
    return unique


def contact(user: User) -> Contact:
    """The person's contacts as api.notify takes them; one it refuses is left out (and logged)
    rather than failing the incident's step."""
    values: dict[str, Any] = {"name": user.display_name[:80], "user_id": user.id}
    for name in _CONTACT_FIELDS:
        value = getattr(user, name)
        if value is None:
            continue
        try:
            Contact.model_validate({"name": "-", name: value})
        except ValidationError:
            log.warning("user %s: %s is not usable for notifications, left out", user.id, name)
            continue
        values[name] = value
    return Contact.model_validate(values)


def _notification(
    ctx: IncidentContext, incident: Incident, event: Event, people: list[Recipient]
) -> Notification:
    return Notification(
        incident_id=incident.id,
        event=event,
        grade=Grade(incident.grade),
        level=Level(incident.level),
        township=incident.township,
        village=incident.village,
        title=incident.title[:120],
        summary=incident.summary,
        url=f"{ctx.public_url.rstrip('/')}/incidents/{incident.id}" if ctx.public_url else None,
        at=ctx.clock.now(),
        recipients=[contact(r.user) for r in people],
    ).with_area_names(ctx.city)


def notify_incident(
    session: Session,
    incident: Incident,
    event: Event,
    recipients: list[Recipient],
    *,
    ctx: IncidentContext,
) -> None:
    """Enqueue the notification(s) of one step in the caller's transaction."""
    if event in _RESPONSIBLE and not any(r.role == "responsible" for r in recipients):
        log.warning("incident %d %s: nobody on duty to notify", incident.id, event.value)
    if event is Event.RAISED:
        # The levels below get a notification of their own: 情况通报, not 新发事件.
        told = [r for r in recipients if r.role != "informed"]
        informed = [r for r in recipients if r.role == "informed"]
        enqueue(session, _notification(ctx, incident, event, told), settings=ctx.notify)
        if informed:
            notice = _notification(ctx, incident, Event.INFORMED, informed)
            enqueue(session, notice, settings=ctx.notify)
        return
    enqueue(session, _notification(ctx, incident, event, recipients), settings=ctx.notify)
