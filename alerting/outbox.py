"""The durable outbox between evaluation and delivery, in SQLite (WAL, synchronous=FULL).

One transaction per batch of messages writes the events they produced and what the evaluator
must remember across a restart: the alerts still open (inserted on firing, deleted on
resolved) and the devices it knows. Only after that commit are the messages acknowledged to
the broker, so an event can be delivered late but never lost. The sender reads the oldest
events, and removes them once the API has answered 2xx; an event the API refuses for good
moves to ``dead_letter`` with the answer, where an operator can read it at 3 a.m.:

    sqlite3 .state/alerting/outbox.db 'SELECT * FROM dead_letter'
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from alerting.engine.devices import DeviceRecord
from city.alerts import AlertEvent
from city.kinds import Kind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    body TEXT NOT NULL,
    http_status INTEGER,
    detail TEXT NOT NULL,
    failed_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS open_alert (
    fingerprint TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS device (
    device_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    township TEXT NOT NULL,
    village TEXT NOT NULL,
    site TEXT,
    road TEXT,
    river TEXT,
    lat REAL,
    lon REAL,
    last_seen_ms INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    fingerprint: str
    body: str  # the AlertEvent as JSON, exactly as it will be posted
    created_ms: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    fingerprint: str
    body: str
    http_status: int | None
    detail: str


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._depth = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def put(self, events: Sequence[AlertEvent], devices: Sequence[DeviceRecord] = ()) -> None:
        """Store events and device records in one durable transaction."""
        if not events and not devices:
            return
        now = _now_ms()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if devices:
                db.executemany(
                    "INSERT OR REPLACE INTO device VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (d.device_id, d.kind.value, d.township, d.village, d.site, d.road,
                         d.river, d.lat, d.lon, d.last_seen_ms)
                        for d in devices
                    ],
                )  # fmt: skip
            for event in events:
                body = event.model_dump_json()
                db.execute(
                    "INSERT INTO outbox (fingerprint, status, body, created_ms) "
                    "VALUES (?, ?, ?, ?)",
                    (event.fingerprint, event.status, body, now),
                )
                if event.status == "firing":
                    db.execute(
                        "INSERT OR REPLACE INTO open_alert VALUES (?, ?)", (event.fingerprint, body)
                    )
                else:
                    db.execute("DELETE FROM open_alert WHERE fingerprint = ?", (event.fingerprint,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._depth += len(events)

    def peek(self, limit: int) -> list[Pending]:
        rows = self._db.execute(
            "SELECT id, fingerprint, body, created_ms FROM outbox ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [Pending(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def remove(self, ids: Iterable[int]) -> None:
        chosen = list(ids)
        if not chosen:
            return
        self._db.execute("BEGIN IMMEDIATE")
        removed = self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in chosen])
        self._db.execute("COMMIT")
        self._depth -= removed.rowcount if removed.rowcount >= 0 else len(chosen)

    def dead_letter(self, item: Pending, http_status: int | None, detail: str) -> None:
        """Move one event to the dead-letter table, in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute(
            "INSERT INTO dead_letter (fingerprint, body, http_status, detail, failed_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            (item.fingerprint, item.body, http_status, detail[:2000], _now_ms()),
        )
        gone = self._db.execute("DELETE FROM outbox WHERE id = ?", (item.id,)).rowcount
        self._db.execute("COMMIT")
        self._depth -= gone

    def depth(self) -> int:
        return self._depth

    def oldest_ms(self) -> int | None:
        row = self._db.execute("SELECT min(created_ms) FROM outbox").fetchone()
        return None if row[0] is None else int(row[0])

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._db.execute(
            "SELECT fingerprint, body, http_status, detail FROM dead_letter ORDER BY id"
        ).fetchall()
        return [DeadLetter(str(r[0]), str(r[1]), r[2], str(r[3])) for r in rows]

    def open_alerts(self) -> list[AlertEvent]:
        rows = self._db.execute("SELECT body FROM open_alert").fetchall()
        return [AlertEvent.model_validate_json(r[0]) for r in rows]

    def devices(self) -> list[DeviceRecord]:
        rows = self._db.execute(
            "SELECT device_id, kind, township, village, site, road, river, lat, lon, "
            "last_seen_ms FROM device"
        ).fetchall()
        return [
            DeviceRecord(
                device_id=r[0], kind=Kind(r[1]), township=r[2], village=r[3], site=r[4],
                road=r[5], river=r[6], lat=r[7], lon=r[8], last_seen_ms=int(r[9]),
            )
            for r in rows
        ]  # fmt: skip

    def close(self) -> None:
        self._db.close()
