"""One MQTT message → a decoded reading or status, or the reason it is skipped. Never raises.

The same contract and roster checks as the ingester (which dead-letters what fails them; here
such a message is only counted and skipped), written again rather than imported: services
do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

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

_TOPIC_MEMORY = 200_000


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Telemetry:
    where: DeviceTopic
    reading: AnyReading


@dataclass(frozen=True, slots=True)
class Status:
    where: DeviceTopic
    status: DeviceStatus


Decoded = Telemetry | Status | Skipped


class Decoder:
    def __init__(
        self,
        city: City,
        *,
        max_payload_bytes: int = 16_384,
        max_age_ms: int = 7 * 86_400_000,
        max_future_ms: int = 300_000,
    ) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.max_age_ms = max_age_ms
        self.max_future_ms = max_future_ms
        self._areas = {(t.id, v.id) for t, v in city.villages()}
        self._roads = {(v.id, r.id) for _, v in city.villages() for r in v.roads}
        self._rivers = {r.id for r in city.rivers}
        self._topics: dict[str, DeviceTopic | Skipped] = {}

    def _where(self, topic: str) -> DeviceTopic | Skipped:
        known = self._topics.get(topic)
        if known is not None:
            return known
        where: DeviceTopic | Skipped
        try:
            where = parse_topic(topic)
        except TopicError as exc:
            where = Skipped(Reason(exc.reason), str(exc))
        else:
            if (where.township, where.village) not in self._areas:
                where = Skipped(Reason.UNKNOWN_AREA, f"{where.township}/{where.village}")
        if len(self._topics) >= _TOPIC_MEMORY:
            self._topics.clear()
        self._topics[topic] = where
        return where

    def decode(self, topic: str, payload: bytes | bytearray, now_ms: int) -> Decoded:
        where = self._where(topic)
        if isinstance(where, Skipped):
            return where
        if len(payload) > self.max_payload_bytes:
            return Skipped(Reason.OVERSIZED, f"{len(payload)} bytes")
        try:
            if where.channel == "status":
                return Status(where, STATUS_ADAPTER.validate_json(payload))
            reading = READING_ADAPTERS[where.kind].validate_json(payload)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            reason = Reason.BAD_JSON if first["type"].startswith("json") else Reason.INVALID_FIELD
            return Skipped(reason, str(first["msg"])[:200])
        if reading.device_id != where.device_id:
            return Skipped(Reason.TOPIC_MISMATCH, f"payload device_id {reading.device_id!r}")
        if (
            isinstance(reading, StreetlightReading)
            and (where.village, reading.road) not in self._roads
        ):
            return Skipped(Reason.UNKNOWN_AREA, f"road {reading.road!r}")
        if isinstance(reading, RiverReading) and reading.river not in self._rivers:
            return Skipped(Reason.UNKNOWN_AREA, f"river {reading.river!r}")
        age = now_ms - reading.ts
        if age > self.max_age_ms or -age > self.max_future_ms:
            return Skipped(Reason.STALE_OR_FUTURE, f"device time {reading.ts}, now {now_ms}")
        return Telemetry(where, reading)
