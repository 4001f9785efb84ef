"""The notifier's settings: environment variables prefixed ``TIANQU_API_NOTIFY_``.

A channel is on when it is configured: the generic webhook by ``webhook_url``, email by
``smtp_host``, SMS by ``sms_url``, the screens topic by ``mqtt_host``; the DingTalk and WeCom
robots are on by default (each recipient names its robot) and only post to URLs under the
allowed prefixes, so a robot URL typed into a person's record cannot make the API post to an
internal address. The API's ``Settings`` includes this as ``settings.notify`` and calls
:meth:`NotifySettings.secret_problems` outside development.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.notify.models import ChannelName

# The same list as api.core.config (kept here so this package never imports the API's core).
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "admin", "tianqu", "jwt"}
)
MIN_WEBHOOK_SECRET_LENGTH = 32
SCREENS_TOPIC = "tianqu/ops/screens/incidents"


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIANQU_API_NOTIFY_", extra="forbid")

    # --- generic webhook (HMAC-signed JSON POST; the scheme is in api/notify/signing.py)
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    webhook_secret: SecretStr = SecretStr("")

    # --- DingTalk / WeCom group robots
    dingtalk_enabled: bool = True
    dingtalk_url_prefixes: tuple[str, ...] = ("https://oapi.dingtalk.com/robot/send?",)
    wecom_enabled: bool = True
    wecom_url_prefixes: tuple[str, ...] = ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?",)

    # --- email over SMTP (through apprise)
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)  # None: 587 / 465 / 25
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_verify_certificate: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "ops@tianqu.example"
    smtp_from_name: str = "天衢新区城市运行"

    # --- SMS gateway: POST {"phone", "text", "incident_id", "id"} as JSON to this URL;
    # "{phone}" in it is replaced by the URL-encoded number.
    sms_url: str | None = Field(default=None, pattern=r"^https?://")
    sms_token: SecretStr | None = Field(default=None, description="sent as a Bearer token")
    sms_secret: SecretStr | None = Field(
        default=None, description="if set, requests are signed like the generic webhook"
    )

    # --- MQTT screens topic, with the API's own broker account
    mqtt_host: str | None = None
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_tls: bool = False
    mqtt_ca_file: str | None = None
    screens_topic: str = SCREENS_TOPIC

    # --- the worker
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_base_s: float = Field(default=2.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=900.0, gt=0, le=86_400)
    retry_after_max_s: float = Field(default=3600.0, gt=0, le=86_400)
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    concurrency: int = Field(default=4, ge=1, le=100)
    # Per-channel overrides, e.g. TIANQU_API_NOTIFY_CHANNEL_TIMEOUT_S='{"email": 30}'.
    channel_timeout_s: dict[ChannelName, float] = Field(default_factory=dict)
    channel_concurrency: dict[ChannelName, int] = Field(default_factory=dict)
    claim_ttl_s: float = Field(
        default=120.0, gt=0, le=3600, description="longer than any channel's timeout"
    )
    drain_timeout_s: float = Field(default=10.0, ge=0, le=300)

    @model_validator(mode="after")
    def _consistent(self) -> NotifySettings:
        if self.webhook_url and not self.webhook_secret.get_secret_value():
            raise ValueError("TIANQU_API_NOTIFY_WEBHOOK_SECRET is needed with a webhook_url")
        longest = max([self.timeout_s, *self.channel_timeout_s.values()])
        if self.claim_ttl_s <= longest:
            raise ValueError(
                f"claim_ttl_s ({self.claim_ttl_s}) must exceed the longest channel timeout "
                f"({longest}), or another worker could take a delivery still in flight"
            )
        if any(v < 1 for v in self.channel_concurrency.values()):
            raise ValueError("channel_concurrency values must be at least 1")
        if any(v <= 0 for v in self.channel_timeout_s.values()):
            raise ValueError("channel_timeout_s values must be positive")
        return self

    def enabled(self) -> frozenset[ChannelName]:
        on = {
            ChannelName.WEBHOOK: self.webhook_url is not None,
            ChannelName.SCREENS: self.mqtt_host is not None,
            ChannelName.DINGTALK: self.dingtalk_enabled,
            ChannelName.WECOM: self.wecom_enabled,
            ChannelName.EMAIL: self.smtp_host is not None,
            ChannelName.SMS: self.sms_url is not None,
        }
        return frozenset(name for name, flag in on.items() if flag)

    def timeout_for(self, channel: ChannelName) -> float:
        return self.channel_timeout_s.get(channel, self.timeout_s)

    def concurrency_for(self, channel: ChannelName) -> int:
        return self.channel_concurrency.get(channel, self.concurrency)

    def secret_problems(self) -> list[str]:
        """Secrets that are placeholders or too short (refused outside development)."""
        problems = []
        if self.webhook_url:
            secret = self.webhook_secret.get_secret_value()
            if _placeholder(secret) or len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
                problems.append(
                    "TIANQU_API_NOTIFY_WEBHOOK_SECRET is a placeholder or shorter than "
                    f"{MIN_WEBHOOK_SECRET_LENGTH} characters"
                )
        for name in ("smtp_password", "sms_token", "sms_secret", "mqtt_password"):
            value: SecretStr | None = getattr(self, name)
            if value is not None and _placeholder(value.get_secret_value()):
                problems.append(f"TIANQU_API_NOTIFY_{name.upper()} is a placeholder")
        return problems


def _placeholder(secret: str) -> bool:
    return secret.strip().lower() in PLACEHOLDER_SECRETS


@lru_cache(maxsize=1)
def get_notify_settings() -> NotifySettings:
    return NotifySettings()
