"""People: what an administrator sends to create or change one, and what anyone gets back."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.core.principal import Role
from api.core.scope import Level
from api.models.common import (
    AreaFields,
    DisplayName,
    Password,
    RequestModel,
    ResponseModel,
    Username,
)


class UserCreate(AreaFields):
    username: Username
    display_name: DisplayName
    password: Password
    role: Role = Role.CAPTAIN


class UserUpdate(RequestModel):
    display_name: DisplayName | None = None
    password: Password | None = None
    role: Role | None = None
    active: bool | None = None


class UserPublic(ResponseModel):
    id: int
    username: str
    display_name: str
    role: Role
    level: Level
    township: str | None
    village: str | None
    active: bool
    created_at: datetime


class Me(ResponseModel):
    kind: str = Field(description="user or api_key")
    id: int
    name: str
    role: Role
    level: Level
    township: str | None
    village: str | None
