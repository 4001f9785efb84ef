"""The fast PUBLISH parser, on packet bodies laid out as the MQTT 3.1.1 and 5.0 specs draw them."""

from __future__ import annotations

import pytest

from ingest.fastclient import parse_publish

TOPIC = b"tianqu/v1/a/b/parking/pk-1/telemetry"
PAYLOAD = b'{"x": 1}'


def _body(qos: int, mid: int, properties: bytes | None) -> tuple[int, bytes]:
    command = 0x30 | (qos << 1)
    body = len(TOPIC).to_bytes(2, "big") + TOPIC
    if qos:
        body += mid.to_bytes(2, "big")
    if properties is not None:  # MQTT 5: property length (variable-length integer), properties
        length = len(properties)
        encoded = b""
        while True:
            byte, length = length % 128, length // 128
            encoded += bytes([byte | (0x80 if length else 0)])
            if not length:
                break
        body += encoded + properties
    return command, body + PAYLOAD


# 0x02 message expiry (4 bytes); 0x26 user property (two UTF-8 strings); long enough that the
# property length needs two bytes.
PROPERTIES = b"\x02\x00\x00\x00\x1e" + b"\x26\x00\x06source\x00\xc8" + b"x" * 200


@pytest.mark.parametrize("qos", [0, 1])
@pytest.mark.parametrize("properties", [None, b"", PROPERTIES])
def test_topic_mid_and_payload_come_out_of_any_publish(qos: int, properties: bytes | None) -> None:
    command, body = _body(qos, 4711, properties)
    mid, got_qos, topic, payload = parse_publish(command, body, properties is not None)
    assert got_qos == qos
    assert topic == TOPIC
    assert payload == PAYLOAD
    assert mid == (4711 if qos else 0)
