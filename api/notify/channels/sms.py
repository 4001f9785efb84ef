"""The SMS gateway: a generic HTTP webhook the city's SMS provider (or its adapter) exposes.

``POST <sms_url>`` (``{phone}`` in the URL is replaced by the URL-encoded number) with
``{"id", "phone", "text", "incident_id"}`` as JSON, ``Authorization: Bearer <sms_token>`` when
set, and signed like the generic webhook when ``sms_secret`` is set. Any 2xx is accepted.
"""

from __future__ import annotations

import urllib.parse

import orjson

from api.notify import render
from api.notify.channels.base import HttpChannel
from api.notify.models import ChannelName
from api.notify.outbox import Delivery
from api.notify.settings import NotifySettings
from api.notify.signing import DELIVERY_HEADER, webhook_headers


class SmsChannel(HttpChannel):
    name = ChannelName.SMS

    def __init__(self, settings: NotifySettings) -> None:
        super().__init__(
            timeout_s=settings.timeout_for(self.name),
            concurrency=settings.concurrency_for(self.name),
        )
        if settings.sms_url is None:
            raise ValueError("the SMS channel needs TIANQU_API_NOTIFY_SMS_URL")
        self._url = settings.sms_url
        self._token = settings.sms_token.get_secret_value() if settings.sms_token else None
        self._secret = settings.sms_secret.get_secret_value() if settings.sms_secret else None

    async def send(self, delivery: Delivery) -> None:
        url = self._url.replace("{phone}", urllib.parse.quote(delivery.target, safe=""))
        body = orjson.dumps(
            {
                "id": delivery.id,
                "phone": delivery.target,
                "text": render.sms(delivery.notification),
                "incident_id": delivery.notification.incident_id,
            }
        )
        headers = {DELIVERY_HEADER: str(delivery.id)}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._secret:
            headers.update(webhook_headers(self._secret, body))
        await self.post_json(url, body, headers)
