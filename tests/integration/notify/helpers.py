"""Shared pieces of the notification tests: settings pointing at the receivers, notifications,
an MQTT screen, and database probes."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import SecretStr
from sqlalchemy import select

from api.core.db import Database
from api.notify import NotificationWorker, enqueue
from api.notify.models import Event, Notification, Recipient
from api.notify.settings import NotifySettings
from api.notify.tables import AttemptRow, OutboxRow
from city.grades import Grade, Level
from devstack.processes import Broker, make_broker
from servicekit.mqtt_passwords import mosquitto_hash
from tests.integration.notify.conftest import Receiver, SmtpServer

SECRET = "notify-test-secret-" + "k" * 30
DINGTALK_SECRET = "SEC" + "5a" * 16
API_USER, API_PASSWORD = "tianqu-api", "api-broker-password-1"
SCREEN_USER, SCREEN_PASSWORD = "screen-1", "screen-password-1"


def settings_for(
    receiver: Receiver,
    smtp: SmtpServer | None = None,
    broker: Broker | None = None,
    **overrides: Any,
) -> NotifySettings:
    values: dict[str, Any] = {
        "webhook_url": receiver.url("/hook"),
        "webhook_secret": SecretStr(SECRET),
        "dingtalk_url_prefixes": (receiver.url("/robot/send?"),),
        "wecom_url_prefixes": (receiver.url("/cgi-bin/webhook/send?"),),
        "sms_url": receiver.url("/sms?to={phone}"),
        "sms_token": SecretStr("sms-gateway-token"),
        "poll_interval_s": 0.05,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.4,
        "timeout_s": 5.0,
        "claim_ttl_s": 60.0,
        "drain_timeout_s": 0.5,
    }
    if smtp is not None:
        values |= {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
                   "smtp_from": "ops@tianqu.example"}  # fmt: skip
    if broker is not None:
        values |= {"mqtt_host": broker.host, "mqtt_port": broker.port,
                   "mqtt_username": API_USER, "mqtt_password": SecretStr(API_PASSWORD)}  # fmt: skip
    values.update(overrides)
    return NotifySettings(**values)


def person(receiver: Receiver, n: int = 1, **changes: Any) -> Recipient:
    values: dict[str, Any] = {
        "name": f"机长{n}",
        "user_id": n,
        "email": f"captain{n}@example.org",
        "phone": f"1380000000{n}",
        "dingtalk_webhook": receiver.url("/robot/send?access_token=yuanqiao"),
        "dingtalk_secret": SecretStr(DINGTALK_SECRET),
        "wecom_webhook": receiver.url("/cgi-bin/webhook/send?key=yuanqiao"),
    }
    values.update(changes)
    return Recipient(**values)


def note(recipients: list[Recipient], **changes: Any) -> Notification:
    values: dict[str, Any] = {
        "incident_id": 42, "event": Event.ESCALATED, "grade": Grade.III,
        "level": Level.TOWNSHIP, "township": "yuanqiao", "village": "dongzhan",
        "township_name": "袁桥镇", "village_name": "东站社区", "title": "井下甲烷超标",
        "summary": "东站北广场 3 号井 CH4 62 %LEL，持续 5 分钟。",
        "url": "https://cockpit.example/incidents/42", "recipients": recipients,
    }  # fmt: skip
    values.update(changes)
    return Notification(**values)


def add(database: Database, notification: Notification, settings: NotifySettings) -> list[int]:
    with database.session() as session:
        ids = enqueue(session, notification, settings=settings)
        session.commit()
    return ids


def outbox(database: Database) -> dict[int, OutboxRow]:
    with database.session() as session:
        return {r.id: r for r in session.scalars(select(OutboxRow))}


def attempts(database: Database, outbox_id: int | None = None) -> list[AttemptRow]:
    with database.session() as session:
        stmt = select(AttemptRow).order_by(AttemptRow.id)
        if outbox_id is not None:
            stmt = stmt.where(AttemptRow.outbox_id == outbox_id)
        return list(session.scalars(stmt))


def all_settled(database: Database, ids: list[int] | None = None) -> bool:
    rows = outbox(database)
    return all(r.status != "pending" for i, r in rows.items() if ids is None or i in ids)


def secured_broker(tmp_path: Path) -> Broker:
    """mosquitto with logins: the API may write the screens topic, a screen may read it."""
    passwords = tmp_path / "passwords"
    passwords.write_text(
        f"{API_USER}:{mosquitto_hash(API_PASSWORD)}\n{SCREEN_USER}:{mosquitto_hash(SCREEN_PASSWORD)}\n"
    )
    acl = tmp_path / "acl"
    acl.write_text(
        f"user {API_USER}\ntopic write tianqu/ops/screens/#\n\n"
        f"user {SCREEN_USER}\ntopic read tianqu/ops/screens/#\n"
    )
    return make_broker(tmp_path / "broker", allow_anonymous=False, password_file=passwords,
                       acl_file=acl)  # fmt: skip


@dataclass
class Screen:
    """A command-centre screen: subscribes to the screens topic and keeps what arrives."""

    client: mqtt.Client
    messages: list[mqtt.MQTTMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[mqtt.MQTTMessage]:
        with self.lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def screen(broker: Broker, topic: str = "tianqu/ops/screens/#") -> Screen:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"screen-{uuid.uuid4().hex[:8]}",
                         protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
    client.username_pw_set(SCREEN_USER, SCREEN_PASSWORD)
    result = Screen(client)
    subscribed = threading.Event()

    def on_connect(c: mqtt.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
        c.subscribe(topic, qos=1)

    def on_subscribe(c: mqtt.Client, u: Any, mid: int, reasons: Any, p: Any) -> None:
        if all(not r.is_failure for r in reasons):
            subscribed.set()

    def on_message(c: mqtt.Client, u: Any, message: mqtt.MQTTMessage) -> None:
        with result.lock:
            result.messages.append(message)

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect(broker.host, broker.port)
    client.loop_start()
    if not subscribed.wait(10):
        result.close()
        raise TimeoutError("the screen could not subscribe")
    return result


def starter(*workers: NotificationWorker) -> Callable[[], Awaitable[None]]:
    """For ``run_until``: start the workers on its loop."""

    async def start() -> None:
        for worker in workers:
            worker.start()

    return start
