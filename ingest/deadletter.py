"""The dead-letter store: every refused message, with its reason, kept in SQLite.

One row per message: when it arrived, its topic, the first bytes of its payload (bounded, so a
flood of 1 MB junk cannot fill the disk faster than the cap allows), its full size, the reason
and a human-readable detail. The table is capped by row count; the oldest rows go first and the
number dropped is recorded in ``meta`` — counted, never silent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from city.rejections import Reason

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    payload_size INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letter_reason ON dead_letter (reason, received_ms);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_ms: int
    topic: str
    payload: bytes | bytearray
    reason: Reason
    detail: str


class DeadLetterStore:
    """Thread-safe (one lock) so the event loop can hand commits to a worker thread."""

    def __init__(self, path: Path, *, payload_bytes: int = 4096, max_rows: int = 1_000_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.payload_bytes = payload_bytes
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def add_many(self, letters: Sequence[DeadLetter]) -> None:
        """Durably store the letters (one transaction); returns once they are on disk."""
        if not letters:
            return
        rows = [
            (
                d.received_ms,
                d.topic[:1024],
                d.payload[: self.payload_bytes],
                len(d.payload),
                d.reason.value,
                d.detail[:2000],
            )
            for d in letters
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO dead_letter (received_ms, topic, payload, payload_size, reason,"
                    " detail) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._trim()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _trim(self) -> None:
        (last,) = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM dead_letter").fetchone()
        cutoff = last - self.max_rows
        if cutoff <= 0:
            return
        dropped = self._db.execute("DELETE FROM dead_letter WHERE id <= ?", (cutoff,)).rowcount
        if dropped:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('trimmed', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                (dropped,),
            )

    def count(self, reason: Reason | None = None) -> int:
        with self._lock:
            if reason is None:
                row = self._db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM dead_letter WHERE reason = ?", (reason.value,)
                ).fetchone()
        return int(row[0])

    def recent(self, limit: int = 50, reason: Reason | None = None) -> list[DeadLetter]:
        query = "SELECT received_ms, topic, payload, reason, detail FROM dead_letter"
        params: tuple[object, ...] = ()
        if reason is not None:
            query += " WHERE reason = ?"
            params = (reason.value,)
        query += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(query, (*params, limit)).fetchall()
        return [DeadLetter(r[0], r[1], bytes(r[2]), Reason(r[3]), r[4]) for r in rows]

    def trimmed(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'trimmed'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
