"""The development clock: how far the API runs ahead of the wall clock."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.core.clock import MAX_ADVANCE_S
from api.models.common import RequestModel, ResponseModel


class ClockAdvance(RequestModel):
    advance_s: float = Field(ge=0, le=MAX_ADVANCE_S, description="seconds to jump forward")


class ClockState(ResponseModel):
    now: datetime
    offset_s: float
