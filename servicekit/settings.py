"""What every subscribing service's settings share: the broker connection and the secrets rule.

Each service keeps its own settings class and prefix (``TIANQU_INGEST_``,
``TIANQU_ALERTING_``); this base only saves writing the same broker fields, message limits and
refusal of placeholder secrets twice. A service overrides a field's default (its client id, its
receive maximum) by declaring it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from city.inbound import Limits
from city.topics import ALL_DEVICES
from servicekit.subscriber import MqttOptions

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "admin", "tianqu"}
)


def reveal(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


class SubscriberSettings(BaseSettings):
    environment: Literal["development", "production"] = "development"

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=18830, ge=1, le=65535)
    mqtt_client_id: str = Field(min_length=1, max_length=64)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: Path | None = None
    mqtt_topic: str = Field(default=ALL_DEVICES, description="the subscription")
    mqtt_keepalive_s: int = Field(default=30, ge=2, le=3600)
    mqtt_receive_maximum: int = Field(default=10_000, ge=1, le=65_535)
    mqtt_session_expiry_s: int = Field(default=7 * 86_400, ge=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    max_payload_bytes: int = Field(default=16_384, ge=256, le=262_144)
    max_age_s: int = Field(default=7 * 86_400, ge=1, description="oldest device timestamp taken")
    max_future_s: int = Field(default=300, ge=0, description="device clocks ahead by at most")

    def mqtt_options(self, topic: str) -> MqttOptions:
        return MqttOptions(
            host=self.mqtt_host,
            port=self.mqtt_port,
            client_id=self.mqtt_client_id,
            topic=topic,
            username=self.mqtt_username,
            password=reveal(self.mqtt_password),
            ca_file=str(self.mqtt_ca_file) if self.mqtt_ca_file else None,
            keepalive_s=self.mqtt_keepalive_s,
            receive_maximum=self.mqtt_receive_maximum,
            session_expiry_s=self.mqtt_session_expiry_s,
        )

    def inbound_limits(self) -> Limits:
        return Limits(
            max_payload_bytes=self.max_payload_bytes,
            max_age_ms=self.max_age_s * 1000,
            max_future_ms=self.max_future_s * 1000,
        )

    def refuse_placeholders(
        self, env_prefix: str, optional: Iterable[str] = (), required: Iterable[str] = ()
    ) -> None:
        """Outside development: every secret set must be real, ``required`` ones must be set,
        and the broker needs a username."""
        if self.environment == "development":
            return
        for name, must_exist in [(n, False) for n in optional] + [(n, True) for n in required]:
            value: SecretStr | None = getattr(self, name)
            if (value is None and must_exist) or (
                value is not None and value.get_secret_value().lower() in PLACEHOLDER_SECRETS
            ):
                raise ValueError(
                    f"{env_prefix}{name.upper()} is missing or a placeholder; set a real secret "
                    "outside development"
                )
        if self.mqtt_username is None:
            raise ValueError(f"{env_prefix}MQTT_USERNAME is required outside development")
