"""An evaluator on the shipped rules and roster with a clock that moves only when told."""

from __future__ import annotations

from typing import Any

import pytest

from alerting.engine import Evaluator, ManualClock
from city.alerts import AlertEvent
from city.kinds import Kind
from city.rules import RuleBook, default_rules, parse_rules
from city.telemetry import AnyReading, DeviceStatus
from city.topics import DeviceTopic
from city.topology import default_city

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class Harness:
    def __init__(self, book: RuleBook | None = None) -> None:
        self.clock = ManualClock(T0)
        self.evaluator = Evaluator(book or default_rules(), default_city(), self.clock)

    def send(
        self, reading: AnyReading, township: str = "yuanqiao", village: str = "dongzhan"
    ) -> list[AlertEvent]:
        kind = Kind(reading.kind)
        where = DeviceTopic(township, village, kind, reading.device_id, "telemetry")
        return self.evaluator.reading(where, reading)

    def birth(
        self,
        device_id: str,
        kind: Kind,
        township: str = "yuanqiao",
        village: str = "dongzhan",
        *,
        online: bool = True,
        lat: float | None = 37.44,
        lon: float | None = 116.45,
    ) -> list[AlertEvent]:
        where = DeviceTopic(township, village, kind, device_id, "status")
        return self.evaluator.status(where, DeviceStatus(online=online, lat=lat, lon=lon))


def book_with(**changes: Any) -> RuleBook:
    """The shipped rule book with top-level sections replaced or extended."""
    raw = default_rules().model_dump(mode="json", exclude_defaults=False)
    raw.update(changes)
    return parse_rules(raw)


@pytest.fixture
def harness() -> Harness:
    return Harness()
