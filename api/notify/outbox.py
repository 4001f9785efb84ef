"""The outbox: writing deliveries in the caller's transaction, claiming them, recording sends.

Claiming is one ``UPDATE … WHERE id IN (due ids) AND status = 'pending' AND (claimed_until IS
NULL OR claimed_until < now) … RETURNING id``. SQLite runs one writer at a time; PostgreSQL
re-checks the WHERE clause on a row another transaction just updated (and the subquery skips
locked rows), so two API replicas never both claim a row. A claim lasts ``claim_ttl_s``: a
worker that dies mid-send leaves the row to be claimed again when the claim expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from api.models.tables import utcnow
from api.notify.models import ChannelName, Notification, Recipient
from api.notify.settings import NotifySettings, get_notify_settings
from api.notify.tables import FAILED, PENDING, SENT, AttemptRow, OutboxRow


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed outbox row, detached from the database, handed to a channel."""

    id: int
    channel: ChannelName
    target: str
    target_secret: str | None
    recipient_name: str | None
    mentions: tuple[str, ...]
    notification: Notification
    attempt: int  # the number of this attempt, 1 for the first
    claim_token: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one send came to; ``retry_at`` None with ``sent`` False means given up."""

    sent: bool
    started_at: datetime
    latency_ms: float
    error: str | None = None
    status_code: int | None = None
    retry_at: datetime | None = None


@dataclass
class _Planned:
    channel: ChannelName
    target: str
    names: list[str]
    user_id: int | None
    secret: str | None = None
    mentions: list[str] | None = None
    refused: str | None = None


def _recipient_targets(
    r: Recipient, settings: NotifySettings
) -> Iterable[tuple[ChannelName, str, str | None, str | None]]:
    """(channel, target, secret, refusal) for each way to reach a person."""
    if r.email:
        yield ChannelName.EMAIL, r.email, None, None
    if r.phone:
        yield ChannelName.SMS, r.phone, None, None
    if r.dingtalk_webhook:
        secret = r.dingtalk_secret.get_secret_value() if r.dingtalk_secret else None
        refused = _refuse_url(r.dingtalk_webhook, settings.dingtalk_url_prefixes, "DingTalk")
        yield ChannelName.DINGTALK, r.dingtalk_webhook, secret, refused
    if r.wecom_webhook:
        refused = _refuse_url(r.wecom_webhook, settings.wecom_url_prefixes, "WeCom")
        yield ChannelName.WECOM, r.wecom_webhook, None, refused


def _refuse_url(url: str, prefixes: tuple[str, ...], what: str) -> str | None:
    if any(url.startswith(prefix) for prefix in prefixes):
        return None
    return f"not a {what} robot URL this API may post to (allowed prefixes: {', '.join(prefixes)})"


def plan(notification: Notification, settings: NotifySettings) -> list[_Planned]:
    """The deliveries of a notification: one per (channel, target), recipients merged.

    Several people sharing a group robot get one message that @-mentions them (DingTalk), not
    one message each; the same address twice gets one mail.
    """
    wanted = settings.enabled()
    if notification.channels is not None:
        wanted &= notification.channels
    planned: dict[tuple[ChannelName, str], _Planned] = {}
    if ChannelName.WEBHOOK in wanted and settings.webhook_url:
        planned[ChannelName.WEBHOOK, settings.webhook_url] = _Planned(
            ChannelName.WEBHOOK, settings.webhook_url, [], None
        )
    if ChannelName.SCREENS in wanted:
        planned[ChannelName.SCREENS, settings.screens_topic] = _Planned(
            ChannelName.SCREENS, settings.screens_topic, [], None
        )
    for recipient in notification.recipients:
        for channel, target, secret, refused in _recipient_targets(recipient, settings):
            if channel not in wanted:
                continue
            entry = planned.get((channel, target))
            if entry is None:
                entry = _Planned(channel, target, [], recipient.user_id, secret, [], refused)
                planned[channel, target] = entry
            if recipient.name not in entry.names:
                entry.names.append(recipient.name)
            if channel is ChannelName.DINGTALK and recipient.phone and entry.mentions is not None:
                entry.mentions.append(recipient.phone)
            entry.secret = entry.secret or secret
    return list(planned.values())


def enqueue(
    session: Session, notification: Notification, *, settings: NotifySettings | None = None
) -> list[int]:
    """Add the notification's deliveries to the caller's session; returns their ids.

    Nothing is committed here: the rows commit (or roll back) with the caller's incident change.
    A robot URL outside the allowed prefixes becomes a ``failed`` row naming the reason, so a
    mistyped contact shows up in the notification list instead of vanishing.
    """
    settings = settings or get_notify_settings()
    message = notification.message().model_dump_json()
    now = utcnow()
    rows = []
    for entry in plan(notification, settings):
        row = OutboxRow(
            incident_id=notification.incident_id,
            event=notification.event.value,
            grade=notification.grade.value,
            level=notification.level.value,
            township=notification.township,
            village=notification.village,
            channel=entry.channel.value,
            target=entry.target,
            target_secret=entry.secret,
            recipient_name="、".join(entry.names)[:400] or None,
            recipient_user_id=entry.user_id,
            mentions=",".join(entry.mentions) if entry.mentions else None,
            message=message,
            status=FAILED if entry.refused else PENDING,
            attempts=0,
            next_attempt_at=now,
            last_error=entry.refused,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return [row.id for row in rows]


def _claimable(now: datetime) -> list[ColumnElement[bool]]:
    return [
        OutboxRow.status == PENDING,
        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
    ]


def claim(
    session: Session, channel: ChannelName, limit: int, *, worker: str, ttl_s: float
) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries of one channel for this worker, and commit."""
    if limit <= 0:
        return []
    now = utcnow()
    token = secrets.token_hex(16)
    due = (
        select(OutboxRow.id)
        .where(OutboxRow.channel == channel.value, OutboxRow.next_attempt_at <= now)
        .where(*_claimable(now))
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    stmt = (
        update(OutboxRow)
        .where(OutboxRow.id.in_(due.scalar_subquery()))
        .where(*_claimable(now))
        .values(
            claimed_until=now + timedelta(seconds=ttl_s),
            claimed_by=worker[:80],
            claim_token=token,
        )
        .returning(OutboxRow.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(session.scalars(stmt))
    rows = (
        list(session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids)).order_by(OutboxRow.id)))
        if ids
        else []
    )
    session.commit()
    return [_delivery(row, token) for row in rows if row.claim_token == token]


