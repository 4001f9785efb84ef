"""The inbound checks every consumer of device traffic shares (the ingester's decode tests
cover the refusal details through its line-protocol output)."""

from __future__ import annotations

import pytest

from city.inbound import InboundChecker, Rejected, Status, Telemetry
from city.kinds import Kind
from city.rejections import Reason
from city.topology import default_city
from tests.support import readings as r


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
def test_malformed_messages_are_refused_with_a_reason(
    topic: str, payload: bytes, reason: Reason
) -> None:
    decoded = InboundChecker(default_city()).check(topic, payload, r.now_ms())
    assert isinstance(decoded, Rejected)
    assert decoded.reason is reason


def test_valid_messages_pass_and_contract_or_roster_breaches_are_refused() -> None:
    checker = InboundChecker(default_city())
    topic = r.topic_for(Kind.MANHOLE, "mh-x-001")
    reading = r.manhole("mh-x-001")
    assert isinstance(checker.check(topic, reading.model_dump_json().encode(), r.now_ms()),
                      Telemetry)  # fmt: skip
    other = r.manhole("mh-y-001").model_dump_json().encode()
    mismatch = checker.check(topic, other, r.now_ms())
    assert isinstance(mismatch, Rejected)
    assert mismatch.reason is Reason.TOPIC_MISMATCH
    stale = r.manhole("mh-x-001", ts=r.now_ms() - 8 * 86_400_000).model_dump_json().encode()
    old = checker.check(topic, stale, r.now_ms())
    assert isinstance(old, Rejected)
    assert old.reason is Reason.STALE_OR_FUTURE
    wrong_road = r.streetlight("sl-x-001").model_copy(update={"road": "sanba-donglu"})
    lamp_topic = r.topic_for(Kind.STREETLIGHT, "sl-x-001")
    refused = checker.check(lamp_topic, wrong_road.model_dump_json().encode(), r.now_ms())
    assert isinstance(refused, Rejected)
    assert refused.reason is Reason.UNKNOWN_AREA
    status = checker.check(r.topic_for(Kind.MANHOLE, "mh-x-001", "status"),
                            b'{"online": true, "lat": 37.4, "lon": 116.4}', r.now_ms())  # fmt: skip
    assert isinstance(status, Status)
    assert status.status.lat == 37.4
