"""Alert events in (from the rule evaluator or Grafana) and what became of each."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.models.common import RequestModel, ResponseModel
from city.alerts import AlertEvent

MAX_EVENTS = 500
Status = Literal["created", "deduplicated", "cleared", "silenced", "ignored"]


class AlertBatch(RequestModel):
    events: list[AlertEvent] = Field(min_length=1, max_length=MAX_EVENTS)


class EventResult(ResponseModel):
    index: int = Field(description="position of the event in the request")
    fingerprint: str
    status: Status
    incident_id: int | None = None
    silence_id: int | None = None
    reason: str | None = Field(default=None, description="why ignored, or the silence's comment")


class IntakeAnswer(ResponseModel):
    results: list[EventResult]
    counts: dict[str, int] = Field(description="events per status")
