"""Every channel against a real receiver: the HTTP server, aiosmtpd, mosquitto with logins.

One escalation to two captains sharing a township's DingTalk and WeCom robots goes out once per
target, each in its channel's format, and each is checked the way the receiving side would.
"""

from __future__ import annotations

import email
import email.policy
import json
import time
import urllib.parse
from pathlib import Path

import pytest

from api.core.db import Database
from api.notify import NotificationWorker
from api.notify.models import ChannelName
from api.notify.signing import verify_webhook
from tests.integration.notify.conftest import Receiver, SmtpServer, run_until
from tests.integration.notify.helpers import (
    DINGTALK_SECRET,
    SECRET,
    Screen,
    add,
    all_settled,
    attempts,
    note,
    outbox,
    person,
    screen,
    secured_broker,
    settings_for,
    starter,
)
from tests.unit.api.notify.test_signing import _dingtalk_documented

pytestmark = pytest.mark.integration

HEADLINE = "【Ⅲ级 较大】井下甲烷超标 — 袁桥镇 东站社区"


def test_every_channel_delivers_once_in_its_own_format(
    receiver: Receiver, smtp: SmtpServer, database: Database, tmp_path: Path
) -> None:
    broker = secured_broker(tmp_path)
    broker.start()
    viewer = screen(broker)
    try:
        settings = settings_for(receiver, smtp, broker)
        ids = add(database, note([person(receiver, 1), person(receiver, 2, email=None)]), settings)
        worker = NotificationWorker(database.sessions, settings)
        run_until(
            starter(worker), worker.stop, lambda: all_settled(database),
            what="every delivery",
        )  # fmt: skip
        rows = outbox(database)
        assert {rows[i].status for i in ids} == {"sent"}, [rows[i].last_error for i in ids]
        by_channel = {rows[i].channel: rows[i] for i in ids}
        # webhook, screens, 1 email, 2 sms, 1 dingtalk (shared robot), 1 wecom (shared robot)
        assert sorted(rows[i].channel for i in ids) == sorted(
            ["webhook", "screens", "email", "sms", "sms", "dingtalk", "wecom"]
        )
        assert all(rows[i].attempts == 1 for i in ids)

        _check_webhook(receiver, by_channel["webhook"].id)
        _check_dingtalk(receiver)
        _check_wecom(receiver)
        _check_sms(receiver)
        _check_email(smtp)
        _check_screen(viewer, by_channel["screens"].id)

        sent = worker.metrics.sent
        assert sent.labels("sms")._value.get() == 2
        assert sent.labels("webhook")._value.get() == 1
        assert {a.outcome for a in attempts(database)} == {"sent"}
    finally:
        viewer.close()
        broker.stop()


def _check_webhook(receiver: Receiver, delivery_id: int) -> None:
    [request] = receiver.at("/hook")
    headers = request.headers
    assert verify_webhook(
        SECRET, request.body, headers["x-tianqu-timestamp"], headers["x-tianqu-signature"]
    )
    assert headers["x-tianqu-delivery"] == str(delivery_id)
    assert headers["x-tianqu-event"] == "escalated"
    assert headers["content-type"] == "application/json; charset=utf-8"
    body = request.json()
    assert body["id"] == delivery_id
    assert body["headline"] == HEADLINE
    assert (body["incident_id"], body["grade"], body["level"]) == (42, "III", "township")


def _check_dingtalk(receiver: Receiver) -> None:
    [request] = receiver.at("/robot/send")
    query = urllib.parse.parse_qs(request.query)
    assert query["access_token"] == ["yuanqiao"]
    [timestamp], [sign] = query["timestamp"], query["sign"]
    # What DingTalk checks: the sign recomputed by its documented algorithm, a fresh timestamp.
    assert urllib.parse.quote_plus(sign) == _dingtalk_documented(timestamp, DINGTALK_SECRET)
    assert abs(int(timestamp) - time.time() * 1000) < 3_600_000
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == HEADLINE
    assert body["markdown"]["text"].startswith(f"### {HEADLINE}")
    assert body["at"] == {"atMobiles": ["13800000001", "13800000002"], "isAtAll": False}
    assert "@13800000001 @13800000002" in body["markdown"]["text"]


