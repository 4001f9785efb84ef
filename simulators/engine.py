"""The fleet in simulated time: which device speaks next, and what it says.

A heap orders the devices by when they next want to be polled; :meth:`Engine.advance` polls
every device that is due up to a simulated instant, in time order, and returns the messages
to publish. The engine knows nothing about MQTT or the wall clock, so tests drive it through a
night in milliseconds, and a run is reproducible: the same seed and start give the same
messages whatever the speed.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass

from city.kinds import Kind
from city.telemetry import AnyReading, DeviceStatus
from city.topics import device_topic
from city.topology import City
from simulators.fleet import Fleet, Placement
from simulators.kinds import Intervals, SimDevice, make_device
from simulators.malformed import MalformedGenerator

FIRMWARE = "tq-sim-1.0.0"


@dataclass(frozen=True, slots=True)
class Outgoing:
    device_id: str
    topic: str
    payload: bytes
    ts: float  # simulated instant the message was produced
    malformation: str | None = None  # set when the message is broken on purpose


def status_topic(placement: Placement) -> str:
    return device_topic(
        placement.township, placement.village, placement.kind, placement.device_id, "status"
    )


def telemetry_topic(placement: Placement) -> str:
    return device_topic(
        placement.township, placement.village, placement.kind, placement.device_id, "telemetry"
    )


def birth_payload(placement: Placement, now: float) -> bytes:
    status = DeviceStatus(
        online=True, ts=int(now * 1000), lat=placement.lat, lon=placement.lon, firmware=FIRMWARE
    )
    return status.model_dump_json().encode()


# Composed once: a last will cannot know the moment of loss, so it carries no ``ts``.
OFFLINE_PAYLOAD = DeviceStatus(online=False).model_dump_json().encode()


class Engine:
    def __init__(
        self,
        fleet: Fleet,
        city: City,
        start: float,
        intervals: Intervals | None = None,
    ) -> None:
        intervals = intervals or Intervals()
        self.fleet = fleet
        self.city = city
        self.now = start
        self.devices: list[SimDevice] = [
            make_device(p, fleet.seed, intervals, city) for p in fleet.placements
        ]
        self.index = {d.device_id: i for i, d in enumerate(self.devices)}
        self._topics = [telemetry_topic(p) for p in fleet.placements]
        self._versions = [0] * len(self.devices)
        self._heap: list[tuple[float, int, int]] = []
        self.silent: set[str] = set()
        # (device_id, online) changes the publisher must act on (disconnect, reconnect).
        self.presence: deque[tuple[str, bool]] = deque()
        self.malformed: MalformedGenerator | None = None
        self._malformed_rng = random.Random(f"malformed:{fleet.seed}")
        for i, device in enumerate(self.devices):
            device.start(start)
            self._push(i)

    def __len__(self) -> int:
        return len(self.devices)

    def device(self, device_id: str) -> SimDevice:
        try:
            return self.devices[self.index[device_id]]
        except KeyError:
            raise KeyError(f"no device {device_id!r} in this fleet") from None

    def devices_of(self, kind: Kind) -> list[SimDevice]:
        return [d for d in self.devices if d.kind is kind]

    def set_malformed_rate(self, rate: float, malformations: tuple[str, ...] | None = None) -> None:
        if rate <= 0:
            self.malformed = None
            return
        if malformations:
            self.malformed = MalformedGenerator(rate, self._malformed_rng, malformations)
        else:
            self.malformed = MalformedGenerator(rate, self._malformed_rng)

    def _push(self, i: int) -> None:
        self._versions[i] += 1
        heapq.heappush(self._heap, (self.devices[i].next_due, i, self._versions[i]))

    def reschedule(self, device: SimDevice) -> None:
        """Call after changing a device's timers (a scenario woke it) so the heap follows."""
        i = self.index[device.device_id]
        if device.device_id not in self.silent:
            self._push(i)

    def set_silent(self, device_id: str, silent: bool) -> None:
        """A silent device stops publishing (and its connection drops); reviving resumes it."""
        i = self.index[device_id]
        if silent and device_id not in self.silent:
            self.silent.add(device_id)
            self._versions[i] += 1  # its heap entries go stale
            self.presence.append((device_id, False))
        elif not silent and device_id in self.silent:
            self.silent.discard(device_id)
            self.devices[i].wake(self.now)
            self._push(i)
            self.presence.append((device_id, True))

    def next_due(self) -> float | None:
        while self._heap and self._heap[0][2] != self._versions[self._heap[0][1]]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def advance(self, now: float, limit: int | None = None) -> list[Outgoing]:
        """Poll every device due up to ``now`` in time order; at most ``limit`` messages.

        When ``limit`` stops it early, the rest stays due and comes out on the next call: a
        publisher that cannot keep up falls behind in simulated time instead of losing data.
        """
        out: list[Outgoing] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            if limit is not None and len(out) >= limit:
                return out
            due, i, version = heapq.heappop(heap)
            if version != self._versions[i]:
                continue
            self.now = max(self.now, due)
            device = self.devices[i]
            for reading in device.poll(due):
                out.extend(self._messages(i, reading, due))
            self._push(i)
        self.now = max(self.now, now)
        return out

    def _messages(self, i: int, reading: AnyReading, due: float) -> list[Outgoing]:
        device_id = self.devices[i].device_id
        topic = self._topics[i]
        messages = [Outgoing(device_id, topic, reading.model_dump_json().encode(), due)]
        if self.malformed is not None:
            neighbour = self.devices[i - 1 if i else 1 % len(self.devices)].device_id
            bad = self.malformed.maybe(reading, topic, neighbour)
            if bad is not None:
                messages.append(Outgoing(device_id, bad.topic, bad.payload, due, bad.malformation))
        return messages
