"""API keys for machine clients (Grafana, integrations), scoped like people."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.core.principal import Role
from api.core.scope import Level
from api.models.common import AreaFields, DisplayName, ResponseModel


class ApiKeyCreate(AreaFields):
    name: DisplayName
    role: Role = Role.VIEWER
    expires_in_days: int | None = Field(default=365, ge=1, le=3650)


class ApiKeyPublic(ResponseModel):
    id: int
    name: str
    prefix: str
    role: Role
    level: Level
    township: str | None
    village: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the key itself; shown once, send it as X-API-Key")
