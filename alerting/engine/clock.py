"""Wall-clock time for the checks that no reading drives (silent devices, held conditions).

Conditions and windows run on the devices' own timestamps; only "nothing has arrived for a
while" needs the evaluator's clock, and tests inject a :class:`ManualClock` to move it.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, seconds: float) -> int:
        self._now += round(seconds * 1000)
        return self._now

    def set(self, now_ms: int) -> None:
        self._now = now_ms
