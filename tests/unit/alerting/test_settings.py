from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from alerting.settings import AlertingSettings


def test_production_refuses_placeholder_or_missing_secrets() -> None:
    with pytest.raises(ValidationError, match="API_KEY"):
        AlertingSettings(
            environment="production",
            mqtt_username="alerting",
            mqtt_password=SecretStr("a-real-long-password"),
            api_key=SecretStr("changeme"),
        )
    with pytest.raises(ValidationError, match="MQTT_PASSWORD"):
        AlertingSettings(environment="production", mqtt_username="alerting")
    fine = AlertingSettings(
        environment="production",
        mqtt_username="alerting",
        mqtt_password=SecretStr("a-real-long-password"),
        api_key=SecretStr("tqk_abc_def"),
        api_url="http://api:8000/",
    )
    assert fine.events_url == "http://api:8000/alerts/events"
    assert fine.mqtt_client_id == "tianqu-alerting"


def test_development_runs_without_secrets() -> None:
    assert AlertingSettings().api_key is None


def test_shared_broker_fields_keep_the_service_prefix_and_its_own_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIANQU_ALERTING_MQTT_PORT", "1999")
    monkeypatch.setenv("TIANQU_ALERTING_MAX_AGE_S", "60")
    monkeypatch.setenv("TIANQU_INGEST_MQTT_PORT", "2999")  # another service's: not ours
    s = AlertingSettings()
    options = s.mqtt_options(s.mqtt_topic)
    assert (options.port, options.client_id, options.receive_maximum) == (
        1999,
        "tianqu-alerting",
        2000,
    )
    assert s.inbound_limits().max_age_ms == 60_000
