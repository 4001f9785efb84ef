"""mosquitto's files: ``$7$`` hashes as mosquitto_passwd makes them, exact-topic ACL blocks."""

from __future__ import annotations

import base64

import pytest

from api.mqtt.acl import (
    DeviceAccount,
    GatewayAccount,
    ServiceAccountEntry,
    render_acl,
    render_passwords,
)
from city.kinds import Kind
from servicekit.mqtt_passwords import mosquitto_hash, mosquitto_verify

# Made by `mosquitto_passwd -b pw alice s3cret` (mosquitto 2.0.11).
FROM_MOSQUITTO_PASSWD = "$7$101$pNU2Xd+nC/WsroNl$ZvYDWLyvqBqhyOVn9b+ERcPR19V4itWNt/9p9hrrEmtdvL3GNJT+fvYsAj0dL0MkbStAQ2y+4m8nyIGoeZ4dzA=="  # noqa: E501 - one hash, as the tool printed it


def test_our_hash_is_byte_for_byte_mosquitto_passwds() -> None:
    salt = base64.b64decode(FROM_MOSQUITTO_PASSWD.split("$")[3])
    assert mosquitto_hash("s3cret", salt=salt) == FROM_MOSQUITTO_PASSWD
    assert mosquitto_verify(FROM_MOSQUITTO_PASSWD, "s3cret")
    assert not mosquitto_verify(FROM_MOSQUITTO_PASSWD, "s3cret ")


def test_hashes_are_salted() -> None:
    assert mosquitto_hash("same") != mosquitto_hash("same")


@pytest.mark.parametrize("bad", ["", "two\nlines", "nul\0"])
def test_unusable_passwords_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="one line"):
        mosquitto_hash(bad)


def _device(
    device_id: str, village: str = "dongzhan", password: str | None = "$7$x"
) -> DeviceAccount:
    return DeviceAccount(device_id, Kind.PARKING, "yuanqiao", village, password)


def test_each_device_gets_exactly_its_two_topics() -> None:
    acl = render_acl([_device("pk-a-00001"), _device("pk-b-00001", "datun")], [], [])
    assert "pattern" not in acl and "+" not in acl and "#" not in acl.split("\n", 1)[1]
    assert (
        "\nuser pk-a-00001\n"
        "topic write tianqu/v1/yuanqiao/dongzhan/parking/pk-a-00001/telemetry\n"
        "topic write tianqu/v1/yuanqiao/dongzhan/parking/pk-a-00001/status\n"
    ) in acl
    assert "topic write tianqu/v1/yuanqiao/datun/parking/pk-b-00001/status\n" in acl


def test_services_read_gateways_write_their_area() -> None:
    acl = render_acl(
        [],
        [
            GatewayAccount("gw-t", "$7$g", "yuanqiao", None, "area"),
            GatewayAccount("gw-d", "$7$g", None, None, "area"),
            GatewayAccount(
                "gw-l", "$7$g", "yuanqiao", "dongzhan", "devices", (_device("pk-a-00001"),)
            ),
        ],
        [ServiceAccountEntry("ingest", "$7$i", "ingest")],
    )
    assert "\nuser ingest\ntopic read tianqu/v1/#\n" in acl
    assert "\nuser gw-t\ntopic write tianqu/v1/yuanqiao/#\n" in acl
    assert "\nuser gw-d\ntopic write tianqu/v1/#\n" in acl
    assert (
        "\nuser gw-l\ntopic write tianqu/v1/yuanqiao/dongzhan/parking/pk-a-00001/telemetry\n" in acl
    )
    assert "topic read" not in acl.replace("user ingest\ntopic read", "")


def test_certificate_devices_have_no_password_line() -> None:
    text = render_passwords(
        [_device("pk-a-00001"), _device("pk-c-00001", password=None)],
        [GatewayAccount("gw-t", "$7$g", "yuanqiao", None, "area")],
        [ServiceAccountEntry("ingest", "$7$i", "ingest")],
    )
    assert text == "ingest:$7$i\ngw-t:$7$g\npk-a-00001:$7$x\n"
