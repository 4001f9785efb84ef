"""DingTalk custom group robot: a markdown message, signed (加签) when the robot has a secret.

``POST <webhook>&timestamp=<ms>&sign=<urlencoded base64 HMAC>`` with
``{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {"atMobiles": [...]}}``; the
robot answers ``{"errcode": 0}`` on success (310000: signature, keyword or IP check failed;
130101: more than 20 messages a minute).
"""

from __future__ import annotations

import time

import httpx

from api.notify import render
from api.notify.channels.base import HttpChannel, check_robot_answer
from api.notify.errors import PermanentError
from api.notify.models import ChannelName
from api.notify.outbox import Delivery
from api.notify.settings import NotifySettings
from api.notify.signing import dingtalk_signature

PERMANENT = frozenset({310000, 300001})
RATE_LIMITED = frozenset({130101})


def message(delivery: Delivery) -> dict[str, object]:
    n = delivery.notification
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": render.headline(n)[:60],
            "text": render.markdown(n, list(delivery.mentions)),
        },
        "at": {"atMobiles": list(delivery.mentions), "isAtAll": False},
    }


def signed_url(webhook: str, secret: str | None, now_ms: int | None = None) -> httpx.URL:
    url = httpx.URL(webhook)
    if not secret:
        return url
    timestamp = int(time.time() * 1000) if now_ms is None else now_ms
    return url.copy_merge_params(
        {"timestamp": str(timestamp), "sign": dingtalk_signature(secret, timestamp)}
    )


class DingTalkChannel(HttpChannel):
    name = ChannelName.DINGTALK

    def __init__(self, settings: NotifySettings) -> None:
        super().__init__(
            timeout_s=settings.timeout_for(self.name),
            concurrency=settings.concurrency_for(self.name),
        )
        self._prefixes = settings.dingtalk_url_prefixes

    async def send(self, delivery: Delivery) -> None:
        if not delivery.target.startswith(self._prefixes):
            raise PermanentError("the robot URL is outside the allowed DingTalk prefixes")
        response = await self.post_json(
            signed_url(delivery.target, delivery.target_secret), message(delivery)
        )
        check_robot_answer(response, "DingTalk", permanent=PERMANENT, rate_limited=RATE_LIMITED)
