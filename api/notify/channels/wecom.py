"""WeCom (企业微信) group robot: ``{"msgtype": "markdown", "markdown": {"content"}}``.

The robot answers ``{"errcode": 0}``; 93000 is an invalid webhook, 45009 the rate limit (20
messages a minute). Markdown content is limited to 4096 bytes of UTF-8.
"""

from __future__ import annotations

from api.notify import render
from api.notify.channels.base import HttpChannel, check_robot_answer
from api.notify.errors import PermanentError
from api.notify.models import ChannelName
from api.notify.outbox import Delivery
from api.notify.settings import NotifySettings

PERMANENT = frozenset({93000, 40008, 44004, 45002})
RATE_LIMITED = frozenset({45009})
MAX_BYTES = 4096


def fit_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max_bytes - len("…".encode())].decode("utf-8", errors="ignore") + "…"


def message(delivery: Delivery) -> dict[str, object]:
    content = fit_utf8(render.markdown(delivery.notification), MAX_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


class WeComChannel(HttpChannel):
    name = ChannelName.WECOM

    def __init__(self, settings: NotifySettings) -> None:
        super().__init__(
            timeout_s=settings.timeout_for(self.name),
            concurrency=settings.concurrency_for(self.name),
        )
        self._prefixes = settings.wecom_url_prefixes

    async def send(self, delivery: Delivery) -> None:
        if not delivery.target.startswith(self._prefixes):
            raise PermanentError("the robot URL is outside the allowed WeCom prefixes")
        response = await self.post_json(delivery.target, message(delivery))
        check_robot_answer(response, "WeCom", permanent=PERMANENT, rate_limited=RATE_LIMITED)
