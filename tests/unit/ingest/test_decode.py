from __future__ import annotations

import orjson
import pytest

from city.kinds import Kind
from city.rejections import Reason
from city.topology import default_city
from ingest.decode import Decoder, Limits, Rejected
from tests.support import readings as r

NOW = 1_790_000_000_000


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(default_city(), Limits(max_payload_bytes=1024, max_age_ms=3_600_000))


def _json(reading: object, **changes: object) -> bytes:
    return orjson.dumps({**orjson.loads(reading.model_dump_json()), **changes})  # type: ignore[attr-defined]


def test_a_valid_reading_becomes_its_line(decoder: Decoder) -> None:
    reading = r.manhole(ts=NOW - 10)
    outcome = decoder.decode(r.topic_for(Kind.MANHOLE, reading.device_id), _json(reading), NOW)
    assert isinstance(outcome, str)
    assert outcome.startswith("manhole,device=mh-test-00001,township=yuanqiao,village=dongzhan ")


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "detail"),
    [
        ("tianqu/v1/x", b"{}", Reason.BAD_TOPIC, "is not tianqu/v1/"),
        ("tianqu/v1/yuanqiao/dongzhan/lamp/lp-1234/telemetry", b"{}", Reason.UNKNOWN_KIND, "lamp"),
        (
            "tianqu/v1/changhe/dongzhan/parking/pk-test-00001/telemetry",
            b"{}",
            Reason.UNKNOWN_AREA,
            "'changhe' / village 'dongzhan'",
        ),
        (None, b"x" * 2000, Reason.OVERSIZED, "2000 bytes exceeds 1024"),
        (None, b"{", Reason.BAD_JSON, "not a JSON object"),
        (None, b'"a string"', Reason.BAD_JSON, "not a JSON object"),
        (
            None,
            _json(r.parking(ts=NOW), battery_pct=101),
            Reason.OUT_OF_RANGE,
            "battery_pct: Input should be less than or equal to 100 (got 101)",
        ),
        (None, _json(r.parking(ts=NOW), occupied=1), Reason.INVALID_FIELD, "occupied"),
        (None, _json(r.parking(ts=NOW), seq=None), Reason.INVALID_FIELD, "seq"),
        (
            None,
            _json(r.parking(ts=NOW), device_id="pk-someone-else"),
            Reason.TOPIC_MISMATCH,
            "'pk-someone-else' differs from the topic's 'pk-test-00001'",
        ),
        (None, _json(r.manhole("pk-test-00001", ts=NOW)), Reason.TOPIC_MISMATCH, "kind"),
        (None, _json(r.parking(ts=NOW - 7_200_000)), Reason.STALE_OR_FUTURE, "7200 s behind"),
        (None, _json(r.parking(ts=NOW + 600_000)), Reason.STALE_OR_FUTURE, "600 s ahead of"),
    ],
)
def test_each_refusal_names_its_reason_and_what_is_wrong(
    decoder: Decoder, topic: str | None, payload: bytes, reason: Reason, detail: str
) -> None:
    outcome = decoder.decode(topic or r.topic_for(Kind.PARKING, "pk-test-00001"), payload, NOW)
    assert isinstance(outcome, Rejected)
    assert outcome.reason is reason
    assert detail in outcome.detail


def test_a_road_or_river_outside_the_roster_is_an_unknown_area(decoder: Decoder) -> None:
    lamp = r.streetlight(ts=NOW)
    wrong_road = _json(lamp, road="tianqu-donglu")  # a real road, but in another village
    outcome = decoder.decode(r.topic_for(Kind.STREETLIGHT, lamp.device_id), wrong_road, NOW)
    assert isinstance(outcome, Rejected) and outcome.reason is Reason.UNKNOWN_AREA
    station = r.river(ts=NOW)
    outcome = decoder.decode(
        r.topic_for(Kind.WATER, station.device_id), _json(station, river="huanghe"), NOW
    )
    assert isinstance(outcome, Rejected) and outcome.reason is Reason.UNKNOWN_AREA


def test_a_status_without_a_timestamp_is_stamped_at_reception(decoder: Decoder) -> None:
    outcome = decoder.decode(
        r.topic_for(Kind.PARKING, "pk-test-00001", "status"), b'{"online": false}', NOW
    )
    assert isinstance(outcome, str)
    assert outcome.endswith(f"online=0i {NOW}")
