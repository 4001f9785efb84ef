"""People: what an administrator sends to create or change one, and what anyone gets back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, SecretStr, StringConstraints, field_validator

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

# Contacts for incident notifications, in the formats api/notify's Recipient accepts (checked
# here, so a bad one is a 422 now rather than a notification that cannot be sent later).
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{5,20}$")]
Email = Annotated[
    str,
    StringConstraints(pattern=r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$", max_length=254),
]
RobotUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$", max_length=1000)]


def _people_only(role: Role | None) -> Role | None:
    if role is not None and not role.for_people:
        raise ValueError("the service role is for API keys (python -m api service-key), not people")
    return role


class UserCreate(AreaFields):
    username: Username
    display_name: DisplayName
    password: Password
    role: Role = Role.CAPTAIN
    phone: Phone | None = None
    email: Email | None = None
    dingtalk_webhook: RobotUrl | None = Field(default=None, description="a DingTalk group robot")
    dingtalk_secret: SecretStr | None = Field(default=None, description="its 加签 secret (SEC…)")
    wecom_webhook: RobotUrl | None = Field(default=None, description="a WeCom group robot")

    _role_for_people = field_validator("role")(_people_only)


class UserUpdate(RequestModel):
    display_name: DisplayName | None = None
    password: Password | None = None
    role: Role | None = None
    active: bool | None = None
    phone: Phone | None = None
    email: Email | None = None
    dingtalk_webhook: RobotUrl | None = None
    dingtalk_secret: SecretStr | None = None
    wecom_webhook: RobotUrl | None = None

    _role_for_people = field_validator("role")(_people_only)


class UserPublic(ResponseModel):
    id: int
    username: str
    display_name: str
    role: Role
    level: Level
    township: str | None
    village: str | None
    active: bool
    phone: str | None = None
    email: str | None = None
    dingtalk_webhook: str | None = None  # the 加签 secret is never shown
    wecom_webhook: str | None = None
    created_at: datetime


class Me(ResponseModel):
    kind: str = Field(description="user or api_key")
    id: int
    name: str
    role: Role
    level: Level
    township: str | None
    village: str | None
