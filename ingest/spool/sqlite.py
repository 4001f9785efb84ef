"""The durable spool: SQLite in WAL mode, ``synchronous=FULL``, one row per appended batch.

A row holds a whole batch as one newline-joined blob, so appending 5,000 points is one insert and
one fsync (about 1 ms on this machine kind), and the writer sends rows to InfluxDB without
splitting them again. The byte total is kept in memory (recomputed at open) so that the
capacity check costs nothing per append.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ingest.spool import Chunk, SpoolFull

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    appended_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    nbytes INTEGER NOT NULL,
    body BLOB NOT NULL,
    topics BLOB NOT NULL
);
"""


class SqliteSpool:
    def __init__(self, path: Path, *, capacity_bytes: int = 512 * 1024 * 1024) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.capacity_bytes = capacity_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        count, nbytes = self._db.execute(
            "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(nbytes), 0) FROM spool"
        ).fetchone()
        self._depth = int(count)
        self._bytes = int(nbytes)

    def append(self, lines: list[str], topics: list[str], now_ms: int) -> None:
        if not lines:
            return
        body = "\n".join(lines).encode()
        topic_blob = "\n".join(topics).encode()
        nbytes = len(body) + len(topic_blob)
        with self._lock:
            # An empty spool takes any batch, so one batch larger than the cap cannot wedge it.
            if self._bytes and self._bytes + nbytes > self.capacity_bytes:
                raise SpoolFull(
                    f"spool holds {self._bytes} of {self.capacity_bytes} bytes; "
                    f"{nbytes} more do not fit"
                )
            self._db.execute(
                "INSERT INTO spool (appended_ms, count, nbytes, body, topics) VALUES (?,?,?,?,?)",
                (now_ms, len(lines), nbytes, body, topic_blob),
            )
            self._depth += len(lines)
            self._bytes += nbytes

    def peek(self, max_lines: int, after_id: int = 0) -> Chunk | None:
        # Choose rows by their counts first: loading 64 blobs to keep two would cost hundreds
        # of megabytes when a backlog of large batches has built up.
        with self._lock:
            heads = self._db.execute(
                "SELECT id, count, nbytes FROM spool WHERE id > ? ORDER BY id LIMIT 64",
                (after_id,),
            ).fetchall()
            if not heads:
                return None
            last_id, total, nbytes = heads[0]
            for row_id, count, size in heads[1:]:
                if total + count > max_lines:
                    break
                last_id, total, nbytes = row_id, total + count, nbytes + size
            rows = self._db.execute(
                "SELECT appended_ms, body, topics FROM spool WHERE id BETWEEN ? AND ? ORDER BY id",
                (heads[0][0], last_id),
            ).fetchall()
        return Chunk(
            first_id=heads[0][0],
            last_id=last_id,
            count=total,
            nbytes=nbytes,
            body=b"\n".join(bytes(r[1]) for r in rows),
            topics=b"\n".join(bytes(r[2]) for r in rows),
            oldest_ms=rows[0][0],
        )

    def remove(self, chunk: Chunk) -> None:
        # No fsync for removals: a removal lost in a crash only means those points are
        # written again, which overwrites them with themselves. The next append's fsync
        # makes it durable anyway.
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute(
                    "DELETE FROM spool WHERE id BETWEEN ? AND ?", (chunk.first_id, chunk.last_id)
                )
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
            self._depth -= chunk.count
            self._bytes -= chunk.nbytes

    def depth(self) -> int:
        return self._depth

    def size_bytes(self) -> int:
        return self._bytes

    def oldest_ms(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(appended_ms) FROM spool").fetchone()
        return None if row[0] is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
