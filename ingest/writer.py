"""Drain the spool into InfluxDB, oldest first, and dead-letter what InfluxDB refuses for good.

An entry leaves the spool only after InfluxDB has stored it (or refused it for good, in which
case it is in the dead-letter store first). A crash in between rewrites the same points on the
next start; they overwrite themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from city.rejections import Reason
from ingest.aio import first_of
from ingest.deadletter import DeadLetter, DeadLetterStore
from ingest.metrics import IngestMetrics
from ingest.sink import InfluxSink, SinkStopped
from ingest.spool import Chunk, Spool

log = logging.getLogger(__name__)


class SpoolWriter:
    def __init__(
        self,
        spool: Spool,
        sink: InfluxSink,
        dead_letters: DeadLetterStore,
        metrics: IngestMetrics,
        *,
        max_lines: int = 5000,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._spool = spool
        self._sink = sink
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._max_lines = max_lines
        self._clock_ms = clock_ms
        self._appended = asyncio.Event()

    def notify(self) -> None:
        """The pipeline appended something: wake up if idle."""
        self._appended.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Write until the spool is empty *and* ``stopping`` is set, or the sink gives up."""
        while True:
            self._appended.clear()
            chunk = await asyncio.to_thread(self._spool.peek, self._max_lines)
            self._update_gauges()
            if chunk is None:
                if stopping.is_set():
                    return
                await first_of(self._appended, stopping)
                continue
            try:
                await self._write(chunk)
            except SinkStopped:
                log.warning("stopping with %d points left in the spool", self._spool.depth())
                return

    async def _write(self, chunk: Chunk) -> None:
        rejected = await self._sink.write(chunk.body, chunk.count)
        if rejected:
            lines = chunk.lines()
            topics = chunk.topic_list()
            now = self._clock_ms()
            letters = [
                DeadLetter(now, topics[i], lines[i].encode(), Reason.REJECTED_BY_DATABASE, error)
                for i, error in rejected
            ]
            await asyncio.to_thread(self._dead_letters.add_many, letters)
            self._metrics.rejected.labels(Reason.REJECTED_BY_DATABASE.value).inc(len(letters))
            self._metrics.dead_lettered.inc(len(letters))
        await asyncio.to_thread(self._spool.remove, chunk)

    def _update_gauges(self) -> None:
        self._metrics.spool_depth.set(self._spool.depth())
        self._metrics.spool_bytes.set(self._spool.size_bytes())
        oldest = self._spool.oldest_ms()
        age = 0.0 if oldest is None else max(0.0, (self._clock_ms() - oldest) / 1000)
        self._metrics.spool_oldest_age.set(age)