def _delivery(row: OutboxRow, token: str) -> Delivery:
    return Delivery(
        id=row.id,
        channel=ChannelName(row.channel),
        target=row.target,
        target_secret=row.target_secret,
        recipient_name=row.recipient_name,
        mentions=tuple(row.mentions.split(",")) if row.mentions else (),
        notification=Notification.model_validate_json(row.message),
        attempt=row.attempts + 1,
        claim_token=token,
    )


def record(session: Session, delivery: Delivery, outcome: Outcome, *, worker: str) -> bool:
    """Store one attempt and move the row on; False when this worker had lost the claim."""
    if outcome.sent:
        status, result = SENT, "sent"
    elif outcome.retry_at is not None:
        status, result = PENDING, "retry"
    else:
        status, result = FAILED, "failed"
    session.add(
        AttemptRow(
            outbox_id=delivery.id,
            number=delivery.attempt,
            channel=delivery.channel.value,
            worker=worker[:80],
            started_at=outcome.started_at,
            latency_ms=outcome.latency_ms,
            outcome=result,
            status_code=outcome.status_code,
            error=outcome.error,
            retry_at=outcome.retry_at,
        )
    )
    now = utcnow()
    values: dict[str, object] = {
        "status": status,
        "attempts": delivery.attempt,
        "claimed_until": None,
        "claimed_by": None,
        "claim_token": None,
        "updated_at": now,
        "last_error": outcome.error,
    }
    if outcome.sent:
        values["sent_at"] = now
    elif outcome.retry_at is not None:
        values["next_attempt_at"] = outcome.retry_at
    result_rows = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == delivery.id, OutboxRow.claim_token == delivery.claim_token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result_rows, "rowcount", 0))


def release(session: Session, deliveries: Iterable[Delivery]) -> None:
    """Give claims back unsent (a stopping worker), so another worker need not wait them out."""
    for delivery in deliveries:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == delivery.id, OutboxRow.claim_token == delivery.claim_token)
            .values(claimed_until=None, claimed_by=None, claim_token=None)
            .execution_options(synchronize_session=False)
        )
    session.commit()
