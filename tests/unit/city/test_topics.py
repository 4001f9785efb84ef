from __future__ import annotations

import pytest

from city.kinds import Kind
from city.topics import TopicError, device_topic, parse_topic


def test_topics_round_trip() -> None:
    topic = device_topic("yuanqiao", "dongzhan", Kind.PARKING, "pk-dongzhan-00001", "telemetry")
    assert topic == "tianqu/v1/yuanqiao/dongzhan/parking/pk-dongzhan-00001/telemetry"
    parsed = parse_topic(topic)
    assert (parsed.township, parsed.village, parsed.kind, parsed.device_id, parsed.channel) == (
        "yuanqiao",
        "dongzhan",
        Kind.PARKING,
        "pk-dongzhan-00001",
        "telemetry",
    )
    assert str(parsed) == topic


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("tianqu/v1/yuanqiao/dongzhan/parking/pk-1", "bad_topic"),
        ("tianqu/v1/yuanqiao/dongzhan/parking/pk-dongzhan-00001/telemetry/extra", "bad_topic"),
        ("tianqu/v1/YuanQiao/dongzhan/parking/pk-dongzhan-00001/telemetry", "bad_topic"),
        ("tianqu/v1/yuanqiao/dongzhan/parking/pk dongzhan/telemetry", "bad_topic"),
        ("tianqu/v1/yuanqiao/dongzhan/parking/pk-dongzhan-00001/config", "bad_topic"),
        ("tianqu/v2/yuanqiao/dongzhan/parking/pk-dongzhan-00001/telemetry", "bad_topic"),
        ("tianqu/v1/yuanqiao/dongzhan/toaster/tt-00001/telemetry", "unknown_kind"),
    ],
)
def test_malformed_topics_are_refused_with_a_reason(topic: str, reason: str) -> None:
    with pytest.raises(TopicError) as err:
        parse_topic(topic)
    assert err.value.reason == reason
