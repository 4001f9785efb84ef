"""The outbox and its attempts, in the registry's database (the same ``Base``).

``notify_outbox`` holds one row per delivery: a recipient on one channel, or a global channel
(webhook, screens). Rows are written by :func:`api.notify.enqueue` in the caller's transaction,
so a notification exists exactly when the incident change that caused it was committed. A
worker claims a due row by setting ``claimed_until``/``claim_token``; every send is one row in
``notify_attempts``. ``township``/``village`` scope who may see a delivery, as everywhere else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.models.tables import Base, UtcDateTime, utcnow

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
STATUSES = (PENDING, SENT, FAILED)


class OutboxRow(Base):
    __tablename__ = "notify_outbox"
    __table_args__ = (
        Index("ix_notify_outbox_due", "status", "channel", "next_attempt_at"),
        Index("ix_notify_outbox_area", "township", "village"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    event: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str] = mapped_column(String(4))
    level: Mapped[str] = mapped_column(String(16))
    township: Mapped[str] = mapped_column(String(40))
    village: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    # Email address, phone number, robot URL, webhook URL or MQTT topic.
    target: Mapped[str] = mapped_column(String(1000))
    target_secret: Mapped[str | None] = mapped_column(String(256))  # DingTalk 加签; never shown
    recipient_name: Mapped[str | None] = mapped_column(String(400))
    recipient_user_id: Mapped[int | None] = mapped_column(Integer)
    mentions: Mapped[str | None] = mapped_column(String(1000))  # phones to @ (DingTalk), comma-sep
    message: Mapped[str] = mapped_column(Text)  # the Notification (no recipients) as JSON
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AttemptRow(Base):
    __tablename__ = "notify_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("notify_outbox.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1 for the first send of the delivery
    channel: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    latency_ms: Mapped[float] = mapped_column(Float)
    # sent | retry (will be tried again) | failed (given up or refused for good)
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)  # HTTP status, DingTalk errcode…
    error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
