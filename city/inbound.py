"""One inbound MQTT message checked against the contract and the roster: a reading or a status
with where it comes from, or ``Rejected`` with its reason and a detail a device maker can act on.

Every service that consumes device traffic checks it the same way (the ingester dead-letters
what is refused; the rule evaluator counts and skips it), so the checks live here, beside the
contract, rather than in one service. Checking never raises: one bad payload cannot stop a stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from city.rejections import Reason
from city.telemetry import (
    READING_ADAPTERS,
    STATUS_ADAPTER,
    AnyReading,
    DeviceStatus,
    RiverReading,
    StreetlightReading,
)
from city.topics import DeviceTopic, TopicError, parse_topic
from city.topology import City

_RANGE_ERRORS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"}
)
_NOT_AN_OBJECT = frozenset({"model_type", "model_attributes_type", "dict_type"})
_MAX_DETAILS = 3
_TOPIC_MEMORY = 200_000  # distinct topics remembered: 50,000 devices × 2 channels, with room


# Not frozen: one is made per accepted message, and a frozen dataclass's __init__ costs twice as
# much (object.__setattr__ per field) on the ingester's hottest path.
@dataclass(slots=True)
class Telemetry:
    where: DeviceTopic
    reading: AnyReading


@dataclass(slots=True)
class Status:
    where: DeviceTopic
    status: DeviceStatus


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 16_384
    max_age_ms: int = 7 * 86_400_000
    max_future_ms: int = 300_000


def _classify(exc: ValidationError) -> Rejected:
    errors = exc.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    if kind in {"json_invalid", "json_type"} or (kind in _NOT_AN_OBJECT and not first["loc"]):
        return Rejected(Reason.BAD_JSON, f"not a JSON object: {first['msg']}")
    if any(e["type"] == "literal_error" and e["loc"][-1:] == ("kind",) for e in errors):
        return Rejected(Reason.TOPIC_MISMATCH, "payload kind differs from the topic's kind")
    details = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
        + ("" if e["type"] == "missing" else f" (got {_short(e['input'])})")
        for e in errors[:_MAX_DETAILS]
    )
    if len(errors) > _MAX_DETAILS:
        details += f"; and {len(errors) - _MAX_DETAILS} more"
    if all(e["type"] in _RANGE_ERRORS for e in errors):
        return Rejected(Reason.OUT_OF_RANGE, details)
    return Rejected(Reason.INVALID_FIELD, details)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


Checked = Telemetry | Status | Rejected


class InboundChecker:
    """Validates against the contract and the city roster; one instance per consumer."""

    def __init__(self, city: City, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._areas = {(t.id, v.id) for t, v in city.villages()}
        self._roads = {(v.id, r.id) for _, v in city.villages() for r in v.roads}
        self._rivers = {r.id for r in city.rivers}
        self._topics: dict[str, DeviceTopic | Rejected] = {}

    def _where(self, topic: str) -> DeviceTopic | Rejected:
        """The topic's parts, or why it is refused; memoised, since devices repeat topics."""
        known = self._topics.get(topic)
        if known is not None:
            return known
        where: DeviceTopic | Rejected
        try:
            parsed = parse_topic(topic)
        except TopicError as exc:
            where = Rejected(Reason(exc.reason), str(exc))
        else:
            where = parsed
            if (parsed.township, parsed.village) not in self._areas:
                where = Rejected(
                    Reason.UNKNOWN_AREA,
                    f"township {parsed.township!r} / village {parsed.village!r} is not in the "
                    "roster",
                )
        if len(self._topics) >= _TOPIC_MEMORY:
            self._topics.clear()  # a flood of distinct junk topics must not grow memory
        self._topics[topic] = where
        return where

    def check(self, topic: str, payload: bytes | bytearray, now_ms: int) -> Checked:
        where = self._where(topic)
        if isinstance(where, Rejected):
            return where
        if len(payload) > self.limits.max_payload_bytes:
            return Rejected(
                Reason.OVERSIZED,
                f"payload of {len(payload)} bytes exceeds {self.limits.max_payload_bytes}",
            )
        if where.channel == "status":
            # No time window: a retained birth is as old as the connection it announces.
            try:
                return Status(where, STATUS_ADAPTER.validate_json(payload))
            except ValidationError as exc:
                return _classify(exc)
        try:
            reading = READING_ADAPTERS[where.kind].validate_json(payload)
        except ValidationError as exc:
            return _classify(exc)
        if reading.device_id != where.device_id:
            return Rejected(
                Reason.TOPIC_MISMATCH,
                f"payload device_id {reading.device_id!r} differs from the topic's "
                f"{where.device_id!r}",
            )
        if (
            isinstance(reading, StreetlightReading)
            and (where.village, reading.road) not in self._roads
        ):
            return Rejected(
                Reason.UNKNOWN_AREA, f"road {reading.road!r} is not in village {where.village!r}"
            )
        if isinstance(reading, RiverReading) and reading.river not in self._rivers:
            return Rejected(Reason.UNKNOWN_AREA, f"river {reading.river!r} is not in the roster")
        age = now_ms - reading.ts
        if age > self.limits.max_age_ms or -age > self.limits.max_future_ms:
            relation = f"{age / 1000:.0f} s behind" if age > 0 else f"{-age / 1000:.0f} s ahead of"
            return Rejected(
                Reason.STALE_OR_FUTURE,
                f"device timestamp {reading.ts} is {relation} the platform's clock; accepted: up "
                f"to {self.limits.max_age_ms // 1000} s behind and "
                f"{self.limits.max_future_ms // 1000} s ahead",
            )
        return Telemetry(where, reading)
