"""What the evaluator knows of each device: where it is, what it is, when it last spoke.

A device becomes known from its first telemetry message or from its (retained) birth on the
status topic; the birth brings its position. Records are kept in the outbox database
(:mod:`alerting.outbox`) so a restart still knows the devices that have since gone silent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from city.kinds import Kind

# last_seen is written back at most this often per device: the no-data rules count in
# minutes, and a write per message would cost more than the evaluation. Records are written
# with the events of a batch, or by the periodic check.
PERSIST_SEEN_EVERY_MS = 60_000


@dataclass(slots=True)
class DeviceRecord:
    device_id: str
    kind: Kind
    township: str
    village: str
    site: str | None = None  # water: river or drain, once a reading said so
    road: str | None = None  # streetlights: the road (feeder) from the last reading
    river: str | None = None
    lat: float | None = None
    lon: float | None = None
    last_seen_ms: int = 0  # evaluator clock
    persisted_seen_ms: int = 0


class DeviceBook:
    def __init__(self) -> None:
        self._devices: dict[str, DeviceRecord] = {}
        self._dirty: set[str] = set()

    def get(self, device_id: str) -> DeviceRecord | None:
        return self._devices.get(device_id)

    def known(self, device_id: str, kind: Kind, township: str, village: str) -> DeviceRecord:
        record = self._devices.get(device_id)
        if record is None:
            record = DeviceRecord(device_id, kind, township, village)
            self._devices[device_id] = record
            self._dirty.add(device_id)
        elif (record.kind, record.township, record.village) != (kind, township, village):
            self.update(record, kind=kind, township=township, village=village)  # moved
        return record

    def seen(self, record: DeviceRecord, now_ms: int) -> None:
        record.last_seen_ms = max(record.last_seen_ms, now_ms)
        if record.last_seen_ms - record.persisted_seen_ms >= PERSIST_SEEN_EVERY_MS:
            self._dirty.add(record.device_id)

    def update(self, record: DeviceRecord, **changes: object) -> None:
        for name, value in changes.items():
            if value is not None and getattr(record, name) != value:
                setattr(record, name, value)
                self._dirty.add(record.device_id)

    def restore(self, record: DeviceRecord) -> None:
        record.persisted_seen_ms = record.last_seen_ms
        self._devices[record.device_id] = record

    def __iter__(self) -> Iterator[DeviceRecord]:
        return iter(self._devices.values())

    def __len__(self) -> int:
        return len(self._devices)

    def take_dirty(self) -> list[DeviceRecord]:
        """Records changed since the last call, to be written; marks them written."""
        dirty = [self._devices[d] for d in self._dirty]
        self._dirty.clear()
        for record in dirty:
            record.persisted_seen_ms = record.last_seen_ms
        return dirty
