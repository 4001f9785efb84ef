"""The evaluator's settings: environment variables prefixed ``TIANQU_ALERTING_``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import SubscriberSettings


class AlertingSettings(SubscriberSettings):
    model_config = SettingsConfigDict(env_prefix="TIANQU_ALERTING_", extra="forbid")

    # Its own client id and persistent session: never the ingester's, never a shared group.
    mqtt_client_id: str = Field(default="tianqu-alerting", min_length=1, max_length=64)
    mqtt_receive_maximum: int = Field(default=2000, ge=1, le=65_535)

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

    health_host: str = "127.0.0.1"
    health_port: int = Field(default=9109, ge=0, le=65535, description="0 switches it off")
    drain_timeout_s: float = Field(default=10.0, gt=0)
    nice: int = Field(
        default=0,
        ge=0,
        le=19,
        description="added to the process's niceness: under CPU contention the ingester wins",
    )

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> AlertingSettings:
        self.refuse_placeholders("TIANQU_ALERTING_", required=("mqtt_password", "api_key"))
        return self

    @property
    def events_url(self) -> str:
        return self.api_url.rstrip("/") + "/" + self.api_events_path.lstrip("/")
