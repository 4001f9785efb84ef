from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from alerting.decode import Decoder, Skipped, Status, Telemetry
from alerting.settings import AlertingSettings
from city.kinds import Kind
from city.rejections import Reason
from city.topology import default_city
from tests.support import readings as r


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


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("tianqu/v1/yuanqiao/dongzhan/manhole/mh-x-001/telemetry", b"{not json", Reason.BAD_JSON),
        ("tianqu/v1/yuanqiao/dongzhan/manhole/mh-x-001/telemetry", b'{"device_id": 1}',
         Reason.INVALID_FIELD),
        ("tianqu/v1/nowhere/dongzhan/manhole/mh-x-001/telemetry", b"{}", Reason.UNKNOWN_AREA),
        ("tianqu/v1/yuanqiao/dongzhan/toaster/mh-x-001/telemetry", b"{}", Reason.UNKNOWN_KIND),
        ("somewhere/else", b"{}", Reason.BAD_TOPIC),
    ],
)  # fmt: skip
def test_malformed_messages_are_skipped_with_a_reason(
    topic: str, payload: bytes, reason: Reason
) -> None:
    decoded = Decoder(default_city()).decode(topic, payload, r.now_ms())
    assert isinstance(decoded, Skipped)
    assert decoded.reason is reason


def test_valid_messages_decode_and_the_checks_match_the_ingester() -> None:
    decoder = Decoder(default_city())
    topic = r.topic_for(Kind.MANHOLE, "mh-x-001")
    reading = r.manhole("mh-x-001")
    assert isinstance(decoder.decode(topic, reading.model_dump_json().encode(), r.now_ms()),
                      Telemetry)  # fmt: skip
    other = r.manhole("mh-y-001").model_dump_json().encode()
    mismatch = decoder.decode(topic, other, r.now_ms())
    assert isinstance(mismatch, Skipped)
    assert mismatch.reason is Reason.TOPIC_MISMATCH
    stale = r.manhole("mh-x-001", ts=r.now_ms() - 8 * 86_400_000).model_dump_json().encode()
    old = decoder.decode(topic, stale, r.now_ms())
    assert isinstance(old, Skipped)
    assert old.reason is Reason.STALE_OR_FUTURE
    wrong_road = r.streetlight("sl-x-001").model_copy(update={"road": "sanba-donglu"})
    lamp_topic = r.topic_for(Kind.STREETLIGHT, "sl-x-001")
    refused = decoder.decode(lamp_topic, wrong_road.model_dump_json().encode(), r.now_ms())
    assert isinstance(refused, Skipped)
    assert refused.reason is Reason.UNKNOWN_AREA
    status = decoder.decode(r.topic_for(Kind.MANHOLE, "mh-x-001", "status"),
                            b'{"online": true, "lat": 37.4, "lon": 116.4}', r.now_ms())  # fmt: skip
    assert isinstance(status, Status)
    assert status.status.lat == 37.4
