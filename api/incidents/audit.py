"""The audit trail: one row per step of an incident, with who took it, at which level, when.

Each row also becomes one ``incident_event`` point (``city.incidents`` names the measurement,
tags and fields) through the outbox, for Grafana's annotations and counts. The point's
timestamp is the step's time in nanoseconds plus the row id's last six digits, so two steps in
the same millisecond with the same tags stay two points instead of one overwriting the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.core.principal import Principal
from api.incidents import outbox
from api.models.incident_tables import Incident, IncidentAudit
from city.incidents import EVENT_MEASUREMENT, NO_VILLAGE
from city.lineprotocol import encode_line


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a person or key (with its level), or the platform itself."""

    kind: str  # user | api_key | system | alerting | grafana
    id: int | None
    name: str
    level: str | None

    @property
    def key(self) -> str:
        """Comparable across requests (the verifier must not be the resolver)."""
        return self.kind if self.id is None else f"{self.kind}:{self.id}"

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.kind, principal.id, principal.name, principal.scope.level.value)


SYSTEM = Actor("system", None, "system", None)


def record(
    session: Session,
    incident: Incident,
    action: str,
    actor: Actor,
    at: datetime,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    details: dict[str, Any] | None = None,
) -> IncidentAudit:
    entry = IncidentAudit(
        incident_id=incident.id,
        at=at,
        action=action,
        from_state=from_state,
        to_state=to_state,
        level=incident.level,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name[:80],
        actor_level=actor.level,
        comment=comment,
        details=details,
    )
    session.add(entry)
    session.flush()  # the id makes the point's timestamp unique
    outbox.enqueue(session, event_line(incident, entry))
    return entry


def event_line(incident: Incident, entry: IncidentAudit) -> str:
    ms = int(entry.at.timestamp() * 1000)
    return encode_line(
        EVENT_MEASUREMENT,
        {
            "grade": incident.grade,
            "level": incident.level,
            "township": incident.township,
            "village": incident.village or NO_VILLAGE,
            "rule": incident.rule_id,
            "event": entry.action,
        },
        {"incident_id": incident.id, "title": incident.title, "state": incident.state},
        ms * 1_000_000 + entry.id % 1_000_000,
    )
