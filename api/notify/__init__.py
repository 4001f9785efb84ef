"""Notifications to incident staff, through an outbox in the registry's database.

The interface::

    from api.notify import Notification, Recipient, Event, enqueue, NotificationWorker

    # in the transaction that changes the incident:
    ids = enqueue(session, Notification(
        incident_id=42, event=Event.ESCALATED, grade=Grade.III, level=Level.TOWNSHIP,
        township="yuanqiao", village="dongzhan", title="井下甲烷超标", summary="…",
        url="https://cockpit.example/incidents/42",
        recipients=[Recipient(name="王机长", phone="13800000000", email="wang@example.org",
                              dingtalk_webhook="https://oapi.dingtalk.com/robot/send?access_token=…")],
    ).with_area_names(city), settings=settings.notify)
    session.commit()                     # the deliveries exist iff the incident change does

    # in the app's lifespan:
    worker = NotificationWorker.from_app_state(app.state)
    worker.start()                       # … yield …
    await worker.stop()

``enqueue`` writes one outbox row per (recipient × channel), merged per target (a group robot
shared by several people gets one message @-ing them), plus one per global channel (the generic
webhook, the screens topic). The worker claims due rows atomically (safe with several API
replicas), sends each through its channel with a per-channel concurrency limit and timeout,
retries with exponential backoff and jitter (honouring ``Retry-After``), gives up after
``max_attempts`` and records every attempt. ``queries`` lists deliveries and attempts by area;
``routes/notifications.py`` serves them.

Texts are Chinese, led by ``【Ⅲ级 较大】井下甲烷超标 — 袁桥镇 东站社区`` (``render``).
"""

from api.notify.errors import DeliveryError, PermanentError, RetryableError
from api.notify.metrics import NotifyMetrics
from api.notify.models import ChannelName, Event, Notification, Recipient
from api.notify.outbox import Delivery, enqueue
from api.notify.queries import (
    AttemptPublic,
    NotificationDetail,
    NotificationPublic,
    counts,
    get_notification,
    list_notifications,
)
from api.notify.settings import NotifySettings, get_notify_settings
from api.notify.signing import verify_webhook, webhook_signature
from api.notify.tables import AttemptRow, OutboxRow
from api.notify.worker import NotificationWorker

__all__ = [
    "AttemptPublic",
    "AttemptRow",
    "ChannelName",
    "Delivery",
    "DeliveryError",
    "Event",
    "Notification",
    "NotificationDetail",
    "NotificationPublic",
    "NotificationWorker",
    "NotifyMetrics",
    "NotifySettings",
    "OutboxRow",
    "PermanentError",
    "Recipient",
    "RetryableError",
    "counts",
    "enqueue",
    "get_notification",
    "get_notify_settings",
    "list_notifications",
    "verify_webhook",
    "webhook_signature",
]
