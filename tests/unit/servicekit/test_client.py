"""The fast PUBLISH parser, on packet bodies laid out as the MQTT 3.1.1 and 5.0 specs draw them."""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.exception import MalformedPacket

from servicekit import FastClient, packet_bounds, parse_publish

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


def _packet(command: int, body: bytes) -> bytes:
    length = len(body)
    encoded = b""
    while True:
        byte, length = length % 128, length // 128
        encoded += bytes([byte | (0x80 if length else 0)])
        if not length:
            break
    return bytes([command]) + encoded + body


@pytest.mark.parametrize("size", [0, 5, 127, 128, 16_383, 16_384, 200_000])
def test_packet_bounds_find_the_body_of_any_length(size: int) -> None:
    packet = _packet(0x32, b"x" * size)
    start, end = packet_bounds(packet + b"\xc0", 0) or (0, 0)
    assert end - start == size
    assert packet[start:end] == b"x" * size
    assert packet_bounds(packet[:-1], 0) is None or size == 0


def test_a_remaining_length_over_four_bytes_is_malformed() -> None:
    with pytest.raises(MalformedPacket):
        packet_bounds(b"\x30\xff\xff\xff\xff\x01", 0)


def test_packets_split_anywhere_across_reads_are_delivered_whole_and_in_order() -> None:
    """Feed PUBLISH packets and a PINGRESP through a real socket, cut at every byte."""
    publishes = [
        _packet(
            0x32,
            len(TOPIC).to_bytes(2, "big")
            + TOPIC
            + i.to_bytes(2, "big")
            + b"\x00"
            + PAYLOAD
            + bytes([i]),
        )
        for i in range(1, 6)
    ]
    # a PINGRESP between two publishes: paho's business, not the fast path's
    stream = b"".join(publishes[:2]) + _packet(0xD0, b"") + b"".join(publishes[2:])
    others: list[int] = []
    for split in range(1, len(stream)):
        delivered: list[tuple[int, bytes]] = []

        def collect(mid: int, qos: int, topic: str, payload: bytes, out=delivered) -> None:
            out.append((mid, payload))

        def other(command: int, body: bytes) -> MQTTErrorCode:
            others.append(command)
            return MQTTErrorCode.MQTT_ERR_SUCCESS

        client = FastClient(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, on_delivery=collect)
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        client._sock = ours  # type: ignore[assignment]
        client._handle_other = other  # type: ignore[method-assign]
        try:
            for chunk in (stream[:split], stream[split:]):
                theirs.sendall(chunk)
                assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
        finally:
            ours.close()
            theirs.close()
        assert delivered == [(i, PAYLOAD + bytes([i])) for i in range(1, 6)], split
    assert others == [0xD0] * (len(stream) - 1)
