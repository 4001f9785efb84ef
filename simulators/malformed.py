"""Deliberately broken messages, so an ingester's dead-letter path can be seen working.

Each malformation is a different mistake real devices and gateways make, and each should land
in the dead letters with its own reason. They are sent *in addition to* the device's valid
messages (reusing the valid message's ``seq``), so a device's valid sequence stays gap-free and
loss accounting is not confused by the test traffic.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from city.telemetry import AnyReading, ParkingReading, StreetlightReading
from city.topics import ROOT

MALFORMATIONS: tuple[str, ...] = (
    "bad-json",  # truncated mid-object: not JSON at all
    "wrong-type",  # ts as an ISO-8601 string where epoch milliseconds belong
    "out-of-range",  # a quantity no sensor of this kind can read
    "unknown-kind",  # the topic names a kind the district does not have
    "id-mismatch",  # the payload's device_id is another device than the topic's
    "kind-mismatch",  # a valid reading of another kind on this device's topic
    "ts-unit",  # seconds sent instead of milliseconds (lands in 1970)
    "ts-past",  # a device clock 400 days behind (valid shape, far too old)
    "ts-future",  # a device clock 3 days ahead (valid shape, from the future)
    "oversized",  # more than 64 KiB: a firmware bug dumping its buffer
)
OVERSIZE_BYTES = 70_000
TS_PAST_S = 400 * 86400
TS_FUTURE_S = 3 * 86400

# The field each kind gets wrong for "out-of-range", and the impossible value it sends.
_OUT_OF_RANGE: dict[str, tuple[str, Any]] = {
    "streetlight": ("voltage_v", 980.0),
    "manhole": ("battery_pct", 250),
    "parking": ("battery_pct", 180),
    "river": ("ph", 15.3),
    "drain": ("depth_m", -0.4),
}


@dataclass(frozen=True, slots=True)
class BadMessage:
    malformation: str
    topic: str
    payload: bytes


def _replace_kind_segment(topic: str, kind: str) -> str:
    parts = topic.split("/")
    parts[len(ROOT.split("/")) + 2] = kind
    return "/".join(parts)


def _other_kind_reading(reading: AnyReading) -> AnyReading:
    """A well-formed reading of a different kind for the same device (a mixed-up gateway)."""
    if isinstance(reading, ParkingReading):
        return StreetlightReading(
            device_id=reading.device_id,
            ts=reading.ts,
            seq=reading.seq,
            road="unknown-road",
            voltage_v=221.0,
            current_a=0.45,
            power_w=95.0,
            power_factor=0.95,
            energy_kwh=100.0,
            dimming_pct=100,
            lamp_on=True,
            status="ok",
            ambient_lux=2.0,
        )
    return ParkingReading(
        device_id=reading.device_id,
        ts=reading.ts,
        seq=reading.seq,
        report="change",
        occupied=True,
        battery_pct=80,
    )


def malform(malformation: str, reading: AnyReading, topic: str, other_id: str) -> BadMessage:
    """Turn one valid reading on its topic into the given malformation."""
    data: dict[str, Any] = reading.model_dump(mode="json")
    out_topic = topic
    if malformation == "bad-json":
        text = json.dumps(data)
        return BadMessage(malformation, topic, text[: len(text) // 2].encode())
    if malformation == "wrong-type":
        data["ts"] = datetime.fromtimestamp(reading.ts / 1000, UTC).isoformat()
    elif malformation == "out-of-range":
        field, value = _OUT_OF_RANGE[data.get("site", data["kind"])]
        data[field] = value
    elif malformation == "unknown-kind":
        out_topic = _replace_kind_segment(topic, "toaster")
    elif malformation == "id-mismatch":
        data["device_id"] = other_id
    elif malformation == "kind-mismatch":
        data = _other_kind_reading(reading).model_dump(mode="json")
    elif malformation == "ts-unit":
        data["ts"] = reading.ts // 1000
    elif malformation == "ts-past":
        data["ts"] = reading.ts - TS_PAST_S * 1000
    elif malformation == "ts-future":
        data["ts"] = reading.ts + TS_FUTURE_S * 1000
    elif malformation == "oversized":
        data["debug_dump"] = "A" * OVERSIZE_BYTES
    else:
        raise ValueError(
            f"unknown malformation {malformation!r}; one of {', '.join(MALFORMATIONS)}"
        )
    return BadMessage(malformation, out_topic, json.dumps(data).encode())


class MalformedGenerator:
    """At ``rate`` (0–1) per valid message, adds one bad one, cycling through the kinds in turn
    so that every malformation shows up, in a fixed order for a given seed."""

    def __init__(
        self, rate: float, rng: random.Random, malformations: Sequence[str] = MALFORMATIONS
    ) -> None:
        if not 0 <= rate <= 1:
            raise ValueError(f"malformed rate must be between 0 and 1, got {rate}")
        unknown = set(malformations) - set(MALFORMATIONS)
        if unknown or not malformations:
            raise ValueError(
                f"unknown malformations {sorted(unknown)}; choose from {', '.join(MALFORMATIONS)}"
            )
        self.rate = rate
        self.malformations = tuple(malformations)
        self._rng = rng
        self._turn = 0

    def maybe(self, reading: AnyReading, topic: str, other_id: str) -> BadMessage | None:
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        malformation = self.malformations[self._turn % len(self.malformations)]
        self._turn += 1
        return malform(malformation, reading, topic, other_id)
