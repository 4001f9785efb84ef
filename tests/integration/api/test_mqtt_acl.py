"""Devices can only speak as themselves: the generated password and ACL files on a real broker.

mosquitto runs with ``allow_anonymous false`` and the files the API renders (``$7$`` hashes made
in Python, a ``user`` block per device); the API reloads it through a pid file, as on the local
platform. The ingester's login reads everything, so "nothing arrived" is checked as the ingester
sees it, with an allowed marker message sent afterwards on the same connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.crud import gateways
from api.mqtt.pki import DevPki
from city.kinds import Kind
from city.topics import device_topic
from devstack.configs import TlsFiles
from devstack.ports import free_port
from devstack.processes import Broker, InfluxServer, make_broker
from tests.integration.api.conftest import AREAS, World, build_world, make_settings
from tests.integration.api.mqtt_clients import (
    ACCEPTED,
    NOT_AUTHORISED,
    Session,
    Tls,
    connect,
    refused,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"


@dataclass
class Net:
    world: World
    broker: Broker
    pki: DevPki
    ingest_password: str
    tmp: Path

    @property
    def port(self) -> int:
        return self.broker.port

    def device(self, area: str) -> tuple[str, str]:
        device_id = self.world.devices[area]
        return device_id, self.world.passwords[device_id]

    def topic(self, area: str, device_id: str, channel: str = "telemetry") -> str:
        township, village = AREAS[area]
        return device_topic(
            township,
            village,
            Kind.PARKING,
            device_id,
            "status" if channel == "status" else "telemetry",
        )

    def ingester(self) -> Session:
        session = connect(HOST, self.port, "ingest", self.ingest_password)
        assert session.connack == 0
        assert session.subscribe("tianqu/v1/#") == 1
        return session

    def login(self, username: str, password: str, **kw: object) -> Session:
        """Connect once the broker has reloaded the login (SIGHUP is asynchronous)."""
        wait_until(
            lambda: not refused(HOST, self.port, username, password), what=f"{username} login"
        )
        session = connect(HOST, self.port, username, password)
        assert session.connack == 0
        return session


@pytest.fixture(scope="module")
def net(
    tmp_path_factory: pytest.TempPathFactory, influxd: InfluxServer, dev_pki: DevPki
) -> Iterator[Net]:
    tmp = tmp_path_factory.mktemp("acl")
    pid_file = tmp / "broker.pid"
    settings = make_settings(tmp, influxd, dev_pki, mqtt_reload_pid_file=pid_file)
    assert settings.mqtt_password_file is not None and settings.mqtt_acl_file is not None
    settings.mqtt_password_file.parent.mkdir(parents=True)
    settings.mqtt_password_file.write_text("")
    settings.mqtt_acl_file.write_text("")
    broker = make_broker(
        tmp,
        allow_anonymous=False,
        password_file=settings.mqtt_password_file,
        acl_file=settings.mqtt_acl_file,
        tls=TlsFiles(dev_pki.ca_cert, dev_pki.server_cert, dev_pki.server_key),
        tls_port=free_port(),
        cert_port=free_port(),
        pid_file=pid_file,
    )
    broker.start()
    try:
        for world in build_world(settings):
            with world.app.state.database.session() as session:
                password = gateways.upsert_service_account(session, "ingest")
                assert world.app.state.broker_files.sync(session)
            wait_until(
                lambda p=password: not refused(HOST, broker.port, "ingest", p), what="ingest"
            )
            yield Net(world, broker, dev_pki, password, tmp)
    finally:
        broker.stop()


def test_a_device_publishes_its_own_topics(net: Net) -> None:
    ingester = net.ingester()
    device_id, password = net.device("A")
    device = net.login(device_id, password)
    try:
        assert device.publish(net.topic("A", device_id), b"own") in ACCEPTED
        assert device.publish(net.topic("A", device_id, "status"), b"status") in ACCEPTED
        ingester.wait_for(net.topic("A", device_id, "status"), b"status")
    finally:
        device.close()
        ingester.close()


def test_a_device_cannot_speak_as_another_device_or_area(net: Net) -> None:
    ingester = net.ingester()
    device_id, password = net.device("A")
    other_id, _ = net.device("B")
    device = net.login(device_id, password)
    forged = [
        net.topic("B", other_id),  # another device
        net.topic("A", other_id),  # another device's id in its own area
        net.topic("B", device_id),  # itself, claiming another village
        net.topic("C", device_id),  # itself, claiming another township
        device_topic("yuanqiao", "dongzhan", Kind.WATER, device_id, "telemetry"),  # another kind
        f"tianqu/v1/yuanqiao/dongzhan/parking/{device_id}/telemetry/extra",
        "$SYS/broker/forged",
    ]
    try:
        for topic in forged:
            assert device.publish(topic, b"forged") == NOT_AUTHORISED, topic
        marker = net.topic("A", device_id)
        device.publish(marker, b"marker")
        received = ingester.wait_for(marker, b"marker")
        assert [m for m in received if m[1] == b"forged"] == []
    finally:
        device.close()
        ingester.close()


def test_a_device_cannot_read_the_tree(net: Net) -> None:
    """mosquitto 2.0 grants a wildcard SUBSCRIBE and checks each message against the read ACL
    on delivery, so the proof is that nothing is delivered. Order makes that deterministic:
    B's message is routed (its PUBACK is back) before A's own PUBACK is queued to A, so had the
    message been allowed, A would have received it before that PUBACK."""
    device_id, password = net.device("A")
    other_id, other_password = net.device("B")
    reader = net.login(device_id, password)
    writer = net.login(other_id, other_password)
    ingester = net.ingester()
    try:
        for topic in ("#", "tianqu/v1/#", net.topic("B", other_id), "$share/x/#"):
            reader.subscribe(topic)
        assert writer.publish(net.topic("B", other_id), b"private to B") in ACCEPTED
        ingester.wait_for(net.topic("B", other_id), b"private to B")
        assert reader.publish(net.topic("A", device_id), b"flush") in ACCEPTED
        assert reader.received == []
    finally:
        for session in (reader, writer, ingester):
            session.close()


def test_anonymous_and_wrong_passwords_are_refused(net: Net) -> None:
    device_id, password = net.device("A")
    assert refused(HOST, net.port, None, None)
    assert refused(HOST, net.port, device_id, password + "x")
    assert refused(HOST, net.port, net.device("B")[0], password)
    assert refused(HOST, net.port, "ingest", password)


def test_the_ingester_reads_everything_and_writes_nothing(net: Net) -> None:
    ingester = net.ingester()
    try:
        assert ingester.subscribe("$share/ingest/tianqu/v1/#") == 1
        assert ingester.publish(net.topic("A", net.device("A")[0]), b"x") == NOT_AUTHORISED
    finally:
        ingester.close()


def test_decommissioning_revokes_the_login_after_reload(net: Net) -> None:
    w = net.world
    device_id = f"pk-revoke-{uuid.uuid4().hex[:6]}"
    password = w.register("A", device_id)["credentials"]["password"]
    net.login(device_id, password).close()
    response = w.client.delete(f"/devices/{device_id}", headers=w.headers("district"))
    assert response.status_code == 200
    wait_until(lambda: refused(HOST, net.port, device_id, password), what="login revoked")


def test_rotating_the_password_retires_the_old_one(net: Net) -> None:
    w = net.world
    device_id = f"pk-rotate-{uuid.uuid4().hex[:6]}"
    old = w.register("A", device_id)["credentials"]["password"]
    net.login(device_id, old).close()
    rotated = w.post("village-a", f"/devices/{device_id}/credentials")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["password"]
    wait_until(lambda: refused(HOST, net.port, device_id, old), what="old password refused")
    net.login(device_id, new).close()


def test_tls_password_login(net: Net) -> None:
    device_id, password = net.device("A")
    tls = Tls(str(net.pki.ca_cert))
    port = net.broker.config.tls_port
    assert port is not None
    session = connect(HOST, port, device_id, password, tls=tls)
    try:
        assert session.connack == 0
        assert session.publish(net.topic("A", device_id), b"over tls") in ACCEPTED
        assert session.publish(net.topic("B", device_id), b"forged") == NOT_AUTHORISED
    finally:
        session.close()
    assert refused(HOST, port, device_id, "wrong", tls=tls)


def test_client_certificate_login_uses_the_cn_as_identity(net: Net) -> None:
    w = net.world
    device_id = f"pk-cert-{uuid.uuid4().hex[:6]}"
    password = w.register("A", device_id)["credentials"]["password"]
    issued = w.post("village-a", f"/devices/{device_id}/certificate", json={})
    assert issued.status_code == 200, issued.text
    body = issued.json()
    cert, key = net.tmp / f"{device_id}.crt", net.tmp / f"{device_id}.key"
    cert.write_text(body["cert_pem"])
    key.write_text(body["key_pem"])
    port = net.broker.config.cert_port
    assert port is not None
    tls = Tls(str(net.pki.ca_cert), str(cert), str(key))
    ingester = net.ingester()
    try:
        wait_until(lambda: refused(HOST, net.port, device_id, password), what="password retired")
        session = connect(HOST, port, tls=tls)
        assert session.connack == 0
        assert session.publish(net.topic("B", device_id), b"forged") == NOT_AUTHORISED
        assert session.publish(net.topic("A", device_id), b"by certificate") in ACCEPTED
        received = ingester.wait_for(net.topic("A", device_id), b"by certificate")
        assert [m for m in received if m[1] == b"forged"] == []
        session.close()
        # Without a certificate that listener lets nobody in, password or not.
        assert refused(HOST, port, device_id, password, tls=Tls(str(net.pki.ca_cert)))
        # Decommissioned: the certificate still verifies, but its ACL block is gone.
        assert (
            w.client.delete(f"/devices/{device_id}", headers=w.headers("district")).status_code
            == 200
        )
        session = connect(HOST, port, tls=tls)
        try:
            wait_until(
                lambda: session.publish(net.topic("A", device_id), b"late") == NOT_AUTHORISED,
                what="certificate device denied after decommissioning",
            )
        finally:
            session.close()
    finally:
        ingester.close()


def test_a_township_gateway_publishes_for_its_township_only(net: Net) -> None:
    w = net.world
    gateway_id = f"gw-{uuid.uuid4().hex[:6]}"
    created = w.post(
        "township-yuanqiao",
        "/gateways",
        json={
            "gateway_id": gateway_id,
            "name": "袁桥 LoRaWAN",
            "level": "township",
            "township": "yuanqiao",
        },
    )
    assert created.status_code == 201, created.text
    login = created.json()["login"]
    gateway = net.login(login["username"], login["password"])
    try:
        assert gateway.publish(net.topic("A", net.device("A")[0]), b"gw") in ACCEPTED
        assert gateway.publish(net.topic("B", net.device("B")[0]), b"gw") in ACCEPTED
        assert gateway.publish(net.topic("C", net.device("C")[0]), b"gw") == NOT_AUTHORISED
    finally:
        gateway.close()


def test_a_device_list_gateway_publishes_for_its_devices_only(net: Net) -> None:
    w = net.world
    gateway_id = f"gw-{uuid.uuid4().hex[:6]}"
    a_device = net.device("A")[0]
    created = w.post(
        "district",
        "/gateways",
        json={
            "gateway_id": gateway_id,
            "name": "NB-IoT",
            "level": "village",
            "township": "yuanqiao",
            "village": "dongzhan",
            "acl": "devices",
            "devices": [a_device],
        },
    )
    assert created.status_code == 201, created.text
    login = created.json()["login"]
    gateway = net.login(login["username"], login["password"])
    try:
        assert gateway.publish(net.topic("A", a_device), b"gw") in ACCEPTED
        assert gateway.publish(net.topic("A", "pk-dongzhan-99999"), b"gw") == NOT_AUTHORISED
    finally:
        gateway.close()
