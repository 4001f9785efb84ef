"""The API's settings: environment variables prefixed ``TIANQU_API_``, one class.

Outside development the service refuses to start with a placeholder or short secret: a JWT
secret that anyone can guess lets anyone mint a district administrator's token.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.notify.settings import NotifySettings

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "admin", "tianqu", "jwt"}
)
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIANQU_API_", extra="forbid")

    environment: Literal["development", "production"] = "development"
    # Empty in development means "a random secret for this process": tokens then die with it.
    secret_key: SecretStr = SecretStr("")
    token_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 86_400)
    jwt_issuer: str = "tianqu-api"

    state_dir: Path = Path(".state/api")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite under state_dir"
    )
    city_file: Path | None = None

    influx_url: str = "http://127.0.0.1:18086"
    influx_database: str = Field(default="tianqu", pattern=r"^[A-Za-z0-9_-]+$")
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_token: SecretStr | None = None
    influx_timeout_s: float = Field(default=10.0, gt=0, le=120)

    # Broker provisioning: where mosquitto's password and ACL files live and how to reload it.
    mqtt_password_file: Path | None = None
    mqtt_acl_file: Path | None = None
    mqtt_reload_pid_file: Path | None = Field(
        default=None, description="send SIGHUP to the pid in this file after a change"
    )
    mqtt_reload_command: str | None = Field(
        default=None, description="or run this command (e.g. 'systemctl reload mosquitto')"
    )
    mqtt_ca_cert: Path | None = Field(default=None, description="CA that signs device certs")
    mqtt_ca_key: Path | None = None
    device_cert_days: int = Field(default=825, ge=1, le=3650)

    max_body_bytes: int = Field(default=8_000_000, ge=1024, le=100_000_000)
    rate_limit: str = Field(
        default="600/minute", description="per user or API key, in the 'limits' notation"
    )
    login_rate_limit: str = "10/minute"
    history_max_range_days: int = Field(default=93, ge=1, le=3660)
    history_max_points: int = Field(default=5000, ge=10, le=100_000)

    # Incidents (三级机长制): escalation timeouts and deadlines come from the rules file.
    rules_file: Path | None = Field(
        default=None, description="default: $TIANQU_RULES_FILE or city/data/rules.yaml"
    )
    background_enabled: bool = Field(
        default=True,
        description="run the incident scheduler (escalation timers, the InfluxDB outbox, KPI "
        "writes) and the notification worker in this process",
    )
    scheduler_interval_s: float = Field(default=1.0, ge=0.05, le=60)
    timer_lease_s: int = Field(
        default=60, ge=5, le=3600, description="how long a claimed timer stays with one replica"
    )
    kpi_every_s: int = Field(default=60, ge=5, le=3600)
    instance_name: str | None = Field(
        default=None, max_length=60, description="names this replica in claims; default host:pid"
    )
    # Grafana's webhook contact point: when a secret is set, every call must carry a valid
    # hex HMAC-SHA256 of the body (or of "timestamp:body" when the timestamp header is sent).
    grafana_webhook_secret: SecretStr | None = None
    grafana_signature_header: str = "X-Grafana-Alerting-Signature"
    grafana_timestamp_header: str = "X-Grafana-Alerting-Signature-Timestamp"
    grafana_signature_max_age_s: int = Field(default=300, ge=10, le=86_400)
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description="where people open the cockpit; notifications link incidents under it",
    )
    # Notifications to incident staff (api/notify): TIANQU_API_NOTIFY_* variables.
    notify: NotifySettings = Field(default_factory=NotifySettings)

    @model_validator(mode="after")
    def _no_placeholder_notify_secrets_outside_development(self) -> Settings:
        if self.environment != "development" and (problems := self.notify.secret_problems()):
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _no_placeholder_secret_outside_development(self) -> Settings:
        if self.environment == "development":
            return self
        secret = self.secret_key.get_secret_value()
        if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                "TIANQU_API_SECRET_KEY is a placeholder or shorter than "
                f"{MIN_SECRET_LENGTH} characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        if self.grafana_webhook_secret is not None and (
            self.grafana_webhook_secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
        ):
            raise ValueError("TIANQU_API_GRAFANA_WEBHOOK_SECRET is a placeholder")
        return self

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'api.db'}"

    def signing_key(self) -> str:
        return self.secret_key.get_secret_value() or _process_secret()


@lru_cache(maxsize=1)
def _process_secret() -> str:
    return secrets.token_urlsafe(48)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
