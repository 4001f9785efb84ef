"""The evaluator's settings: environment variables prefixed ``TIANQU_ALERTING_``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from city.topics import ALL_DEVICES

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "admin", "tianqu"}
)


class AlertingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIANQU_ALERTING_", extra="forbid")

    environment: Literal["development", "production"] = "development"

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=18830, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: Path | None = None
    # Its own client id and persistent session: never the ingester's, never a shared group.
    mqtt_client_id: str = Field(default="tianqu-alerting", min_length=1, max_length=64)
    mqtt_keepalive_s: int = Field(default=30, ge=2, le=3600)
    mqtt_topic: str = Field(default=ALL_DEVICES, description="the subscription")
    mqtt_receive_maximum: int = Field(default=2000, ge=1, le=65_535)
    mqtt_session_expiry_s: int = Field(default=7 * 86_400, ge=0)

    api_url: str = "http://127.0.0.1:18000"
    api_events_path: str = "/alerts/events"
    api_key: SecretStr | None = None
    api_timeout_s: float = Field(default=10.0, gt=0, le=120)
    send_batch_max: int = Field(default=200, ge=1, le=5000)

    rules_file: Path | None = Field(
        default=None, description="default: TIANQU_RULES_FILE or shipped"
    )
    city_file: Path | None = Field(default=None, description="default: TIANQU_CITY_FILE or shipped")
    state_dir: Path = Path(".state/alerting")

    batch_max_messages: int = Field(default=1000, ge=1, le=100_000)
    check_interval_s: float = Field(default=5.0, gt=0, le=600)
    max_payload_bytes: int = Field(default=16_384, ge=256, le=262_144)
    max_age_s: int = Field(default=7 * 86_400, ge=1, description="oldest device timestamp taken")
    max_future_s: int = Field(default=300, ge=0, description="device clocks ahead by at most")

    health_host: str = "127.0.0.1"
    health_port: int = Field(default=9109, ge=0, le=65535, description="0 switches it off")
    drain_timeout_s: float = Field(default=10.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    nice: int = Field(
        default=0,
        ge=0,
        le=19,
        description="added to the process's niceness: under CPU contention the ingester wins",
    )

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> AlertingSettings:
        if self.environment == "development":
            return self
        for name in ("mqtt_password", "api_key"):
            value: SecretStr | None = getattr(self, name)
            if value is None or value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"TIANQU_ALERTING_{name.upper()} is missing or a placeholder; set a real "
                    "secret outside development"
                )
        if self.mqtt_username is None:
            raise ValueError("TIANQU_ALERTING_MQTT_USERNAME is required outside development")
        return self

    @property
    def events_url(self) -> str:
        return self.api_url.rstrip("/") + "/" + self.api_events_path.lstrip("/")
