from __future__ import annotations

import pytest

from simulators.clock import SimClock, format_instant, parse_duration, parse_instant


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_accelerated_clock_runs_a_simulated_minute_per_real_second() -> None:
    real = FakeMonotonic()
    clock = SimClock(start=1_800_000_000.0, speed=60, monotonic=real)
    assert clock.now() == 1_800_000_000.0
    real.t += 2.5
    assert clock.now() == pytest.approx(1_800_000_150.0)
    assert clock.real_seconds_until(1_800_000_210.0) == pytest.approx(1.0)
    assert clock.real_seconds_until(1_800_000_000.0) == 0.0


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SimClock(speed=0)


def test_a_naive_start_is_beijing_time() -> None:
    assert parse_instant("2026-07-15T20:00:00") == parse_instant("2026-07-15T12:00:00+00:00")
    assert format_instant(parse_instant("2026-07-15T20:00:00+08:00")) == "2026-07-15 20:00:00"


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("20m", 1200), ("6h", 21600), ("1d", 86400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-5m", "h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