def _check_wecom(receiver: Receiver) -> None:
    [request] = receiver.at("/cgi-bin/webhook/send")
    assert request.query == "key=yuanqiao"
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"].startswith(f"### {HEADLINE}")


def _check_sms(receiver: Receiver) -> None:
    requests = receiver.at("/sms")
    assert sorted(r.query for r in requests) == ["to=13800000001", "to=13800000002"]
    for request in requests:
        assert request.headers["authorization"] == "Bearer sms-gateway-token"
        body = request.json()
        assert request.query == f"to={body['phone']}"
        assert body["text"].startswith(HEADLINE)
        assert body["incident_id"] == 42


def _check_email(smtp: SmtpServer) -> None:
    [envelope] = smtp.mailbox.messages
    assert envelope.rcpt_tos == ["captain1@example.org"]
    message = email.message_from_bytes(
        envelope.original_content or b"", policy=email.policy.default
    )
    assert message["Subject"] == HEADLINE
    assert message["From"] == "天衢新区城市运行 <ops@tianqu.example>"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    text = message.get_content()
    assert "东站北广场 3 号井 CH4 62 %LEL" in text
    assert "责任层级：乡镇/街道" in text


def _check_screen(viewer: Screen, delivery_id: int) -> None:
    [message] = viewer.received()
    assert message.topic == "tianqu/ops/screens/incidents"
    assert message.qos == 1
    assert message.retain is False
    body = json.loads(message.payload)
    assert body["id"] == delivery_id
    assert body["headline"] == HEADLINE
    assert body["colour"] == "yellow"


def test_starttls_mail_with_the_city_ca(
    receiver: Receiver, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    from api.mqtt.pki import ensure_dev_pki
    from tests.integration.notify.conftest import start_smtp

    pki = ensure_dev_pki(tmp_path / "pki")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    server = start_smtp(tls_context=context, require_starttls=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_cert))  # how a private CA is trusted
    try:
        settings = settings_for(
            receiver, server, smtp_security="starttls", webhook_url=None, sms_url=None,
            dingtalk_enabled=False, wecom_enabled=False,
        )  # fmt: skip
        add(database, note([person(receiver)]), settings)
        worker = NotificationWorker(database.sessions, settings)
        run_until(starter(worker), worker.stop, lambda: all_settled(database))
        [row] = outbox(database).values()
        assert (row.channel, row.status) == ("email", "sent"), row.last_error
        [envelope] = server.mailbox.messages
        message = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert message["Subject"] == HEADLINE
    finally:
        server.controller.stop()


def test_a_refused_mailbox_fails_at_once_with_the_servers_answer(
    receiver: Receiver, smtp: SmtpServer, database: Database
) -> None:
    smtp.mailbox.refuse.add("captain1@example.org")
    settings = settings_for(
        receiver, smtp, webhook_url=None, sms_url=None, dingtalk_enabled=False, wecom_enabled=False
    )
    add(database, note([person(receiver, 1), person(receiver, 2)]), settings)
    worker = NotificationWorker(database.sessions, settings)
    run_until(starter(worker), worker.stop, lambda: all_settled(database))
    rows = {r.target: r for r in outbox(database).values()}
    refused, fine = rows["captain1@example.org"], rows["captain2@example.org"]
    assert (fine.status, refused.status, refused.attempts) == ("sent", "failed", 1)
    assert refused.last_error is not None and "550" in refused.last_error
    assert worker.metrics.failed.labels("email")._value.get() == 1


def test_a_publish_outside_the_apis_acl_is_refused_by_the_broker(
    receiver: Receiver, database: Database, tmp_path: Path
) -> None:
    broker = secured_broker(tmp_path)
    broker.start()
    try:
        settings = settings_for(
            receiver, None, broker, screens_topic="tianqu/ops/elsewhere", webhook_url=None,
            sms_url=None, dingtalk_enabled=False, wecom_enabled=False,
        )  # fmt: skip
        add(database, note([]), settings)
        worker = NotificationWorker(database.sessions, settings)
        run_until(starter(worker), worker.stop, lambda: all_settled(database))
        [row] = outbox(database).values()
        assert (row.channel, row.status, row.attempts) == (ChannelName.SCREENS, "failed", 1)
        assert row.last_error is not None and "Not authorized" in row.last_error
    finally:
        broker.stop()
