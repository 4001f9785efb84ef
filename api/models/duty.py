"""The duty roster: shifts per area and level, and who is on duty now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from api.core.scope import Level
from api.models.common import AreaFields, RequestModel, ResponseModel
from api.models.people import PersonRef

MAX_SHIFT = timedelta(days=31)
UserId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Note = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]
Deputies = Annotated[list[UserId], Field(max_length=5, description="in order of call")]


def check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None:
        if ends_at <= starts_at:
            raise ValueError("ends_at must be after starts_at")
        if ends_at - starts_at > MAX_SHIFT:
            raise ValueError(f"a shift lasts at most {MAX_SHIFT.days} days")


class ShiftCreate(AreaFields):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    captain_user_id: UserId
    deputy_user_ids: Deputies = Field(default_factory=list)
    note: Note = ""

    @model_validator(mode="after")
    def _window_and_people(self) -> ShiftCreate:
        check_window(self.starts_at, self.ends_at)
        people = [self.captain_user_id, *self.deputy_user_ids]
        if len(set(people)) != len(people):
            raise ValueError("the captain and the deputies must be different people")
        return self


class ShiftUpdate(RequestModel):
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    captain_user_id: UserId | None = None
    deputy_user_ids: Deputies | None = None
    note: Note | None = None


class ShiftPublic(ResponseModel):
    id: int
    level: Level
    township: str | None
    village: str | None
    starts_at: datetime
    ends_at: datetime
    captain: PersonRef | None
    deputies: list[PersonRef]
    note: str
    created_by: str
    created_at: datetime


class DutyLevel(ResponseModel):
    level: Level
    township: str | None
    village: str | None
    source: Literal["roster", "accounts", "nobody"] = Field(
        description="roster: a shift; accounts: no shift, the area's captains; nobody: neither"
    )
    shift_id: int | None
    captain: PersonRef | None
    deputies: list[PersonRef]


class DutyNow(ResponseModel):
    at: datetime
    township: str | None
    village: str | None
    levels: list[DutyLevel] = Field(description="lowest level first, the way escalation climbs")
