"""One threshold rule on one device: normal → pending → firing → normal.

- **normal**: a reading that satisfies the condition starts counting (pending), or fires at
  once when neither ``for_s`` nor ``repeat`` asks for more;
- **pending**: the condition must hold for ``repeat`` consecutive readings *and* ``for_s``
  seconds of device time since the first of them; one reading that does not satisfy it sends
  the state back to normal (a passing lorry rocking a cover);
- **firing**: stays until ``recover`` holds (hysteresis; the negated condition when the rule
  has no ``recover``), then back to normal with a *resolved* transition.

Readings no newer than the last one seen (a redelivery after a reconnect, or a late message)
change nothing, so at-least-once delivery cannot count a reading twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from alerting.engine.conditions import Value


class Phase(StrEnum):
    NORMAL = "normal"
    PENDING = "pending"
    FIRING = "firing"


@dataclass(frozen=True, slots=True)
class Transition:
    status: Literal["firing", "resolved"]
    observed_ms: int
    value: Value


@dataclass(slots=True)
class ThresholdState:
    phase: Phase = Phase.NORMAL
    count: int = 0  # consecutive readings satisfying the condition while pending
    since_ms: int = 0  # device time of the first of them
    last_ms: int = 0  # device time of the last reading taken
    last_value: Value | None = None

    def step(
        self,
        *,
        ts: int,
        value: Value,
        matched: bool,
        recovered: bool,
        for_s: int,
        repeat: int,
    ) -> Transition | None:
        """Take one reading. ``matched``: the condition holds; ``recovered``: recover holds."""
        if ts <= self.last_ms:
            return None
        self.last_ms = ts
        self.last_value = value
        if self.phase is Phase.FIRING:
            if recovered:
                self.phase = Phase.NORMAL
                self.count = 0
                return Transition("resolved", ts, value)
            return None
        if not matched:
            self.phase = Phase.NORMAL
            self.count = 0
            return None
        if self.phase is Phase.NORMAL:
            self.phase = Phase.PENDING
            self.count = 0
            self.since_ms = ts
        self.count += 1
        if self.count >= repeat and ts - self.since_ms >= for_s * 1000:
            return self._fire(ts, value)
        return None

    def held_until(self, now_ms: int, *, for_s: int, repeat: int) -> Transition | None:
        """Fire a pending state whose condition has held ``for_s`` by the clock.

        An event-driven device (a manhole cover) reports a tilt once and then only at its next
        heartbeat, half an hour later: waiting for another reading would delay the alarm by
        that much. The last reading still satisfies the condition and no reading has said
        otherwise, so once ``for_s`` has passed since the first one the condition has held.
        """
        if self.phase is not Phase.PENDING or self.count < repeat or for_s == 0:
            return None
        due = self.since_ms + for_s * 1000
        if now_ms < due or self.last_value is None:
            return None
        return self._fire(due, self.last_value)

    def restore_firing(self, observed_ms: int, value: Value | None) -> None:
        self.phase = Phase.FIRING
        self.last_ms = max(self.last_ms, observed_ms)
        self.last_value = value

    def _fire(self, ts: int, value: Value) -> Transition:
        self.phase = Phase.FIRING
        self.count = 0
        return Transition("firing", ts, value)
