"""The ingester's settings: environment variables prefixed ``TIANQU_INGEST_``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import SubscriberSettings


class IngestSettings(SubscriberSettings):
    model_config = SettingsConfigDict(env_prefix="TIANQU_INGEST_", extra="forbid")

    # Each ingester its own client id; N of them share the work through a share group.
    mqtt_client_id: str = Field(default="tianqu-ingest-1", min_length=1, max_length=64)
    mqtt_share_group: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]+$", description="join $share/<group>/<topic>"
    )

    influx_url: str = "http://127.0.0.1:18086"
    influx_database: str = Field(default="tianqu", pattern=r"^[A-Za-z0-9_-]+$")
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_token: SecretStr | None = None
    influx_create_database: bool = True
    influx_timeout_s: float = Field(default=10.0, gt=0)

    batch_max_messages: int = Field(default=5000, ge=1, le=100_000)
    batch_max_age_ms: int = Field(default=200, ge=1, le=60_000)

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

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> IngestSettings:
        self.refuse_placeholders(
            "TIANQU_INGEST_", optional=("mqtt_password", "influx_password", "influx_token")
        )
        return self

    @property
    def subscription(self) -> str:
        if self.mqtt_share_group:
            return f"$share/{self.mqtt_share_group}/{self.mqtt_topic}"
        return self.mqtt_topic
