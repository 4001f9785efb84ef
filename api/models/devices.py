"""Devices: registration (one or an import), what a caller sees, and credentials shown once.

The import columns are the ones ``simulators/fleet.py`` exports (``EXPORT_COLUMNS``):
device_id, kind, township, village, road, river, station, site, lat, lon.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from api.models.common import AreaId, DeviceId, RequestModel, ResponseModel
from city.kinds import Kind

AuthMethod = Literal["password", "certificate"]
Site = Literal["river", "drain"]
IMPORT_COLUMNS = ("device_id", "kind", "township", "village", "road", "river", "station", "site",
                  "lat", "lon")  # fmt: skip
MAX_IMPORT_ROWS = 50_000


class DeviceCreate(RequestModel):
    device_id: DeviceId
    kind: Kind
    township: AreaId
    village: AreaId
    road: AreaId | None = None
    river: AreaId | None = None
    station: AreaId | None = None
    site: Site | None = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    auth: AuthMethod = "password"
    gateway_id: DeviceId | None = Field(
        default=None, description="the gateway that publishes for it (ACL 'devices' mode)"
    )

    @model_validator(mode="after")
    def _site_fits_kind(self) -> DeviceCreate:
        if (self.kind is Kind.WATER) != (self.site is not None):
            raise ValueError("site is required for water devices and only for them")
        if self.river is not None and self.site != "river":
            raise ValueError("river is only for water devices with site 'river'")
        return self


class DeviceImport(RequestModel):
    devices: list[DeviceCreate] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)


class LatestReading(ResponseModel):
    time: datetime
    values: dict[str, float | int | str | None]


class DevicePublic(ResponseModel):
    id: str
    kind: Kind
    township: str
    village: str
    road: str | None
    river: str | None
    station: str | None
    site: Site | None
    lat: float
    lon: float
    auth: AuthMethod
    gateway_id: str | None
    registered_at: datetime
    decommissioned_at: datetime | None
    online: bool | None = Field(default=None, description="from its latest device_status point")
    last_seen: datetime | None = None


class DeviceDetail(DevicePublic):
    latest: LatestReading | None = None


class DeviceCredentials(ResponseModel):
    device_id: str
    username: str
    password: str = Field(description="shown once; the registry keeps only a hash")
    telemetry_topic: str
    status_topic: str
    broker_synced: bool = Field(default=True, description="the broker has the new login")


class DeviceRegistered(ResponseModel):
    device: DevicePublic
    credentials: DeviceCredentials | None = Field(
        description="None for certificate devices: request POST /devices/{id}/certificate"
    )
    broker_synced: bool


class DeviceLogin(ResponseModel):
    username: str
    password: str


class GatewayLogin(ResponseModel):
    client_id: str
    username: str
    password: str


class CredentialsFile(ResponseModel):
    """The simulator's ``--credentials`` format (simulators/credentials.py)."""

    devices: dict[str, DeviceLogin] = Field(default_factory=dict)
    gateways: list[GatewayLogin] = Field(default_factory=list)


class ImportResult(ResponseModel):
    registered: int
    reactivated: int
    credentials: CredentialsFile
    broker_synced: bool


class CertificateRequest(RequestModel):
    csr_pem: str | None = Field(
        default=None,
        max_length=8192,
        description="the device's own CSR (EC P-256); without it a key is generated and returned",
    )


class DeviceCertificate(ResponseModel):
    device_id: str
    cert_pem: str
    key_pem: str | None
    ca_pem: str
    not_after: datetime
