"""The outbox on a real SQLite file: what enqueue writes, claims that never overlap, records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select, update

from api.core.config import Settings
from api.core.db import Database
from api.models.tables import utcnow
from api.notify import enqueue
from api.notify.models import ChannelName, Event, Notification, Recipient
from api.notify.outbox import Outcome, claim, record, release
from api.notify.settings import NotifySettings
from api.notify.tables import AttemptRow, OutboxRow
from city.grades import Grade, Level

ROBOT = "https://oapi.dingtalk.com/robot/send?access_token=yuanqiao"
SETTINGS = NotifySettings(
    webhook_url="https://city.example/hook",
    webhook_secret=SecretStr("s" * 40),
    smtp_host="smtp.example",
    sms_url="https://sms.example/send",
    mqtt_host="127.0.0.1",
)


def note(**changes: Any) -> Notification:
    values: dict[str, Any] = {
        "incident_id": 7, "event": Event.RAISED, "grade": Grade.IV, "level": Level.VILLAGE,
        "township": "yuanqiao", "village": "dongzhan", "title": "井盖倾斜",
        "recipients": [
            Recipient(name="王机长", user_id=1, email="wang@example.org", phone="13800000001",
                      dingtalk_webhook=ROBOT, dingtalk_secret=SecretStr("SECabc")),
            Recipient(name="李副机长", user_id=2, phone="13800000002", dingtalk_webhook=ROBOT,
                      wecom_webhook="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"),
        ],
    }  # fmt: skip
    values.update(changes)
    return Notification(**values)


def rows(db: Database) -> list[OutboxRow]:
    with db.session() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def test_one_row_per_recipient_and_channel_plus_the_global_ones(database: Database) -> None:
    with database.session() as session:
        ids = enqueue(session, note(), settings=SETTINGS)
        session.commit()
    got = rows(database)
    assert [r.id for r in got] == ids
    by = {(r.channel, r.target): r for r in got}
    assert set(by) == {
        ("webhook", "https://city.example/hook"),
        ("screens", "tianqu/ops/screens/incidents"),
        ("email", "wang@example.org"),
        ("sms", "13800000001"),
        ("sms", "13800000002"),
        ("dingtalk", ROBOT),
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"),
    }
    robot = by["dingtalk", ROBOT]
    # Two people on one group robot: one message that @-mentions both.
    assert robot.recipient_name == "王机长、李副机长"
    assert robot.mentions == "13800000001,13800000002"
    assert robot.target_secret == "SECabc"
    assert by["webhook", "https://city.example/hook"].recipient_name is None
    assert all(r.status == "pending" and r.attempts == 0 for r in got)
    assert all((r.township, r.village, r.incident_id) == ("yuanqiao", "dongzhan", 7) for r in got)
    stored = Notification.model_validate_json(got[0].message)
    assert stored.recipients == [] and stored.title == "井盖倾斜"


def test_the_rows_roll_back_with_the_callers_transaction(database: Database) -> None:
    with database.session() as session:
        assert enqueue(session, note(), settings=SETTINGS)
        session.rollback()
    assert rows(database) == []


def test_a_subset_of_channels(database: Database) -> None:
    with database.session() as session:
        enqueue(session, note(channels=frozenset({ChannelName.SMS, ChannelName.SCREENS})),
                settings=SETTINGS)  # fmt: skip
        session.commit()
    assert sorted(r.channel for r in rows(database)) == ["screens", "sms", "sms"]


def test_only_configured_channels_get_rows(database: Database) -> None:
    with database.session() as session:
        enqueue(session, note(), settings=NotifySettings(wecom_enabled=False))
        session.commit()
    assert [r.channel for r in rows(database)] == ["dingtalk"]


def test_a_robot_url_outside_the_allowed_prefixes_is_a_visible_failure(database: Database) -> None:
    inside = Recipient(name="内网", dingtalk_webhook="http://10.0.0.5/robot/send?access_token=x")
    with database.session() as session:
        enqueue(session, note(recipients=[inside]), settings=NotifySettings(wecom_enabled=False))
        session.commit()
    [row] = rows(database)
    assert row.status == "failed"
    assert row.last_error is not None and "not a DingTalk robot URL" in row.last_error


def test_claims_never_overlap_and_expire(database: Database) -> None:
    with database.session() as session:
        enqueue(session, note(recipients=[]), settings=SETTINGS)  # webhook + screens
        for i in range(5):
            enqueue(session, note(incident_id=10 + i, recipients=[]), settings=SETTINGS)
        session.commit()
    with database.session() as a, database.session() as b:
        first = claim(a, ChannelName.WEBHOOK, 4, worker="a", ttl_s=60)
        second = claim(b, ChannelName.WEBHOOK, 4, worker="b", ttl_s=60)
        third = claim(b, ChannelName.WEBHOOK, 4, worker="b", ttl_s=60)
    assert len(first) == 4 and len(second) == 2 and third == []
    assert not {d.id for d in first} & {d.id for d in second}
    assert all(d.channel is ChannelName.WEBHOOK and d.attempt == 1 for d in first + second)
    # A worker that died: its claims lapse and another worker takes the rows.
    with database.session() as session:
        session.execute(update(OutboxRow).values(claimed_until=utcnow() - timedelta(seconds=1)))
        session.commit()
        again = claim(session, ChannelName.WEBHOOK, 10, worker="c", ttl_s=60)
    assert len(again) == 6


def test_rows_not_yet_due_are_not_claimed(database: Database) -> None:
    with database.session() as session:
        enqueue(session, note(recipients=[]), settings=SETTINGS)
        session.execute(update(OutboxRow).values(next_attempt_at=utcnow() + timedelta(minutes=5)))
        session.commit()
        assert claim(session, ChannelName.WEBHOOK, 10, worker="a", ttl_s=60) == []


def test_record_moves_the_row_and_keeps_every_attempt(database: Database) -> None:
    with database.session() as session:
        enqueue(session, note(recipients=[], channels=frozenset({ChannelName.WEBHOOK})),
                settings=SETTINGS)  # fmt: skip
        session.commit()
        [d1] = claim(session, ChannelName.WEBHOOK, 1, worker="a", ttl_s=60)
        retry_at = utcnow() + timedelta(seconds=30)
        assert record(session, d1, Outcome(False, utcnow(), 12.5, "HTTP 503", 503, retry_at),
                      worker="a")  # fmt: skip
        assert claim(session, ChannelName.WEBHOOK, 1, worker="a", ttl_s=60) == []  # not due
        session.execute(update(OutboxRow).values(next_attempt_at=utcnow()))
        session.commit()
        [d2] = claim(session, ChannelName.WEBHOOK, 1, worker="b", ttl_s=60)
        assert d2.attempt == 2
        assert record(session, d2, Outcome(True, utcnow(), 8.0), worker="b")
        # A stale claim (d1's token) no longer moves the row.
        assert not record(session, d1, Outcome(False, utcnow(), 1.0, "late"), worker="a")
    [row] = rows(database)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert row.sent_at is not None and row.claim_token is None
    with database.session() as session:
        attempts = list(session.scalars(select(AttemptRow).order_by(AttemptRow.id)))
    assert [(a.number, a.outcome, a.status_code, a.worker) for a in attempts] == [
        (1, "retry", 503, "a"), (2, "sent", None, "b"), (1, "failed", None, "a"),
    ]  # fmt: skip


def test_release_gives_claims_back(database: Database) -> None:
    with database.session() as session:
        enqueue(session, note(recipients=[]), settings=SETTINGS)
        session.commit()
        claimed = claim(session, ChannelName.SCREENS, 1, worker="a", ttl_s=600)
        release(session, claimed)
        assert len(claim(session, ChannelName.SCREENS, 1, worker="b", ttl_s=600)) == 1


def test_production_refuses_placeholder_notify_secrets() -> None:
    key = "x7" * 24
    weak = NotifySettings(
        webhook_url="https://city.example/hook", webhook_secret=SecretStr("secret")
    )
    with pytest.raises(ValidationError, match="TIANQU_API_NOTIFY_WEBHOOK_SECRET"):
        Settings(environment="production", secret_key=key, notify=weak)
    smtp = NotifySettings(smtp_host="smtp.example", smtp_password=SecretStr("changeme"))
    with pytest.raises(ValidationError, match="TIANQU_API_NOTIFY_SMTP_PASSWORD"):
        Settings(environment="production", secret_key=key, notify=smtp)
    assert Settings(environment="development", notify=weak).notify.webhook_url
    strong = NotifySettings(webhook_url="https://city.example/hook", webhook_secret=SecretStr(key))
    assert Settings(environment="production", secret_key=key, notify=strong)


def test_a_webhook_needs_a_secret_and_claims_outlive_timeouts() -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        NotifySettings(webhook_url="https://city.example/hook")
    with pytest.raises(ValidationError, match="claim_ttl_s"):
        NotifySettings(timeout_s=30, claim_ttl_s=20)


def test_the_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIANQU_API_NOTIFY_SMTP_HOST", "smtp.city.example")
    monkeypatch.setenv("TIANQU_API_NOTIFY_CHANNEL_TIMEOUT_S", '{"email": 30}')
    settings = Settings()
    assert settings.notify.smtp_host == "smtp.city.example"
    assert settings.notify.timeout_for(ChannelName.EMAIL) == 30
    assert settings.notify.timeout_for(ChannelName.SMS) == 10
    assert ChannelName.EMAIL in settings.notify.enabled()
