"""The ingester's settings: environment variables prefixed ``TIANQU_INGEST_``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from city.topics import ALL_DEVICES

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "password", "admin"})


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIANQU_INGEST_", extra="forbid")

    environment: Literal["development", "production"] = "development"

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=18830, ge=1, le=65535)
    mqtt_client_id: str = Field(default="tianqu-ingest-1", min_length=1, max_length=64)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: Path | None = None
    mqtt_topic: str = ALL_DEVICES
    mqtt_share_group: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]+$", description="join $share/<group>/<topic>"
    )
    mqtt_keepalive_s: int = Field(default=30, ge=2, le=3600)
    mqtt_receive_maximum: int = Field(default=10_000, ge=1, le=65_535)
    mqtt_session_expiry_s: int = Field(default=7 * 86_400, ge=0)

    influx_url: str = "http://127.0.0.1:18086"
    influx_database: str = Field(default="tianqu", pattern=r"^[A-Za-z0-9_-]+$")
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_token: SecretStr | None = None
    influx_create_database: bool = True
    influx_timeout_s: float = Field(default=10.0, gt=0)

    batch_max_messages: int = Field(default=5000, ge=1, le=100_000)
    batch_max_age_ms: int = Field(default=200, ge=1, le=60_000)

    max_payload_bytes: int = Field(default=16_384, ge=256, le=262_144)
    max_age_s: int = Field(default=7 * 86_400, ge=1, description="oldest device timestamp taken")
    max_future_s: int = Field(default=300, ge=0, description="device clocks ahead by at most")

    state_dir: Path = Path(".state/ingest")
    spool: Literal["sqlite", "memory"] = "sqlite"
    spool_capacity_mb: int = Field(default=512, ge=1, le=1_000_000)
    write_max_lines: int = Field(default=5000, ge=1, le=100_000)
    write_concurrency: int = Field(default=3, ge=1, le=16)
    dead_letter_payload_bytes: int = Field(default=4096, ge=64, le=65_536)
    dead_letter_max_rows: int = Field(default=1_000_000, ge=1000)

    health_host: str = "127.0.0.1"
    health_port: int = Field(default=9108, ge=0, le=65535, description="0 switches it off")
    drain_timeout_s: float = Field(default=10.0, gt=0)
    stats_every_s: float = Field(default=10.0, ge=1, description="platform_stats points")
    city_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> IngestSettings:
        if self.environment == "development":
            return self
        for name in ("mqtt_password", "influx_password", "influx_token"):
            value: SecretStr | None = getattr(self, name)
            if value is not None and value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"TIANQU_INGEST_{name.upper()} is a placeholder; set a real secret outside "
                    "development"
                )
        if self.mqtt_username is None:
            raise ValueError("TIANQU_INGEST_MQTT_USERNAME is required outside development")
        return self

    @property
    def subscription(self) -> str:
        if self.mqtt_share_group:
            return f"$share/{self.mqtt_share_group}/{self.mqtt_topic}"
        return self.mqtt_topic
