"""Incidents as the API shows them, and what a captain sends to move one along the loop."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from api.models.common import RequestModel, ResponseModel
from api.models.incident_tables import Incident, IncidentAudit
from api.models.people import PersonRef
from api.models.tables import User
from city.grades import Grade
from city.incidents import State
from city.rules import ThresholdRule

Comment = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Team = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class AcknowledgeBody(RequestModel):
    comment: Comment = Field(description="required: what the captain knows and will do (立案)")


class DispatchBody(RequestModel):
    assignee_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    team: Team | None = None
    comment: Comment | None = None

    @model_validator(mode="after")
    def _someone(self) -> DispatchBody:
        if self.assignee_user_id is None and self.team is None:
            raise ValueError("dispatch to a person (assignee_user_id), a team, or both")
        return self


class NoteBody(RequestModel):
    comment: Comment


class StepBody(RequestModel):
    comment: Comment | None = None


class ReopenBody(RequestModel):
    comment: Comment = Field(description="required: why it is reopened")


class IncidentPublic(ResponseModel):
    id: int
    title: str
    summary: str
    grade: Grade
    grade_label: str
    colour: str
    rule_id: str
    rule_name: str
    source: str
    fingerprint: str
    township: str
    village: str | None
    device_id: str | None
    kind: str | None
    subject: str
    threshold: str
    first_value: float | str | None
    last_value: float | str | None
    occurrences: int
    lat: float | None
    lon: float | None
    observed_at: datetime
    last_seen_at: datetime
    state: State
    state_name: str
    open: bool
    level: str = Field(description="the level holding it now: village, township or district")
    level_since: datetime
    duty_captain: PersonRef | None
    assignee: PersonRef | None
    team: str | None
    raised_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    resolved_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    deadline_at: datetime | None = Field(description="dispatch + the grade's deadline")
    escalates_at: datetime | None = Field(
        default=None,
        description="when it goes one level up unless acknowledged (its escalation timer); "
        "null once acknowledged and at the district",
    )
    quantity: str | None = Field(default=None, description="the reading its rule watches")
    unit: str | None = None
    escalations: int
    reopened: int
    condition_cleared: bool

    @classmethod
    def of(
        cls,
        incident: Incident,
        people: dict[int, User],
        deadlines: dict[Grade, int],
        *,
        escalates_at: datetime | None = None,
        rule: ThresholdRule | None = None,
    ) -> IncidentPublic:
        grade = Grade(incident.grade)
        state = State(incident.state)
        values: dict[str, Any] = {
            name: getattr(incident, name)
            for name in cls.model_fields
            if hasattr(incident, name) and name not in ("grade", "state")
        }
        deadline = (
            incident.dispatched_at + timedelta(seconds=deadlines[grade])
            if incident.dispatched_at
            else None
        )
        values.update(
            grade=grade,
            grade_label=grade.label,
            colour=grade.colour,
            state=state,
            state_name=state.display_name,
            open=state.is_open,
            duty_captain=PersonRef.of(people.get(incident.duty_captain_id or 0)),
            assignee=PersonRef.of(people.get(incident.assignee_id or 0)),
            deadline_at=deadline,
            escalates_at=escalates_at,
            quantity=rule.quantity if rule else None,
            unit=(rule.unit or None) if rule else None,
        )
        return cls.model_validate(values)


class AuditEntryPublic(ResponseModel):
    id: int
    at: datetime
    action: str
    from_state: str | None
    to_state: str | None
    level: str
    actor_kind: str
    actor_name: str
    actor_level: str | None
    comment: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, entry: IncidentAudit) -> AuditEntryPublic:
        return cls.model_validate(entry)


class IncidentDetail(IncidentPublic):
    audit: list[AuditEntryPublic] = Field(default_factory=list, description="oldest first")
