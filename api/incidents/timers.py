"""Escalation and reminder due times, kept in the database and claimed by one replica at a time.

A timer fires once even with several API replicas on one database:

1. ``claim``: ``UPDATE … SET claimed_by = <token>, claimed_until = now + lease WHERE id = … AND
   due_at <= now AND (claimed_until IS NULL OR claimed_until < now)``, committed; only the
   replica whose UPDATE changed the row (rowcount 1) goes on.
2. The work (escalate or remind) and ``finish``/``reschedule`` — again conditional on
   ``claimed_by = <token>`` — commit together or not at all. If the claim was lost meanwhile
   (acknowledged, lease expired and taken over), the conditional write changes nothing and the
   caller rolls the work back.

A replica that dies between 1 and 2 leaves a claim that expires after the lease; another
replica then takes the timer, so nothing is lost, and nothing ran twice because step 2 of the
dead replica never committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, or_, select, update
from sqlalchemy.orm import Session

from api.models.incident_tables import IncidentTimer


class TimerKind(StrEnum):
    ESCALATE = "escalate"  # the holding level's acknowledgement timeout
    REMIND = "remind"  # the next reminder to the holding level


@dataclass(frozen=True, slots=True)
class Claim:
    timer_id: int
    incident_id: int
    kind: TimerKind
    due_at: datetime
    token: str


def _rowcount(session: Session, statement: Executable) -> int:
    result = cast(
        CursorResult[Any],
        session.execute(statement, execution_options={"synchronize_session": False}),
    )
    return result.rowcount


def schedule(session: Session, incident_id: int, kind: TimerKind, due_at: datetime) -> None:
    """Set (or move) an incident's timer of this kind; any claim on it is void."""
    timer = session.scalar(
        select(IncidentTimer).where(
            IncidentTimer.incident_id == incident_id, IncidentTimer.kind == kind.value
        )
    )
    if timer is None:
        session.add(IncidentTimer(incident_id=incident_id, kind=kind.value, due_at=due_at))
    else:
        timer.due_at, timer.claimed_by, timer.claimed_until = due_at, None, None


def cancel(session: Session, incident_id: int) -> None:
    """Acknowledged (or closed): no more escalation or reminders."""
    _rowcount(session, delete(IncidentTimer).where(IncidentTimer.incident_id == incident_id))


def due(session: Session, now: datetime, limit: int = 200) -> list[IncidentTimer]:
    """Timers due and not held by a live claim, earliest first."""
    return list(
        session.scalars(
            select(IncidentTimer)
            .where(
                IncidentTimer.due_at <= now,
                or_(IncidentTimer.claimed_until.is_(None), IncidentTimer.claimed_until < now),
            )
            .order_by(IncidentTimer.due_at, IncidentTimer.id)
            .limit(limit)
        )
    )


def claim(
    session: Session, timer: IncidentTimer, now: datetime, token: str, lease_s: float
) -> Claim | None:
    """Take a due timer for ``lease_s``, committed; None when another replica has it."""
    taken = _rowcount(
        session,
        update(IncidentTimer)
        .where(
            IncidentTimer.id == timer.id,
            IncidentTimer.due_at <= now,
            or_(IncidentTimer.claimed_until.is_(None), IncidentTimer.claimed_until < now),
        )
        .values(claimed_by=token, claimed_until=now + timedelta(seconds=lease_s)),
    )
    session.commit()
    if taken != 1:
        return None
    return Claim(timer.id, timer.incident_id, TimerKind(timer.kind), timer.due_at, token)


def reschedule(session: Session, held: Claim, due_at: datetime) -> bool:
    """Release our claim with a new due time; False when the claim was lost."""
    return (
        _rowcount(
            session,
            update(IncidentTimer)
            .where(IncidentTimer.id == held.timer_id, IncidentTimer.claimed_by == held.token)
            .values(due_at=due_at, claimed_by=None, claimed_until=None),
        )
        == 1
    )


def finish(session: Session, held: Claim) -> bool:
    """Delete the timer we hold; False when the claim was lost."""
    return (
        _rowcount(
            session,
            delete(IncidentTimer).where(
                IncidentTimer.id == held.timer_id, IncidentTimer.claimed_by == held.token
            ),
        )
        == 1
    )


def back_off(session: Session, held: Claim, until: datetime) -> None:
    """After a failure: keep the claim until ``until`` so a poison timer cannot spin."""
    _rowcount(
        session,
        update(IncidentTimer)
        .where(IncidentTimer.id == held.timer_id, IncidentTimer.claimed_by == held.token)
        .values(claimed_until=until, failures=IncidentTimer.failures + 1),
    )
    session.commit()
