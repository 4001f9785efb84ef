from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from ingest.settings import IngestSettings
from servicekit.settings import SubscriberSettings


class _Probe(SubscriberSettings):
    model_config = SettingsConfigDict(env_prefix="TIANQU_PROBE_", extra="forbid")
    mqtt_client_id: str = "probe"


def test_outside_development_a_set_secret_must_be_real_and_a_broker_login_is_required() -> None:
    with pytest.raises(ValidationError, match="TIANQU_INGEST_INFLUX_PASSWORD is missing or a"):
        IngestSettings(
            environment="production",
            mqtt_username="ingest",
            mqtt_password=SecretStr("a-long-real-one"),
            influx_password=SecretStr("Change-Me"),
        )
    with pytest.raises(ValidationError, match="TIANQU_INGEST_MQTT_USERNAME is required"):
        IngestSettings(environment="production", mqtt_password=SecretStr("a-long-real-one"))
    # Optional secrets may be absent (InfluxDB without auth on a private network).
    fine = IngestSettings(environment="production", mqtt_username="ingest")
    assert fine.influx_password is None


def test_development_takes_placeholders() -> None:
    assert IngestSettings(influx_password=SecretStr("changeme")).environment == "development"


def test_options_and_limits_come_from_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIANQU_PROBE_MQTT_PASSWORD", "pw-1")
    monkeypatch.setenv("TIANQU_PROBE_MAX_FUTURE_S", "7")
    probe = _Probe()
    options = probe.mqtt_options("tianqu/v1/#")
    assert (options.password, options.topic, options.client_id) == ("pw-1", "tianqu/v1/#", "probe")
    assert probe.inbound_limits().max_future_ms == 7000
    ingest = IngestSettings(mqtt_share_group="g")
    assert ingest.mqtt_options(ingest.subscription).topic.startswith("$share/g/")
