"""The device registry: register (one or many), list, look up, rotate, decommission.

A device's MQTT username is its id and its password is random, shown once; the registry keeps
only the mosquitto ``$7$`` hash, from which the broker's password file is rendered. An import
is all or nothing: every row is checked first and every problem reported with its row and field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.core.scope import Scope
from api.core.security import random_password
from api.models.devices import DeviceCreate
from api.models.tables import Device, Gateway, ServiceAccount
from city.kinds import Kind
from city.topology import City
from servicekit.mqtt_passwords import mosquitto_hash

State = Literal["active", "decommissioned", "all"]


@dataclass(frozen=True, slots=True)
class Problem:
    loc: tuple[str | int, ...]
    msg: str

    def as_error(self) -> dict[str, Any]:
        return {"loc": self.loc, "msg": self.msg, "type": "value_error"}


@dataclass(frozen=True, slots=True)
class Registered:
    device: Device
    password: str | None  # None for certificate devices
    reactivated: bool


class RegistryError(Exception):
    """Rows that cannot be registered; ``problems`` name each one's row and field."""

    def __init__(self, problems: list[Problem], status: int = 422) -> None:
        self.problems = problems
        self.status = status
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))


def _check(
    data: DeviceCreate,
    loc: tuple[str | int, ...],
    city: City,
    scope: Scope,
    gateways: dict[str, Gateway],
) -> list[Problem]:
    problems: list[Problem] = []
    if city.township(data.township) is None:
        problems.append(
            Problem((*loc, "township"), f"township {data.township!r} is not in the roster")
        )
    elif not city.has_area(data.township, data.village):
        problems.append(
            Problem(
                (*loc, "village"), f"village {data.village!r} is not in township {data.township!r}"
            )
        )
    elif not scope.contains(data.township, data.village):
        problems.append(
            Problem(
                (*loc, "village"),
                f"{data.township}/{data.village} is outside your area ({scope.describe()})",
            )
        )
    if data.gateway_id is not None:
        gateway = gateways.get(data.gateway_id)
        if (
            gateway is None
            or gateway.revoked_at is not None
            or not scope.covers(Scope.of(gateway.township, gateway.village))
        ):
            problems.append(Problem((*loc, "gateway_id"), f"gateway {data.gateway_id!r} not found"))
        elif not Scope.of(gateway.township, gateway.village).contains(data.township, data.village):
            problems.append(
                Problem(
                    (*loc, "gateway_id"), f"gateway {data.gateway_id!r} does not serve this area"
                )
            )
    return problems


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def register_many(
    session: Session,
    city: City,
    scope: Scope,
    rows: Sequence[DeviceCreate],
    loc: tuple[str | int, ...] = ("body", "devices"),
) -> list[Registered]:
    """Register or re-register (decommissioned ids) every row, or none of them."""
    ids = [row.device_id for row in rows]
    existing: dict[str, Device] = {}
    taken: set[str] = set()
    for chunk in _chunks(ids):
        existing.update(
            {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(chunk)))}
        )
        taken.update(session.scalars(select(Gateway.id).where(Gateway.id.in_(chunk))))
        taken.update(
            session.scalars(
                select(ServiceAccount.username).where(ServiceAccount.username.in_(chunk))
            )
        )
    wanted_gateways = sorted({r.gateway_id for r in rows if r.gateway_id is not None})
    gateways = {
        g.id: g for g in session.scalars(select(Gateway).where(Gateway.id.in_(wanted_gateways)))
    }

    problems: list[Problem] = []
    seen: set[str] = set()
    conflict = False
    for index, row in enumerate(rows):
        where = (*loc, index) if len(rows) > 1 or loc[-1] == "devices" else loc
        if row.device_id in seen:
            problems.append(Problem((*where, "device_id"), f"{row.device_id!r} appears twice"))
        seen.add(row.device_id)
        current = existing.get(row.device_id)
        if row.device_id in taken or (current is not None and current.decommissioned_at is None):
            conflict = True
            problems.append(
                Problem((*where, "device_id"), f"{row.device_id!r} is already registered")
            )
        elif current is not None and not scope.contains(current.township, current.village):
            # A decommissioned device of another area: say no more than for an active one.
            conflict = True
            problems.append(
                Problem((*where, "device_id"), f"{row.device_id!r} is already registered")
            )
        problems.extend(_check(row, where, city, scope, gateways))
    if problems:
        raise RegistryError(problems, status=409 if conflict and len(rows) == 1 else 422)

    now = datetime.now(UTC)
    out: list[Registered] = []
    for row in rows:
        password = random_password() if row.auth == "password" else None
        fields: dict[str, Any] = {
            "kind": row.kind.value,
            "township": row.township,
            "village": row.village,
            "road": row.road,
            "river": row.river,
            "station": row.station,
            "site": row.site,
            "lat": row.lat,
            "lon": row.lon,
            "auth": row.auth,
            "gateway_id": row.gateway_id,
            "mqtt_password_hash": mosquitto_hash(password) if password else None,
            "registered_at": now,
            "decommissioned_at": None,
        }
        device = existing.get(row.device_id)
        if device is None:
            device = Device(id=row.device_id, **fields)
            session.add(device)
        else:
            for name, value in fields.items():
                setattr(device, name, value)
        out.append(Registered(device, password, reactivated=row.device_id in existing))
    session.commit()
    return out


