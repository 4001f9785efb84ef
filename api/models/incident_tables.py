"""The incident side's tables: incidents, their audit trail and timers, silences, the duty
roster, and the small rows that let several API replicas share work (an InfluxDB outbox,
scheduler leases, the development clock's offset).

Like everything that belongs to an area, incidents, silences and shifts carry ``township`` and
``village`` columns, so :class:`api.core.scope.Scope` filters them as it filters devices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.models.tables import AREA_MATCHES_LEVEL, Base, UtcDateTime, utcnow


class Incident(Base):
    """One incident from 发现 to 结案, routed by grade and area, escalated while unacknowledged."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_area_state", "township", "village", "state"),
        Index("ix_incidents_order", "severity", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The rule and its subject; ``open_key`` holds it while the incident is open and is NULL
    # once closed, so a UNIQUE constraint gives "one open incident per fingerprint" on SQLite
    # and PostgreSQL alike, even with two replicas taking the same alert at once.
    fingerprint: Mapped[str] = mapped_column(String(200), index=True)
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # rules | grafana
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    rule_name: Mapped[str] = mapped_column(String(80))
    grade: Mapped[str] = mapped_column(String(4))
    severity: Mapped[int] = mapped_column(Integer)  # Grade.severity: ORDER BY gravest first
    township: Mapped[str] = mapped_column(String(40))
    village: Mapped[str | None] = mapped_column(String(40))  # None: the whole township
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(120), default="")
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(200))
    threshold: Mapped[str] = mapped_column(String(120), default="")
    first_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    last_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime)  # device time that decided
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)

    state: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(16))  # the level holding it now
    level_since: Mapped[datetime] = mapped_column(UtcDateTime)
    duty_captain_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team: Mapped[str | None] = mapped_column(String(80))

    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # first dispatch
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(40))  # Principal.actor_key

    # Reminders are counted in the audit trail, not here: a reminder leaves the row (and its
    # version) alone, so it never makes a captain's simultaneous acknowledgement a conflict.
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    condition_cleared: Mapped[bool] = mapped_column(default=False)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    # Optimistic concurrency: every UPDATE checks the version it read, so two captains (or a
    # captain and the escalation timer) cannot both move the same incident from one state.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative hook


class IncidentAudit(Base):
    """Every transition, escalation, reminder and note, with who did it at which level."""

    __tablename__ = "incident_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))  # the incident's level after the entry
    actor_kind: Mapped[str] = mapped_column(String(16))  # user|api_key|system|alerting|grafana
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(80))
    actor_level: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[Any] = mapped_column(JSON, nullable=True)


class IncidentTimer(Base):
    """A due time kept in the database, so it survives restarts and is claimed by one replica.

    ``escalate``: the holding level's acknowledgement timeout; ``remind``: the next reminder.
    A scheduler claims a due row with a conditional UPDATE (``claimed_until`` is a lease: a
    replica that dies mid-work loses it and another takes over) and finishes with an UPDATE
    that checks its claim, in the same transaction as the escalation itself.
    """

    __tablename__ = "incident_timers"
    __table_args__ = (UniqueConstraint("incident_id", "kind", name="one_timer_per_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class Silence(Base):
    """A silence or maintenance window: matching alert events raise no incident until it ends."""

    __tablename__ = "silences"
    __table_args__ = (
        CheckConstraint(AREA_MATCHES_LEVEL, name="silence_area_matches_level"),
        Index("ix_silences_area_end", "township", "village", "ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    township: Mapped[str | None] = mapped_column(String(40))
    village: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str | None] = mapped_column(String(16))
    device_id: Mapped[str | None] = mapped_column(String(64))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    comment: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    matched: Mapped[int] = mapped_column(Integer, default=0)


class SilencedEvent(Base):
    """An alert event a silence swallowed: the record that it came and why nothing was raised."""

    __tablename__ = "silenced_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    silence_id: Mapped[int] = mapped_column(ForeignKey("silences.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str] = mapped_column(String(64))
    township: Mapped[str] = mapped_column(String(40))
    village: Mapped[str | None] = mapped_column(String(40))
    device_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(200))


class DutyShift(Base):
    """Who is on duty at one level for one area from ``starts_at`` to ``ends_at``."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        CheckConstraint(AREA_MATCHES_LEVEL, name="shift_area_matches_level"),
        CheckConstraint("ends_at > starts_at", name="shift_ends_after_start"),
        Index("ix_duty_shifts_lookup", "level", "township", "village", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    township: Mapped[str | None] = mapped_column(String(40))
    village: Mapped[str | None] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    captain_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deputy_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # in order of call
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class InfluxOutbox(Base):
    """Line-protocol points waiting for InfluxDB, written in the transaction that made them.

    A transition never waits for (or fails with) InfluxDB; the scheduler sends the rows and
    deletes them. Points are idempotent (same series and timestamp), so two replicas sending
    the same row, or a resend after a crash, write nothing twice.
    """

    __tablename__ = "influx_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SchedulerLease(Base):
    """A named job (the minute's KPI write) held by one replica until ``until``."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80))
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DevClock(Base):
    """Development only: how far the API's clock runs ahead of the wall clock (one row)."""

    __tablename__ = "dev_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset_s: Mapped[float] = mapped_column(Float, default=0.0)
