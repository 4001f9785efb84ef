"""Silences and maintenance windows: alert events they match raise no incident until the end."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from api.core.scope import Level
from api.models.common import AreaFields, DeviceId, RequestModel, ResponseModel
from city.alerts import RuleId
from city.kinds import Kind

MAX_SILENCE_S = 90 * 86_400
Reason = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class SilenceCreate(AreaFields):
    kind: Kind | None = Field(default=None, description="only this kind of device")
    device_id: DeviceId | None = Field(default=None, description="only this device")
    rule_id: RuleId | None = Field(default=None, description="only this rule")
    starts_at: AwareDatetime | None = Field(default=None, description="default: now")
    ends_at: AwareDatetime | None = None
    duration_s: int | None = Field(default=None, ge=60, le=MAX_SILENCE_S)
    comment: Reason = Field(description="why: maintenance, a known fault, …")

    @model_validator(mode="after")
    def _one_end(self) -> SilenceCreate:
        if (self.ends_at is None) == (self.duration_s is None):
            raise ValueError("give ends_at or duration_s (one of them)")
        return self


class SilenceUpdate(RequestModel):
    ends_at: AwareDatetime | None = None
    comment: Reason | None = None


class SilencePublic(ResponseModel):
    id: int
    level: Level
    township: str | None
    village: str | None
    kind: str | None
    device_id: str | None
    rule_id: str | None
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    matched: int = Field(description="alert events it has swallowed")
    active: bool = False
