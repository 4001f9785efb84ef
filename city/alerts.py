"""The alert event: what a rule evaluator (or Grafana) tells the incident service.

The evaluator sends one event when a rule starts firing for a subject and one when it recovers;
the incident service deduplicates on ``fingerprint`` (the rule and its subject), routes by
``grade`` and area, and runs the closed loop. Both sides import this model; neither imports the
other.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from city.grades import Grade
from city.kinds import Kind
from city.telemetry import AreaId, DeviceId, EpochMillis

Fingerprint = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9:._/-]{1,200}$")]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]


class AlertEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["rules", "grafana"] = "rules"
    status: Literal["firing", "resolved"]
    rule_id: RuleId
    rule_name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    grade: Grade
    fingerprint: Fingerprint = Field(description="rule and subject; one open incident per value")
    township: AreaId
    village: AreaId | None = Field(
        default=None, description="None for an incident of a whole township (correlations)"
    )
    device_id: DeviceId | None = None
    kind: Kind | None = None
    subject: Annotated[str, StringConstraints(max_length=120)] = Field(
        default="", description="what the incident is about: a device, a road, a township"
    )
    value: float | str | None = None
    threshold: Annotated[str, StringConstraints(max_length=120)] = ""
    observed_ms: EpochMillis = Field(description="device time of the reading that decided")
    summary: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


def fingerprint(rule_id: str, subject: str) -> str:
    return f"{rule_id}:{subject}"
