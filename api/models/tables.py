"""The registry's tables (SQLAlchemy 2.x): people, API keys, devices, gateways, service accounts.

Every object that belongs to an area carries ``township`` and ``village`` columns (NULL above the
village level), so :class:`api.core.scope.Scope` can filter any of them the same way, and so can
the incident tables of the next issue. The same code runs on SQLite (the default) and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, whatever the database keeps (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


# A level's area columns: district = (NULL, NULL), township = (t, NULL), village = (t, v).
AREA_MATCHES_LEVEL = (
    "(level = 'district' AND township IS NULL AND village IS NULL) OR "
    "(level = 'township' AND township IS NOT NULL AND village IS NULL) OR "
    "(level = 'village' AND township IS NOT NULL AND village IS NOT NULL)"
)


class SchemaVersion(Base):
    """One row: the schema version this database was created with (no Alembic yet)."""

    __tablename__ = "schema_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(AREA_MATCHES_LEVEL, name="user_area_matches_level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    township: Mapped[str | None] = mapped_column(String(40), index=True)
    village: Mapped[str | None] = mapped_column(String(40), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on a password change or deactivation: tokens issued before it stop working.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Where incident notifications reach the person (schema version 2).
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    dingtalk_webhook: Mapped[str | None] = mapped_column(String(1000))
    dingtalk_secret: Mapped[str | None] = mapped_column(String(200))  # 加签; never answered
    wecom_webhook: Mapped[str | None] = mapped_column(String(1000))


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(AREA_MATCHES_LEVEL, name="api_key_area_matches_level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    township: Mapped[str | None] = mapped_column(String(40), index=True)
    village: Mapped[str | None] = mapped_column(String(40), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Gateway(Base):
    """A network server publishing for many devices; its ACL covers an area or its devices."""

    __tablename__ = "gateways"
    __table_args__ = (CheckConstraint(AREA_MATCHES_LEVEL, name="gateway_area_matches_level"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # MQTT username = client id
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(16))
    township: Mapped[str | None] = mapped_column(String(40), index=True)
    village: Mapped[str | None] = mapped_column(String(40), index=True)
    acl: Mapped[str] = mapped_column(String(16))  # "area" | "devices"
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (Index("ix_devices_area_kind", "township", "village", "kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    township: Mapped[str] = mapped_column(String(40))
    village: Mapped[str] = mapped_column(String(40))
    road: Mapped[str | None] = mapped_column(String(40))
    river: Mapped[str | None] = mapped_column(String(40))
    station: Mapped[str | None] = mapped_column(String(40))
    site: Mapped[str | None] = mapped_column(String(8))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    # "password": username = device id, hash below; "certificate": CN = device id, no password.
    auth: Mapped[str] = mapped_column(String(16), default="password")
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(256))
    gateway_id: Mapped[str | None] = mapped_column(ForeignKey("gateways.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decommissioned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class ServiceAccount(Base):
    """A platform service on the broker (the ingester): it reads the device tree, never writes."""

    __tablename__ = "service_accounts"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # "ingest"
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
