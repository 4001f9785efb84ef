"""The simulator against a real mosquitto: valid payloads on the right topics, retained births,
last wills for devices that fall silent, offline statuses at a clean stop.

Device mode runs the real CLI (``python -m simulators run``) with its control endpoint and is
stopped with SIGTERM; gateway mode runs the publisher in-process with 2,000 devices.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from city.kinds import Kind
from city.telemetry import READING_ADAPTERS, DeviceStatus
from city.topics import parse_topic
from city.topology import default_city
from devstack.configs import TlsFiles
from devstack.ports import free_port, wait_for_port
from devstack.processes import Broker, make_broker
from simulators.clock import parse_instant
from simulators.fleet import build_fleet
from simulators.kinds import Intervals
from simulators.runner import RunConfig, run

pytestmark = pytest.mark.integration

EVENING = "2026-07-15T20:30:00+08:00"  # lamps on, so streetlights draw power


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool


class Collector:
    """A paho subscriber that keeps everything it receives."""

    def __init__(
        self, broker: Broker, topic: str = "tianqu/v1/#", login: tuple[str, str] | None = None
    ) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if login is not None:
            self.client.username_pw_set(*login)
        self.client.on_message = lambda _c, _u, msg: self._keep(msg)
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.on_connect = lambda c, *_args: c.subscribe(topic, qos=1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert subscribed.wait(10), "subscriber did not get its SUBACK"

    def _keep(self, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, msg.payload, bool(msg.retain)))

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def wait_for(
        self, condition: Callable[[list[Received]], bool], timeout: float
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.snapshot()
            if condition(seen):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout}s ({len(self.snapshot())} msgs)")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = make_broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def telemetry_kinds(messages: list[Received]) -> set[Kind]:
    return {parse_topic(m.topic).kind for m in messages if m.topic.endswith("/telemetry")}


def statuses(messages: list[Received]) -> dict[str, DeviceStatus]:
    """The latest status per device id."""
    latest: dict[str, DeviceStatus] = {}
    for m in messages:
        if m.topic.endswith("/status"):
            latest[parse_topic(m.topic).device_id] = DeviceStatus.model_validate_json(m.payload)
    return latest


def births_per_device(messages: list[Received], devices: int) -> bool:
    online = {
        parse_topic(m.topic).device_id
        for m in messages
        if m.topic.endswith("/status") and DeviceStatus.model_validate_json(m.payload).online
    }
    return len(online) == devices


def check_telemetry(messages: list[Received]) -> int:
    checked = 0
    for m in messages:
        if not m.topic.endswith("/telemetry"):
            continue
        topic = parse_topic(m.topic)
        reading = READING_ADAPTERS[topic.kind].validate_json(m.payload)
        assert reading.device_id == topic.device_id
        assert reading.kind == topic.kind.value
        checked += 1
    return checked


def retained_statuses(broker: Broker, expected: int) -> list[Received]:
    late = Collector(broker, "tianqu/v1/+/+/+/+/status")
    try:
        return late.wait_for(lambda seen: len(seen) >= expected, timeout=15)
    finally:
        late.close()


def test_device_mode_over_the_cli(broker: Broker) -> None:
    sub = Collector(broker)
    control = free_port()
    argv = [
        sys.executable, "-m", "simulators", "run", "--port", str(broker.port),
        "--devices", "100", "--seed", "5", "--mode", "device", "--speed", "120",
        "--rate-multiplier", "10", "--start", EVENING, "--control-port", str(control),
        "--status-every", "1",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        seen = sub.wait_for(lambda s: telemetry_kinds(s) == set(Kind), timeout=30)
        seen = sub.wait_for(lambda s: len(statuses(s)) == 100, timeout=15)
        births = statuses(seen)
        assert all(s.online and s.lat and s.lon and s.ts for s in births.values())
        # Births are retained: a newcomer learns every device's state at once.
        retained = retained_statuses(broker, 100)
        assert all(m.retain for m in retained)
        assert all(DeviceStatus.model_validate_json(m.payload).online for m in retained)

        # The broker restarts: every device reconnects (with backoff) and announces itself again.
        before = len(sub.snapshot())
        broker.restart()
        sub.wait_for(lambda s: births_per_device(s[before:], 100), timeout=30)
        sub.wait_for(lambda s: telemetry_kinds(s[before:]) == set(Kind), timeout=15)

        victim = next(d for d in births if d.startswith("pk-"))
        answer = httpx.post(
            f"http://127.0.0.1:{control}/scenarios", json={"spec": f"silent:device={victim}"}
        )
        assert answer.status_code == 201, answer.text
        seen = sub.wait_for(lambda s: not statuses(s)[victim].online, timeout=15)
        will = [m for m in seen if m.topic.endswith(f"/{victim}/status")][-1]
        assert DeviceStatus.model_validate_json(will.payload) == DeviceStatus(online=False)
        assert check_telemetry(seen) > 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped" in stderr and "device" in stderr
    # A clean stop leaves every device marked offline (each left with its will).
    after = sub.wait_for(lambda s: not any(x.online for x in statuses(s).values()), timeout=15)
    assert len(statuses(after)) == 100
    sub.close()


def test_gateway_mode_carries_two_thousand_devices(broker: Broker) -> None:
    sub = Collector(broker)
    config = RunConfig(
        port=broker.port,
        devices=2000,
        seed=3,
        mode="gateway",
        gateways=3,
        speed=120,
        intervals=Intervals().scaled(10),
        start=parse_instant(EVENING),
        status_every=3600,
        malformed_rate=0.0,
    )
    holder: dict[str, object] = {}

    async def main() -> dict[str, object]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        holder["stop"] = lambda: loop.call_soon_threadsafe(stop.set)
        return await run(config, stop=stop, status_out=None)

    thread = threading.Thread(target=lambda: holder.update(final=asyncio.run(main())))
    thread.start()
    try:
        seen = sub.wait_for(
            lambda s: len(statuses(s)) == 2000 and telemetry_kinds(s) == set(Kind), timeout=40
        )
        assert all(s.online for s in statuses(seen).values())
        retained = retained_statuses(broker, 2000)
        assert len({m.topic for m in retained}) == 2000 and all(m.retain for m in retained)
        # A broker restart: the gateways come back, re-announce their devices, carry on.
        before = len(sub.snapshot())
        broker.restart()
        sub.wait_for(lambda s: births_per_device(s[before:], 2000), timeout=30)
        sub.wait_for(lambda s: telemetry_kinds(s[before:]) == set(Kind), timeout=15)
    finally:
        stop = holder.get("stop")
        assert callable(stop)
        stop()
        thread.join(timeout=60)
    final = holder["final"]
    assert isinstance(final, dict)
    assert final["dropped"] == 0 and final["sent"] == final["acked"] > 8000
    assert final["connection_losses"] == 3  # each gateway lost the broker once
    seen = sub.wait_for(lambda s: not any(x.online for x in statuses(s).values()), timeout=20)
    assert check_telemetry(seen) > 2000
    sub.close()


def test_per_device_and_gateway_credentials_against_an_acl(tmp_path: Path) -> None:
    """Devices log in as themselves and may write only their own topics; a wrong password is
    refused and retried, never a crash."""
    fleet_size = 12
    placements = build_fleet(default_city(), fleet_size, seed=2).placements
    passwords = {p.device_id: f"pw-{p.device_id}" for p in placements}
    wrong = placements[0].device_id
    logins = {**passwords, "reader": "reader-pw", "tq-gw": "gw-pw"}
    password_file = tmp_path / "passwd"
    for i, (user, password) in enumerate(logins.items()):
        flags = ["-c"] if i == 0 else []
        subprocess.run(
            ["mosquitto_passwd", *flags, "-b", str(password_file), user, password],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
    acl_file = tmp_path / "acl"
    acl_file.write_text(
        "user reader\ntopic read tianqu/v1/#\n\n"
        "user tq-gw\ntopic write tianqu/v1/#\n\n"
        "pattern write tianqu/v1/+/+/+/%u/#\n"
    )
    creds = tmp_path / "creds.json"
    creds.write_text(
        json.dumps(
            {
                "devices": {
                    d: {"password": "not-it" if d == wrong else pw} for d, pw in passwords.items()
                },
                "gateways": [{"client_id": "tq-gw-1", "username": "tq-gw", "password": "gw-pw"}],
            }
        )
    )
    broker = make_broker(
        tmp_path, allow_anonymous=False, password_file=password_file, acl_file=acl_file
    )
    broker.start()
    try:
        sub = Collector(broker, login=("reader", "reader-pw"))

        def config(mode: Literal["device", "gateway"]) -> RunConfig:
            return RunConfig(
                port=broker.port,
                devices=fleet_size,
                seed=2,
                mode=mode,
                speed=600,
                intervals=Intervals().scaled(20),
                start=parse_instant(EVENING),
                credentials=creds,
                duration=3.0,
                status_every=3600,
            )

        device_run = asyncio.run(run(config("device"), status_out=None))
        assert device_run["refused"] >= 1  # the wrong password, retried with backoff
        assert set(statuses(sub.snapshot())) == set(passwords) - {wrong}
        assert device_run["rejected"] == 0  # every publish was within the device's own topics

        gateway_run = asyncio.run(run(config("gateway"), status_out=None))
        assert gateway_run["connections"] == 1 and gateway_run["refused"] == 0
        assert gateway_run["sent"] == gateway_run["acked"] and gateway_run["rejected"] == 0
        seen = sub.wait_for(lambda s: wrong in statuses(s), timeout=10)
        assert check_telemetry(seen) > fleet_size
        sub.close()
    finally:
        broker.stop()


def test_tls_with_a_ca_file(tmp_path: Path) -> None:
    """``--cafile``: devices connect over TLS and verify the broker against the district's CA."""
    from api.mqtt.pki import ensure_dev_pki  # the project's development CA

    pki = ensure_dev_pki(tmp_path / "pki")
    tls_port = free_port()
    broker = make_broker(
        tmp_path, tls=TlsFiles(pki.ca_cert, pki.server_cert, pki.server_key), tls_port=tls_port
    )
    broker.start()
    try:
        assert wait_for_port(broker.host, tls_port, 10)
        sub = Collector(broker)
        config = RunConfig(
            port=tls_port,
            devices=10,
            seed=4,
            mode="device",
            cafile=str(pki.ca_cert),
            speed=600,
            intervals=Intervals().scaled(20),
            start=parse_instant(EVENING),
            duration=2.0,
            status_every=3600,
        )
        final = asyncio.run(run(config, status_out=None))
        assert final["connect_failures"] == {} and final["refused"] == 0
        assert final["sent"] == final["acked"] > 20
        placements = build_fleet(default_city(), 10, seed=4).placements
        seen = sub.wait_for(lambda s: len(statuses(s)) == 10, timeout=10)
        assert set(statuses(seen)) == {p.device_id for p in placements}
        assert check_telemetry(seen) > 10
        sub.close()
    finally:
        broker.stop()
