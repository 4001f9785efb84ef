"""Gateways and the platform's own service accounts on the broker."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.scope import Scope
from api.core.security import random_password
from api.crud.devices import Problem, RegistryError
from api.models.gateways import GatewayCreate
from api.models.tables import Device, Gateway, ServiceAccount
from servicekit.mqtt_passwords import mosquitto_hash


def _name_taken(session: Session, name: str) -> bool:
    return (
        session.get(Gateway, name) is not None
        or session.get(Device, name) is not None
        or session.get(ServiceAccount, name) is not None
    )


def create(session: Session, scope: Scope, data: GatewayCreate) -> tuple[Gateway, str]:
    if _name_taken(session, data.gateway_id):
        raise RegistryError(
            [Problem(("body", "gateway_id"), f"{data.gateway_id!r} is already taken")], 409
        )
    area = data.scope
    devices: list[Device] = []
    problems: list[Problem] = []
    for index, device_id in enumerate(data.devices):
        device = session.get(Device, device_id)
        if (
            device is None
            or device.decommissioned_at is not None
            or not scope.contains(device.township, device.village)
        ):
            problems.append(Problem(("body", "devices", index), f"device {device_id!r} not found"))
        elif not area.contains(device.township, device.village):
            problems.append(
                Problem(
                    ("body", "devices", index),
                    f"device {device_id!r} lies outside the gateway's area",
                )
            )
        else:
            devices.append(device)
    if problems:
        raise RegistryError(problems)
    password = random_password()
    gateway = Gateway(
        id=data.gateway_id,
        name=data.name,
        level=data.level.value,
        township=data.township,
        village=data.village,
        acl=data.acl,
        password_hash=mosquitto_hash(password),
    )
    session.add(gateway)
    session.flush()
    for device in devices:
        device.gateway_id = gateway.id
    session.commit()
    return gateway, password


def get_in_scope(session: Session, scope: Scope, gateway_id: str) -> Gateway | None:
    gateway = session.get(Gateway, gateway_id)
    if gateway is None or not scope.covers(Scope.of(gateway.township, gateway.village)):
        return None
    return gateway


def device_counts(session: Session, gateway_ids: list[str]) -> dict[str, int]:
    if not gateway_ids:
        return {}
    rows = session.execute(
        select(Device.gateway_id, func.count())
        .where(Device.gateway_id.in_(gateway_ids), Device.decommissioned_at.is_(None))
        .group_by(Device.gateway_id)
    )
    return {gateway_id: int(count) for gateway_id, count in rows if gateway_id is not None}


def list_in_scope(
    session: Session, scope: Scope, limit: int, offset: int
) -> tuple[list[Gateway], int]:
    conditions = scope.sql_conditions(Gateway.township, Gateway.village)
    total = session.scalar(select(func.count()).select_from(Gateway).where(*conditions)) or 0
    rows = session.scalars(
        select(Gateway).where(*conditions).order_by(Gateway.id).limit(limit).offset(offset)
    )
    return list(rows), total


def revoke(session: Session, gateway: Gateway) -> Gateway:
    if gateway.revoked_at is None:
        gateway.revoked_at = datetime.now(UTC)
        session.commit()
    return gateway


def rotate(session: Session, gateway: Gateway) -> str:
    password = random_password()
    gateway.password_hash = mosquitto_hash(password)
    gateway.revoked_at = None
    session.commit()
    return password


def upsert_service_account(session: Session, username: str) -> str:
    """Create or re-key a platform service's broker login (read-only on the device tree)."""
    existing = session.get(ServiceAccount, username)
    if existing is None and _name_taken(session, username):
        raise RegistryError([Problem(("username",), f"{username!r} is already taken")], 409)
    password = random_password()
    if existing is None:
        session.add(
            ServiceAccount(username=username, role="ingest", password_hash=mosquitto_hash(password))
        )
    else:
        existing.password_hash = mosquitto_hash(password)
    session.commit()
    return password
