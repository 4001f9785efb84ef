"""The device registry: list, detail, register, import, rotate, certificates, decommission.

Every change to broker credentials re-renders mosquitto's password and ACL files and reloads
the broker before answering (``broker_synced`` says whether that worked).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.core.deps import (
    BrokerFilesDep,
    CityDep,
    CurrentScope,
    Operator,
    ReadingsDep,
    SessionDep,
    SettingsDep,
)
from api.core.errors import not_found, or_404, unavailable
from api.core.scope import Scope
from api.crud import devices
from api.crud.devices import DeviceFilter, State
from api.crud.fleet_file import parse_fleet
from api.models.common import AreaId, Limit, Offset, Page
from api.models.devices import (
    CertificateRequest,
    CredentialsFile,
    DeviceCertificate,
    DeviceCreate,
    DeviceCredentials,
    DeviceDetail,
    DeviceLogin,
    DevicePublic,
    DeviceRegistered,
    ImportResult,
)
from api.models.tables import Device
from api.mqtt.brokerfiles import BrokerFiles
from api.mqtt.pki import issue_client_cert
from api.readings.store import ReadingsStore
from city.kinds import Kind
from city.topics import device_topic
from city.topology import City

router = APIRouter(prefix="/devices", tags=["devices"])

DevicePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{2,63}$", max_length=64)]


def _credentials(device: Device, password: str, synced: bool) -> DeviceCredentials:
    kind = Kind(device.kind)
    return DeviceCredentials(
        device_id=device.id,
        username=device.id,
        password=password,
        telemetry_topic=device_topic(device.township, device.village, kind, device.id, "telemetry"),
        status_topic=device_topic(device.township, device.village, kind, device.id, "status"),
        broker_synced=synced,
    )


def _public_page(readings: ReadingsStore, scope: Scope, rows: list[Device]) -> list[DevicePublic]:
    """Rows as answered, with online state for just this page's devices."""
    statuses = readings.statuses(scope, device_ids=[d.id for d in rows]) if rows else {}
    out = []
    for device in rows:
        public = DevicePublic.model_validate(device)
        seen = statuses.get(device.id)
        if seen is not None:
            public.online, public.last_seen = seen
        out.append(public)
    return out


@router.get("")
def list_devices(
    *,
    scope: CurrentScope,
    session: SessionDep,
    readings: ReadingsDep,
    city: CityDep,
    township: Annotated[AreaId | None, Query()] = None,
    village: Annotated[AreaId | None, Query()] = None,
    kind: Kind | None = None,
    online: bool | None = None,
    state: Annotated[State, Query()] = "active",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DevicePublic]:
    """Devices in your area, filtered by area, kind, online state (from InfluxDB) and state."""
    if village is not None and township is None:
        found = city.village(village)
        township = found[0].id if found else "-"
    narrowed = scope.narrow(township, village)
    if narrowed is None:
        return Page(items=[], total=0, limit=limit, offset=offset)
    f = DeviceFilter(kind=kind, state=state)
    if online is not None:
        up = frozenset(d for d, (is_up, _) in readings.statuses(narrowed).items() if is_up)
        f = DeviceFilter(kind=kind, state=state, ids=up if online else None,
                         exclude=None if online else up)  # fmt: skip
    rows, total = devices.list_in_scope(session, narrowed, f, limit, offset)
    return Page(
        items=_public_page(readings, narrowed, rows), total=total, limit=limit, offset=offset
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def register_device(
    *,
    data: DeviceCreate,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    city: CityDep,
    files: BrokerFilesDep,
) -> DeviceRegistered:
    """Register one device (or re-register a decommissioned id) and issue its MQTT login."""
    [done] = devices.register_many(session, city, scope, [data], loc=("body",))
    synced = files.apply(session)
    return DeviceRegistered(
        device=DevicePublic.model_validate(done.device),
        credentials=_credentials(done.device, done.password, synced) if done.password else None,
        broker_synced=synced,
    )


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"devices": {"type": "array", "items": {"type": "object"}}},
                }
            },
        },
    }
}


