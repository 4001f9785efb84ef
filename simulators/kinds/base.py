"""What every simulated device shares: identity, a private PRNG, its seq counter and its timers.

A device is driven by the engine in simulated time: the engine calls :meth:`SimDevice.poll` at
exactly :attr:`SimDevice.next_due` and the device returns what it sends at that instant (periodic
reports and change reports alike). Because the device never looks at the wall clock and draws
only from its own seeded ``random.Random``, the same seed and start give the same readings no
matter how fast or slowly the simulator runs.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from city.kinds import Kind
from city.telemetry import AnyReading
from simulators.fleet import Placement

# Each period varies by this share so that devices that booted together drift apart.
PERIOD_JITTER = 0.02
NEVER = math.inf
# A device woken for a change sends it this long after the cause (sensor settle, radio wake).
CHANGE_LATENCY_S = 2.0


@dataclass(frozen=True, slots=True)
class Intervals:
    """Periodic report interval per kind in seconds (the kind's heartbeat unless overridden)."""

    streetlight: float = Kind.STREETLIGHT.heartbeat_s
    manhole: float = Kind.MANHOLE.heartbeat_s
    parking: float = Kind.PARKING.heartbeat_s
    water: float = Kind.WATER.heartbeat_s

    def of(self, kind: Kind) -> float:
        value: float = getattr(self, kind.value)
        return value

    def scaled(self, multiplier: float) -> Intervals:
        """Report ``multiplier`` times as often (load tests, quick demos)."""
        if multiplier <= 0:
            raise ValueError(f"rate multiplier must be positive, got {multiplier}")
        return Intervals(*(self.of(k) / multiplier for k in Kind))


def clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


class SimDevice(ABC):
    kind: ClassVar[Kind]

    def __init__(self, placement: Placement, rng: random.Random, interval_s: float) -> None:
        if placement.kind is not self.kind:
            raise ValueError(f"{placement.device_id} is a {placement.kind}, not a {self.kind}")
        self.placement = placement
        self.rng = rng
        self.interval_s = interval_s
        self.seq = 0
        self._report_due = NEVER
        self._wake_due = NEVER  # a scenario asked for an immediate look

    @property
    def device_id(self) -> str:
        return self.placement.device_id

    @property
    def next_due(self) -> float:
        return min(self._report_due, self._wake_due, self._own_due())

    def start(self, now: float) -> None:
        """Power on at ``now``: set up state, and spread the first report over one interval."""
        self._report_due = now + self.rng.uniform(0, self.interval_s)
        self._boot(now)

    def wake(self, now: float) -> None:
        """Look at the device's state at ``now`` (after a scenario changed it)."""
        self._wake_due = now

    def poll(self, now: float) -> list[AnyReading]:
        """Everything the device sends at ``now``; the engine calls it at :attr:`next_due`."""
        self._wake_due = NEVER
        periodic = now >= self._report_due
        while self._report_due <= now:
            self._report_due += self.interval_s * (1 + self.rng.uniform(-1, 1) * PERIOD_JITTER)
        return self._poll(now, periodic)

    def _next_seq(self) -> int:
        seq = self.seq
        self.seq = (self.seq + 1) % 2**32
        return seq

    @staticmethod
    def _ms(t: float) -> int:
        return int(t * 1000)

    def _own_due(self) -> float:
        """A kind's extra timer (sampling during an alarm, the next car); none by default."""
        return NEVER

    @abstractmethod
    def _boot(self, now: float) -> None: ...

    @abstractmethod
    def _poll(self, now: float, periodic: bool) -> list[AnyReading]: ...
