"""Steady QoS 1 load with per-device sequence numbers, and the zero-loss check against InfluxDB.

The publisher is a persistent-session paho client: it rides out broker restarts and pauses,
resending what the broker has not acknowledged. A (device, seq) counts as *sent* once the broker
has acknowledged it (PUBACK); zero loss means every sent pair is a point in InfluxDB. Each
device's timestamps are ``base + seq`` ms, so every message is a distinct point and a duplicate
delivery overwrites its own.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from city.kinds import Kind
from city.telemetry import ParkingReading
from influxv1 import InfluxClient, InfluxTarget
from tests.support.readings import now_ms, topic_for


@dataclass
class SteadyLoad:
    host: str
    port: int
    rate: float = 500.0  # messages per second, all devices together
    devices: int = 50
    client_id: str = field(default_factory=lambda: f"load-{uuid.uuid4().hex[:8]}")
    base_ms: int = field(default_factory=lambda: now_ms() - 3_600_000)
    # mid → (device, seq) until the broker acknowledges it; PUBACKs arrive on paho's thread as
    # bare mids (possibly before publish() has returned the mid here), so they are queued and
    # matched under a lock that is never held while calling into paho.
    _pending: dict[int, tuple[str, int]] = field(default_factory=dict)
    _pubacks: deque[int] = field(default_factory=deque)
    _early: set[int] = field(default_factory=set)
    _acked: set[tuple[str, int]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    published: int = 0

    def __post_init__(self) -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self._client.max_inflight_messages_set(1000)
        self._client.on_publish = lambda c, u, mid, rc, p: self._pubacks.append(mid)
        self._client.reconnect_delay_set(0.1, 1)  # type: ignore[arg-type]  # paho sleeps a float

    def device(self, index: int) -> str:
        return f"pk-load{index:05d}"

    def start(self) -> SteadyLoad:
        self._client.connect(self.host, self.port, keepalive=5)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        seq = 0
        started = time.monotonic()
        while not self._stop.is_set():
            due = int((time.monotonic() - started) * self.rate)
            while self.published < due and not self._stop.is_set():
                device = self.device(self.published % self.devices)
                if self.published % self.devices == 0:
                    seq += 1
                reading = ParkingReading(
                    device_id=device,
                    ts=self.base_ms + seq,
                    seq=seq,
                    report="heartbeat",
                    occupied=seq % 2 == 0,
                    battery_pct=80,
                )
                info = self._client.publish(
                    topic_for(Kind.PARKING, device), reading.model_dump_json(), qos=1
                )
                with self._lock:
                    self._pending[info.mid] = (device, seq)
                self.published += 1
            time.sleep(0.005)

    def stop(self, settle_timeout: float = 60.0) -> set[tuple[str, int]]:
        """Stop publishing, wait until the broker acknowledged what was sent; return it."""
        self._stop.set()
        if self._thread:
            self._thread.join()
        deadline = time.monotonic() + settle_timeout
        while time.monotonic() < deadline and self._reconcile():
            time.sleep(0.05)
        self._client.disconnect()
        self._client.loop_stop()
        return self.acknowledged()

    def _reconcile(self) -> int:
        """Match queued PUBACKs to what was sent; return how many are still unacknowledged."""
        with self._lock:
            while self._pubacks:
                self._early.add(self._pubacks.popleft())
            for mid in [m for m in self._early if m in self._pending]:
                self._acked.add(self._pending.pop(mid))
                self._early.discard(mid)
            return len(self._pending)

    @property
    def acked_count(self) -> int:
        self._reconcile()
        return len(self._acked)

    def acknowledged(self) -> set[tuple[str, int]]:
        """Every (device, seq) the broker has acknowledged so far."""
        self._reconcile()
        with self._lock:
            return set(self._acked)


def stored_pairs(influx_url: str, database: str) -> set[tuple[str, int]]:
    client = InfluxClient(InfluxTarget(influx_url, database), timeout=30)
    try:
        rows = client.rows('SELECT "seq", "device" FROM "parking" WHERE "device" =~ /^pk-load/')
    except Exception:  # noqa: BLE001 - no database yet means nothing stored yet
        return set()
    finally:
        client.close()
    return {(str(r["device"]), int(r["seq"])) for r in rows}


def missing(sent: set[tuple[str, int]], influx_url: str, database: str) -> list[tuple[str, int]]:
    return sorted(sent - stored_pairs(influx_url, database))


def gaps_by_device(pairs: set[tuple[str, int]]) -> dict[str, int]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for device, seq in pairs:
        seqs[device].append(seq)
    return {
        d: max(s) - len(s) + 1 - min(s) for d, s in seqs.items() if max(s) - min(s) + 1 != len(s)
    }
