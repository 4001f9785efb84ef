"""A spool in memory: bounded like the durable one, lost with the process.

For throwaway runs and as the second implementation the contract tests hold to the same rules.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from ingest.spool import Chunk, SpoolFull


@dataclass(frozen=True, slots=True)
class _Entry:
    id: int
    appended_ms: int
    count: int
    body: bytes
    topics: bytes

    @property
    def nbytes(self) -> int:
        return len(self.body) + len(self.topics)


class MemorySpool:
    def __init__(self, *, capacity_bytes: int = 64 * 1024 * 1024) -> None:
        self.capacity_bytes = capacity_bytes
        self._entries: deque[_Entry] = deque()
        self._next_id = 1
        self._depth = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def append(self, lines: list[str], topics: list[str], now_ms: int) -> None:
        if not lines:
            return
        entry = _Entry(
            self._next_id,
            now_ms,
            len(lines),
            "\n".join(lines).encode(),
            "\n".join(topics).encode(),
        )
        with self._lock:
            if self._bytes and self._bytes + entry.nbytes > self.capacity_bytes:
                raise SpoolFull(f"spool holds {self._bytes} of {self.capacity_bytes} bytes")
            self._entries.append(entry)
            self._next_id += 1
            self._depth += entry.count
            self._bytes += entry.nbytes

    def peek(self, max_lines: int, after_id: int = 0) -> Chunk | None:
        with self._lock:
            candidates: list[_Entry] = []
            for entry in self._entries:
                if entry.id > after_id:
                    candidates.append(entry)
                    if len(candidates) == 64:
                        break
            if not candidates:
                return None
            taken = [candidates[0]]
            total = taken[0].count
            for candidate in candidates[1:]:
                if total + candidate.count > max_lines:
                    break
                taken.append(candidate)
                total += candidate.count
        return Chunk(
            first_id=taken[0].id,
            last_id=taken[-1].id,
            count=total,
            nbytes=sum(e.nbytes for e in taken),
            body=b"\n".join(e.body for e in taken),
            topics=b"\n".join(e.topics for e in taken),
            oldest_ms=taken[0].appended_ms,
        )

    def remove(self, chunk: Chunk) -> None:
        with self._lock:
            kept: deque[_Entry] = deque()
            for entry in self._entries:
                if chunk.first_id <= entry.id <= chunk.last_id:
                    self._depth -= entry.count
                    self._bytes -= entry.nbytes
                else:
                    kept.append(entry)
            self._entries = kept

    def depth(self) -> int:
        return self._depth

    def size_bytes(self) -> int:
        return self._bytes

    def oldest_ms(self) -> int | None:
        with self._lock:
            return self._entries[0].appended_ms if self._entries else None

    def close(self) -> None:
        return None
