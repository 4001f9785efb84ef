"""Silences and maintenance windows, scoped like everything that belongs to an area."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.core.scope import Scope
from api.crud.devices import Problem, RegistryError
from api.models.incident_tables import Silence
from api.models.silences import SilenceCreate, SilencePublic, SilenceUpdate
from api.models.tables import Device


def create(
    session: Session, caller: Scope, data: SilenceCreate, created_by: str, now: datetime
) -> Silence:
    area = data.scope
    if data.device_id is not None:
        device = session.get(Device, data.device_id)
        if device is None or not caller.contains(device.township, device.village):
            raise RegistryError(
                [Problem(("body", "device_id"), f"device {data.device_id!r} not found")]
            )
        if not area.contains(device.township, device.village):
            raise RegistryError(
                [Problem(("body", "device_id"), f"device {data.device_id!r} lies outside the area")]
            )
    starts = data.starts_at or now
    ends = data.ends_at or starts + timedelta(seconds=data.duration_s or 0)
    if ends <= starts:
        raise RegistryError([Problem(("body", "ends_at"), "ends_at must be after starts_at")])
    silence = Silence(
        level=data.level.value,
        township=data.township,
        village=data.village,
        kind=data.kind.value if data.kind else None,
        device_id=data.device_id,
        rule_id=data.rule_id,
        starts_at=starts,
        ends_at=ends,
        comment=data.comment,
        created_by=created_by,
        created_at=now,
    )
    session.add(silence)
    session.commit()
    return silence


def get_in_scope(session: Session, scope: Scope, silence_id: int) -> Silence | None:
    silence = session.get(Silence, silence_id)
    if silence is None or not scope.covers(Scope.of(silence.township, silence.village)):
        return None
    return silence


def list_in_scope(
    session: Session, scope: Scope, limit: int, offset: int, *, active_at: datetime | None
) -> tuple[list[Silence], int]:
    conditions: list[ColumnElement[bool]] = scope.sql_conditions(Silence.township, Silence.village)
    if active_at is not None:
        conditions += [Silence.starts_at <= active_at, Silence.ends_at > active_at]
    total = session.scalar(select(func.count()).select_from(Silence).where(*conditions)) or 0
    rows = session.scalars(
        select(Silence).where(*conditions).order_by(Silence.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


def update(session: Session, silence: Silence, data: SilenceUpdate) -> Silence:
    if data.ends_at is not None:
        if data.ends_at <= silence.starts_at:
            raise RegistryError([Problem(("body", "ends_at"), "ends_at must be after starts_at")])
        silence.ends_at = data.ends_at
    if data.comment is not None:
        silence.comment = data.comment
    session.commit()
    return silence


def expire(session: Session, silence: Silence, now: datetime) -> Silence:
    """End it now (the row stays: it explains the events it swallowed)."""
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at + timedelta(microseconds=1))
        session.commit()
    return silence


def public(silence: Silence, now: datetime) -> SilencePublic:
    answer = SilencePublic.model_validate(silence)
    answer.active = silence.starts_at <= now < silence.ends_at
    return answer
