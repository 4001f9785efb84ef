"""The durable local spool between the MQTT consumer and the InfluxDB writer.

The consumer appends each stored batch (its line-protocol points and their topics) and only then
acknowledges the batch to the broker; the writer takes the oldest entries, writes them to
InfluxDB and removes them. A crash between the write and the removal rewrites the same points,
which is harmless: points are idempotent. When the spool is full, ``append`` raises
``SpoolFull``: the consumer stops acknowledging (backpressure to the broker), raises the alert
and counts it; nothing is ever overwritten.

Implementations: ``SqliteSpool`` (durable, the default) and ``MemorySpool`` (for throwaway runs).
Both pass the same contract tests (tests/unit/ingest/test_spool_contract.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SpoolFull(Exception):
    """Appending would exceed the spool's capacity; retry once the writer has drained some."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """The oldest entries, ready for one InfluxDB write: ``body`` is newline-joined lines."""

    first_id: int
    last_id: int
    count: int
    nbytes: int  # what the chunk's entries count against the capacity
    body: bytes
    topics: bytes
    oldest_ms: int

    def lines(self) -> list[str]:
        return self.body.decode().split("\n")

    def topic_list(self) -> list[str]:
        return self.topics.decode().split("\n")


class Spool(Protocol):
    capacity_bytes: int

    def append(self, lines: list[str], topics: list[str], now_ms: int) -> None:
        """Store the lines durably (as far as the implementation is durable) or raise."""

    def peek(self, max_lines: int, after_id: int = 0) -> Chunk | None:
        """The oldest entries with an id above ``after_id``, whole, up to ``max_lines`` lines
        (at least one entry when there is any). Writers with several writes in flight pass the
        last id they took, so no entry goes out twice at once."""

    def remove(self, chunk: Chunk) -> None:
        """Forget the entries of a chunk that InfluxDB has stored."""

    def depth(self) -> int:
        """Lines waiting."""

    def size_bytes(self) -> int:
        """Bytes waiting (what counts against ``capacity_bytes``)."""

    def oldest_ms(self) -> int | None:
        """When the oldest waiting entry was appended."""

    def close(self) -> None: ...


__all__ = ["Chunk", "Spool", "SpoolFull"]
