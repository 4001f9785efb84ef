"""Gateways: network servers that publish for many devices with one login."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from api.core.scope import Level
from api.models.common import AreaFields, DeviceId, DisplayName, ResponseModel
from api.models.devices import GatewayLogin

GatewayAcl = Literal["area", "devices"]


class GatewayCreate(AreaFields):
    gateway_id: DeviceId
    name: DisplayName
    acl: GatewayAcl = Field(
        default="area",
        description="area: write anywhere under its area's prefix; devices: only its devices' "
        "exact topics (slower for the broker beyond a few thousand devices)",
    )
    devices: list[DeviceId] = Field(default=[], max_length=5000)

    @model_validator(mode="after")
    def _devices_only_for_device_acl(self) -> GatewayCreate:
        if self.devices and self.acl != "devices":
            raise ValueError("devices are listed only for a gateway with acl 'devices'")
        return self


class GatewayPublic(ResponseModel):
    id: str
    name: str
    level: Level
    township: str | None
    village: str | None
    acl: GatewayAcl
    created_at: datetime
    revoked_at: datetime | None
    devices: int = 0


class GatewayCreated(ResponseModel):
    gateway: GatewayPublic
    login: GatewayLogin
    broker_synced: bool