@router.post("/import", status_code=status.HTTP_201_CREATED, openapi_extra=_IMPORT_BODY)
async def import_devices(
    *,
    request: Request,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    city: CityDep,
    files: BrokerFilesDep,
) -> ImportResult:
    """Import a fleet file (CSV or JSON, as ``tianqu-sim fleet`` exports it); all or nothing.

    The answer holds every new login once, in the simulator's ``--credentials`` format.
    """
    body = await request.body()
    media_type = request.headers.get("content-type", "application/json")
    # Parsing, hashing thousands of passwords and writing the broker files block: run them in
    # the thread pool, as FastAPI runs sync routes, so the event loop keeps serving others.
    return await run_in_threadpool(
        _import, body, media_type, scope=scope, session=session, city=city, files=files
    )


def _import(
    body: bytes, media_type: str, *, scope: Scope, session: Session, city: City, files: BrokerFiles
) -> ImportResult:
    rows = parse_fleet(body, media_type)
    done = devices.register_many(session, city, scope, rows)
    synced = files.apply(session)
    return ImportResult(
        registered=sum(1 for d in done if not d.reactivated),
        reactivated=sum(1 for d in done if d.reactivated),
        credentials=CredentialsFile(
            devices={
                d.device.id: DeviceLogin(username=d.device.id, password=d.password)
                for d in done
                if d.password is not None
            }
        ),
        broker_synced=synced,
    )


def _device_or_404(session: SessionDep, scope: CurrentScope, device_id: str) -> Device:
    return or_404(devices.get_in_scope(session, scope, device_id), "device")


@router.get("/{device_id}")
def get_device(
    *, device_id: DevicePath, scope: CurrentScope, session: SessionDep, readings: ReadingsDep
) -> DeviceDetail:
    """One device with its online state and latest reading."""
    device = _device_or_404(session, scope, device_id)
    detail = DeviceDetail.model_validate(device)
    seen = readings.statuses(scope, device_ids=[device.id]).get(device.id)
    if seen is not None:
        detail.online, detail.last_seen = seen
    detail.latest = readings.latest(Kind(device.kind), device.id, scope)
    return detail


@router.delete("/{device_id}")
def decommission_device(
    *,
    device_id: DevicePath,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    files: BrokerFilesDep,
) -> DevicePublic:
    """Take a device out of service: its broker login and ACL lines are removed at once."""
    device = devices.decommission(session, _device_or_404(session, scope, device_id))
    files.apply(session)
    return DevicePublic.model_validate(device)


@router.post("/{device_id}/credentials")
def rotate_credentials(
    *,
    device_id: DevicePath,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    files: BrokerFilesDep,
) -> DeviceCredentials:
    """A new MQTT password (the old one stops working); also switches a certificate device back."""
    device = _device_or_404(session, scope, device_id)
    if device.decommissioned_at is not None:
        raise not_found("device")
    password = devices.rotate_password(session, device)
    return _credentials(device, password, files.apply(session))


@router.post("/{device_id}/certificate")
def issue_certificate(
    *,
    device_id: DevicePath,
    data: CertificateRequest,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    settings: SettingsDep,
    files: BrokerFilesDep,
) -> DeviceCertificate:
    """A client certificate with CN = device id; the device then logs in with it, not a password."""
    device = _device_or_404(session, scope, device_id)
    if device.decommissioned_at is not None:
        raise not_found("device")
    if settings.mqtt_ca_cert is None or settings.mqtt_ca_key is None:
        raise unavailable("no certificate authority is configured (TIANQU_API_MQTT_CA_CERT/KEY)")
    issued = issue_client_cert(
        device.id, settings.mqtt_ca_cert, settings.mqtt_ca_key, days=settings.device_cert_days,
        csr_pem=data.csr_pem,
    )  # fmt: skip
    devices.use_certificate(session, device)
    files.apply(session)
    return DeviceCertificate(
        device_id=device.id,
        cert_pem=issued.cert_pem,
        key_pem=issued.key_pem,
        ca_pem=issued.ca_pem,
        not_after=issued.not_after,
    )
