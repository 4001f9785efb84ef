"""Two API replicas on one database: every delivery goes out exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from api.core.db import Database
from api.notify import NotificationWorker
from api.notify.models import ChannelName
from tests.integration.notify.conftest import Receiver, run_until
from tests.integration.notify.helpers import (
    add,
    all_settled,
    attempts,
    note,
    person,
    settings_for,
    starter,
)

pytestmark = pytest.mark.integration


def test_two_workers_deliver_each_notification_once(
    receiver: Receiver, database: Database, tmp_path: Path
) -> None:
    settings = settings_for(receiver, dingtalk_enabled=False, wecom_enabled=False)
    channels = frozenset({ChannelName.WEBHOOK, ChannelName.SMS})
    ids: list[int] = []
    for incident in range(1, 41):
        ids += add(database, note([person(receiver, 1)], incident_id=incident, channels=channels),
                   settings)  # fmt: skip
    # The second replica has an engine and connection pool of its own on the same file.
    other = Database(str(database.engine.url))
    workers = [
        NotificationWorker(database.sessions, settings, name="replica-a"),
        NotificationWorker(other.sessions, settings, name="replica-b"),
    ]

    async def stop() -> None:
        await asyncio.gather(*(worker.stop() for worker in workers))

    try:
        run_until(starter(*workers), stop, lambda: all_settled(database), what="80 deliveries")
    finally:
        other.close()

    assert len(ids) == 80
    webhook_ids = Counter(int(r.headers["x-tianqu-delivery"]) for r in receiver.at("/hook"))
    sms_ids = Counter(r.json()["id"] for r in receiver.at("/sms"))
    assert set(webhook_ids) | set(sms_ids) == set(ids)
    assert set(webhook_ids.values()) == {1}
    assert set(sms_ids.values()) == {1}
    log = attempts(database)
    assert len(log) == 80
    assert {a.outcome for a in log} == {"sent"}
    assert Counter(a.outbox_id for a in log) == Counter(ids)
