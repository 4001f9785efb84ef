"""Retries, backoff, give-up, and isolation: a failing or hanging channel delays no other one.

No test asserts how long something took: each checks what the worker recorded (attempts,
outcomes, the retry times it chose) and in which order things happened.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from api.core.db import Database
from api.notify import NotificationWorker
from api.notify.models import ChannelName
from devstack.ports import free_port
from tests.integration.notify.conftest import Answer, Receiver, SmtpServer, run_until
from tests.integration.notify.helpers import (
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

pytestmark = pytest.mark.integration

WEBHOOK_ONLY = frozenset({ChannelName.WEBHOOK})


def test_server_errors_are_retried_with_growing_backoff_until_accepted(
    receiver: Receiver, database: Database
) -> None:
    receiver.script("/hook", Answer(500), Answer(502), Answer(503), Answer(200, {}))
    settings = settings_for(receiver, backoff_base_s=0.1, backoff_max_s=10)
    [delivery_id] = add(database, note([], channels=WEBHOOK_ONLY), settings)
    worker = NotificationWorker(database.sessions, settings)
    run_until(starter(worker), worker.stop, lambda: all_settled(database))

    row = outbox(database)[delivery_id]
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, None)
    log = attempts(database, delivery_id)
    assert [(a.number, a.outcome, a.status_code) for a in log] == [
        (1, "retry", 500), (2, "retry", 502), (3, "retry", 503), (4, "sent", None),
    ]  # fmt: skip
    assert len(receiver.at("/hook")) == 4
    for earlier, later in itertools.pairwise(log):
        assert earlier.retry_at is not None
        assert later.started_at >= earlier.retry_at  # never retried before it was due
    # The delay chosen after attempt n lies in its jitter window [½, 1] · 0.1 · 2^(n-1) s.
    for a in log[:-1]:
        assert a.retry_at is not None
        chosen = (a.retry_at - a.started_at).total_seconds() - a.latency_ms / 1000
        nominal = 0.1 * 2 ** (a.number - 1)
        assert nominal * 0.5 - 0.05 <= chosen <= nominal + 0.05
    assert worker.metrics.retries.labels("webhook")._value.get() == 3
    assert worker.metrics.sent.labels("webhook")._value.get() == 1


def test_retry_after_is_honoured(receiver: Receiver, database: Database) -> None:
    receiver.script("/hook", Answer(429, {}, {"Retry-After": "2"}), Answer(200, {}))
    settings = settings_for(receiver, backoff_base_s=0.05)
    [delivery_id] = add(database, note([], channels=WEBHOOK_ONLY), settings)
    worker = NotificationWorker(database.sessions, settings)
    run_until(starter(worker), worker.stop, lambda: all_settled(database))

    first, second = attempts(database, delivery_id)
    assert (first.outcome, first.status_code, second.outcome) == ("retry", 429, "sent")
    assert first.retry_at is not None
    assert first.retry_at - first.started_at >= timedelta(seconds=2)
    assert second.started_at >= first.retry_at


def test_gives_up_after_max_attempts_with_the_last_error(
    receiver: Receiver, database: Database
) -> None:
    receiver.script("/hook", *[Answer(503, {"error": f"busy {i}"}) for i in range(10)])
    settings = settings_for(receiver, max_attempts=3)
    [delivery_id] = add(database, note([], channels=WEBHOOK_ONLY), settings)
    worker = NotificationWorker(database.sessions, settings)
    run_until(starter(worker), worker.stop, lambda: all_settled(database))

    row = outbox(database)[delivery_id]
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == 'HTTP 503: {"error": "busy 2"}'
    assert [a.outcome for a in attempts(database, delivery_id)] == ["retry", "retry", "failed"]
    assert len(receiver.at("/hook")) == 3
    metrics = worker.metrics
    assert metrics.failed.labels("webhook")._value.get() == 1
    assert metrics.retries.labels("webhook")._value.get() == 2


def test_a_client_error_is_not_retried(receiver: Receiver, database: Database) -> None:
    receiver.script("/hook", Answer(401, {"error": "bad signature"}))
    settings = settings_for(receiver)
    [delivery_id] = add(database, note([], channels=WEBHOOK_ONLY), settings)
    worker = NotificationWorker(database.sessions, settings)
    run_until(starter(worker), worker.stop, lambda: all_settled(database))
    row = outbox(database)[delivery_id]
    assert (row.status, row.attempts, row.last_error) == (
        "failed", 1, 'HTTP 401: {"error": "bad signature"}',
    )  # fmt: skip


def test_a_dead_receiver_is_retried_as_a_network_error(
    receiver: Receiver, database: Database
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens there
    settings = settings_for(receiver, webhook_url=closed, max_attempts=2)
    [delivery_id] = add(database, note([], channels=WEBHOOK_ONLY), settings)
    worker = NotificationWorker(database.sessions, settings)
    run_until(starter(worker), worker.stop, lambda: all_settled(database))
    row = outbox(database)[delivery_id]
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error is not None and row.last_error.startswith("ConnectError")


def test_a_hanging_webhook_delays_neither_email_nor_the_screens_nor_new_incidents(
    receiver: Receiver, smtp: SmtpServer, database: Database, tmp_path: Path
) -> None:
    receiver.script("/hook", *[Answer(hang=True) for _ in range(10)])
    broker = secured_broker(tmp_path)
    broker.start()
    viewer = screen(broker)
    try:
        settings = settings_for(
            receiver, smtp, broker, sms_url=None, dingtalk_enabled=False, wecom_enabled=False,
            channel_timeout_s={ChannelName.WEBHOOK: 60.0},
            channel_concurrency={ChannelName.WEBHOOK: 1}, claim_ttl_s=120,
        )  # fmt: skip
        first = add(database, note([person(receiver, 1)]), settings)
        worker = NotificationWorker(database.sessions, settings)
        rows_seen: dict[str, object] = {}

        def others_delivered() -> bool:
            rows = outbox(database)
            done = {r.channel for r in rows.values() if r.status == "sent"}
            if {"email", "screens"} <= done and len(smtp.mailbox.messages) >= 1:
                if "second" not in rows_seen:
                    # A new incident while the webhook still hangs: enqueue is a plain insert.
                    rows_seen["second"] = add(
                        database, note([person(receiver, 2)], incident_id=43), settings
                    )
                    return False
                return len(smtp.mailbox.messages) == 2 and len(viewer.received()) == 2
            return False

        run_until(starter(worker), worker.stop, others_delivered, what="email and screens")

        hooks = receiver.at("/hook")
        # Email and the screens got both incidents while the first webhook call was still
        # held open: the webhook never answered, and its second delivery is still waiting.
        assert len(hooks) == 1 and not hooks[0].finished
        rows = outbox(database)
        webhook_rows = [r for r in rows.values() if r.channel == "webhook"]
        assert [r.status for r in webhook_rows] == ["pending", "pending"]
        # The stopped worker gave its claim back: another replica need not wait for it to lapse.
        assert [r.claim_token for r in webhook_rows] == [None, None]
        assert sorted(m.payload.count(b'"incident_id":4') for m in viewer.received()) == [1, 1]
        assert {r.status for r in rows.values() if r.channel in ("email", "screens")} == {"sent"}
        assert first and rows_seen["second"]
    finally:
        viewer.close()
        broker.stop()
