"""What the API shows about notifications: lists and one delivery with its attempts, by area.

Every query takes the caller's :class:`~api.core.scope.Scope`. Until the incidents table exists
the scope filters on the delivery's own ``township``/``village`` (copied from the incident when
it was enqueued); a delivery outside the area is "not found", like everything else. Targets are
masked (a phone's middle digits, an address's local part, a robot URL's token), and secrets
never leave the table.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.scope import Scope
from api.models.common import Page
from api.notify.models import ChannelName, Notification
from api.notify.tables import AttemptRow, OutboxRow

Status = Literal["pending", "sent", "failed"]


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    channel: str
    worker: str
    started_at: datetime
    latency_ms: float
    outcome: Literal["sent", "retry", "failed"]
    status_code: int | None
    error: str | None
    retry_at: datetime | None


class NotificationPublic(BaseModel):
    id: int
    incident_id: int
    event: str
    grade: str
    level: str
    township: str
    village: str | None
    title: str
    channel: ChannelName
    target: str  # masked
    recipient_name: str | None
    status: Status
    attempts: int
    next_attempt_at: datetime | None  # when pending
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class NotificationDetail(NotificationPublic):
    attempt_log: list[AttemptPublic]


def mask_target(channel: str, target: str) -> str:
    if channel == ChannelName.SMS:
        return (
            target[:3] + "*" * max(0, len(target) - 7) + target[-4:] if len(target) > 7 else "***"
        )
    if channel == ChannelName.EMAIL:
        local, _, domain = target.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == ChannelName.SCREENS:
        return target
    # URLs: keep scheme, host and path; hide the query (tokens, keys) and any user info.
    match = re.match(r"^(https?://)(?:[^@/]*@)?([^/?#]*)([^?#]*)", target)
    if match is None:
        return "***"
    scheme, host, path = match.groups()
    return f"{scheme}{host}{path}" + ("?***" if "?" in target else "")


def _public(row: OutboxRow) -> NotificationPublic:
    return NotificationPublic(
        id=row.id,
        incident_id=row.incident_id,
        event=row.event,
        grade=row.grade,
        level=row.level,
        township=row.township,
        village=row.village,
        title=Notification.model_validate_json(row.message).title,
        channel=ChannelName(row.channel),
        target=mask_target(row.channel, row.target),
        recipient_name=row.recipient_name,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def list_notifications(
    session: Session,
    scope: Scope,
    *,
    incident_id: int | None = None,
    status: Status | None = None,
    channel: ChannelName | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[NotificationPublic]:
    """Deliveries in the caller's area, newest first."""
    stmt = scope.filter_sql(select(OutboxRow), OutboxRow.township, OutboxRow.village)
    if incident_id is not None:
        stmt = stmt.where(OutboxRow.incident_id == incident_id)
    if status is not None:
        stmt = stmt.where(OutboxRow.status == status)
    if channel is not None:
        stmt = stmt.where(OutboxRow.channel == channel.value)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(OutboxRow.id.desc()).limit(limit).offset(offset))
    return Page(items=[_public(r) for r in rows], total=total, limit=limit, offset=offset)


def get_notification(
    session: Session, scope: Scope, notification_id: int
) -> NotificationDetail | None:
    """One delivery with every attempt, or None when it does not exist or lies outside."""
    row = session.get(OutboxRow, notification_id)
    if row is None or not scope.contains(row.township, row.village):
        return None
    attempts = session.scalars(
        select(AttemptRow).where(AttemptRow.outbox_id == row.id).order_by(AttemptRow.id)
    )
    return NotificationDetail(
        **_public(row).model_dump(),
        attempt_log=[AttemptPublic.model_validate(a) for a in attempts],
    )


def counts(session: Session, scope: Scope) -> dict[str, dict[str, int]]:
    """channel → status → deliveries, in the caller's area (for a health panel)."""
    stmt = (
        select(OutboxRow.channel, OutboxRow.status, func.count())
        .where(*scope.sql_conditions(OutboxRow.township, OutboxRow.village))
        .group_by(OutboxRow.channel, OutboxRow.status)
    )
    out: dict[str, dict[str, int]] = {}
    for channel, status, n in session.execute(stmt):
        out.setdefault(channel, {})[status] = n
    return out
