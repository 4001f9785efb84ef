"""The generic webhook: the payload as JSON, signed with HMAC-SHA256 (see ``signing.py``)."""

from __future__ import annotations

import orjson

from api.notify import render
from api.notify.channels.base import HttpChannel
from api.notify.models import ChannelName
from api.notify.outbox import Delivery
from api.notify.settings import NotifySettings
from api.notify.signing import DELIVERY_HEADER, EVENT_HEADER, webhook_headers


class WebhookChannel(HttpChannel):
    name = ChannelName.WEBHOOK

    def __init__(self, settings: NotifySettings) -> None:
        super().__init__(
            timeout_s=settings.timeout_for(self.name),
            concurrency=settings.concurrency_for(self.name),
        )
        self._secret = settings.webhook_secret.get_secret_value()

    async def send(self, delivery: Delivery) -> None:
        body = orjson.dumps(render.payload(delivery.notification, delivery.id))
        headers = {
            **webhook_headers(self._secret, body),  # a fresh timestamp on every attempt
            DELIVERY_HEADER: str(delivery.id),
            EVENT_HEADER: delivery.notification.event.value,
        }
        await self.post_json(delivery.target, body, headers)
