"""API keys: stored as a public prefix plus a SHA-256 of the secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.principal import Role
from api.core.scope import Scope
from api.core.security import new_api_key
from api.models.apikeys import ApiKeyCreate
from api.models.tables import ApiKey


def create(session: Session, data: ApiKeyCreate, created_by: int | None) -> tuple[ApiKey, str]:
    made = new_api_key()
    expires = (
        datetime.now(UTC) + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    )
    key = ApiKey(
        name=data.name,
        prefix=made.prefix,
        secret_hash=made.secret_hash,
        role=data.role.value,
        level=data.level.value,
        township=data.township,
        village=data.village,
        created_by=created_by,
        expires_at=expires,
    )
    session.add(key)
    session.commit()
    return key, made.token


def get_in_scope(session: Session, scope: Scope, key_id: int) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    if key is None or not scope.covers(Scope.of(key.township, key.village)):
        return None
    return key


def list_in_scope(
    session: Session, scope: Scope, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    conditions = scope.sql_conditions(ApiKey.township, ApiKey.village)
    total = session.scalar(select(func.count()).select_from(ApiKey).where(*conditions)) or 0
    rows = session.scalars(
        select(ApiKey).where(*conditions).order_by(ApiKey.id).limit(limit).offset(offset)
    )
    return list(rows), total


def revoke_named(session: Session, name: str, role: Role) -> int:
    """Revoke the live keys of a name and role (a service re-keyed); how many."""
    keys = session.scalars(
        select(ApiKey).where(
            ApiKey.name == name, ApiKey.role == role.value, ApiKey.revoked_at.is_(None)
        )
    ).all()
    for key in keys:
        key.revoked_at = datetime.now(UTC)
    session.commit()
    return len(keys)


def revoke(session: Session, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        session.commit()
    return key
