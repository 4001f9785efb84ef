"""Field types and the area triple shared by the request and response models."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.core.scope import Level, Scope
from city.telemetry import DEVICE_ID_PATTERN
from city.topology import SLUG_PATTERN

AreaId = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=2, max_length=40)]
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN, min_length=3, max_length=64)]
Username = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$", min_length=2, max_length=64)
]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]

T = TypeVar("T")


class RequestModel(BaseModel):
    """What clients send: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AreaFields(RequestModel):
    """An area at a level: district (no ids), township (its id) or village (both ids)."""

    level: Level
    township: AreaId | None = None
    village: AreaId | None = None

    @model_validator(mode="after")
    def _ids_match_level(self) -> AreaFields:
        need_township = self.level is not Level.DISTRICT
        need_village = self.level is Level.VILLAGE
        if need_township != (self.township is not None):
            raise ValueError(
                f"township must be {'given' if need_township else 'empty'} at level {self.level}"
            )
        if need_village != (self.village is not None):
            raise ValueError(
                f"village must be {'given' if need_village else 'empty'} at level {self.level}"
            )
        return self

    @property
    def scope(self) -> Scope:
        return Scope(self.level, self.township, self.village)


class Page(ResponseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="matching objects in the caller's area")
    limit: int
    offset: int


Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
