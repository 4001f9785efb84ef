"""One module per channel, each with the same shape (:class:`~api.notify.channels.base.Channel`).

=========  ===================================  ==========================================
channel    module                               through
=========  ===================================  ==========================================
webhook    ``webhook.py``                       httpx, HMAC-SHA256 signature
dingtalk   ``dingtalk.py``                      httpx, 加签, markdown
wecom      ``wecom.py``                         httpx, markdown
email      ``email.py``                         apprise (SMTP)
sms        ``sms.py``                           httpx, the gateway's webhook
screens    ``screens.py``                       paho-mqtt, QoS 1
=========  ===================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable

from api.notify.channels.base import Channel
from api.notify.models import ChannelName
from api.notify.settings import NotifySettings


def _factories() -> dict[ChannelName, Callable[[NotifySettings], Channel]]:
    from api.notify.channels.dingtalk import DingTalkChannel  # noqa: PLC0415
    from api.notify.channels.email import EmailChannel  # noqa: PLC0415
    from api.notify.channels.screens import ScreensChannel  # noqa: PLC0415
    from api.notify.channels.sms import SmsChannel  # noqa: PLC0415
    from api.notify.channels.webhook import WebhookChannel  # noqa: PLC0415
    from api.notify.channels.wecom import WeComChannel  # noqa: PLC0415

    return {
        ChannelName.WEBHOOK: WebhookChannel,
        ChannelName.DINGTALK: DingTalkChannel,
        ChannelName.WECOM: WeComChannel,
        ChannelName.EMAIL: EmailChannel,
        ChannelName.SMS: SmsChannel,
        ChannelName.SCREENS: ScreensChannel,
    }


def build_channels(settings: NotifySettings) -> dict[ChannelName, Channel]:
    """The configured channels (``settings.enabled()``), ready to send."""
    factories = _factories()
    return {name: factories[name](settings) for name in sorted(settings.enabled())}


__all__ = ["Channel", "build_channels"]