def get_in_scope(session: Session, scope: Scope, device_id: str) -> Device | None:
    device = session.get(Device, device_id)
    if device is None or not scope.contains(device.township, device.village):
        return None
    return device


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    kind: Kind | None = None
    state: State = "active"
    ids: frozenset[str] | None = None  # e.g. the devices InfluxDB reports online
    exclude: frozenset[str] | None = None


def _conditions(scope: Scope, f: DeviceFilter) -> list[ColumnElement[bool]]:
    conditions = scope.sql_conditions(Device.township, Device.village)
    if f.kind is not None:
        conditions.append(Device.kind == f.kind.value)
    if f.state == "active":
        conditions.append(Device.decommissioned_at.is_(None))
    elif f.state == "decommissioned":
        conditions.append(Device.decommissioned_at.is_not(None))
    return conditions


def list_in_scope(
    session: Session, scope: Scope, f: DeviceFilter, limit: int, offset: int
) -> tuple[list[Device], int]:
    conditions = _conditions(scope, f)
    if f.ids is None and f.exclude is None:
        total = session.scalar(select(func.count()).select_from(Device).where(*conditions)) or 0
        rows = session.scalars(
            select(Device).where(*conditions).order_by(Device.id).limit(limit).offset(offset)
        )
        return list(rows), total
    # Online state lives in InfluxDB: filter the (scoped) ids in Python, then load one page.
    matching = [
        device_id
        for device_id in session.scalars(select(Device.id).where(*conditions).order_by(Device.id))
        if (f.ids is None or device_id in f.ids)
        and (f.exclude is None or device_id not in f.exclude)
    ]
    page = matching[offset : offset + limit]
    if not page:
        return [], len(matching)
    rows = session.scalars(select(Device).where(Device.id.in_(page)).order_by(Device.id))
    return list(rows), len(matching)


def decommission(session: Session, device: Device) -> Device:
    if device.decommissioned_at is None:
        device.decommissioned_at = datetime.now(UTC)
        session.commit()
    return device


def rotate_password(session: Session, device: Device) -> str:
    password = random_password()
    device.auth = "password"
    device.mqtt_password_hash = mosquitto_hash(password)
    session.commit()
    return password


def use_certificate(session: Session, device: Device) -> None:
    """From now on the device logs in with its certificate only: its password stops working."""
    device.auth = "certificate"
    device.mqtt_password_hash = None
    session.commit()
