"""Which silence (or maintenance window), if any, swallows an alert event.

A silence covers an area (district, township or village) and optionally narrows to a kind, a
device or a rule; it holds from ``starts_at`` until ``ends_at``. A village silence does not
cover a township-wide event, as a village scope does not see one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.models.incident_tables import Silence, SilencedEvent
from city.alerts import AlertEvent


def _any_or(column: InstrumentedAttribute[str | None], value: str | None) -> ColumnElement[bool]:
    """The silence leaves it open (NULL) or names the event's value."""
    if value is None:
        return column.is_(None)
    return or_(column.is_(None), column == value)


def matching(session: Session, event: AlertEvent, now: datetime) -> Silence | None:
    return session.scalar(
        select(Silence)
        .where(
            Silence.starts_at <= now,
            Silence.ends_at > now,
            _any_or(Silence.township, event.township),
            _any_or(Silence.village, event.village),
            _any_or(Silence.kind, event.kind.value if event.kind else None),
            _any_or(Silence.device_id, event.device_id),
            _any_or(Silence.rule_id, event.rule_id),
        )
        .order_by(Silence.id)
        .limit(1)
    )


def record_hit(session: Session, silence: Silence, event: AlertEvent, now: datetime) -> None:
    session.add(
        SilencedEvent(
            silence_id=silence.id,
            received_at=now,
            status=event.status,
            fingerprint=event.fingerprint,
            rule_id=event.rule_id,
            township=event.township,
            village=event.village,
            device_id=event.device_id,
            summary=event.summary,
        )
    )
    # Counted in SQL, so two replicas swallowing events at once both count.
    session.execute(
        update(Silence).where(Silence.id == silence.id).values(matched=Silence.matched + 1),
        execution_options={"synchronize_session": False},
    )
