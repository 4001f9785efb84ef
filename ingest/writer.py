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
from typing import Any

from city.rejections import Reason
from ingest.deadletter import DeadLetter, DeadLetterStore
from ingest.metrics import IngestMetrics
from ingest.sink import InfluxSink, SinkStopped
from ingest.spool import Chunk, Spool
from servicekit.aio import first_of

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
        concurrency: int = 3,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._spool = spool
        self._sink = sink
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._max_lines = max_lines
        self._concurrency = concurrency
        self._clock_ms = clock_ms
        self._appended = asyncio.Event()

    def notify(self) -> None:
        """The pipeline appended something: wake up if idle."""
        self._appended.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Write until the spool is empty *and* ``stopping`` is set, or the sink gives up.

        Up to ``concurrency`` chunks are in flight at once (InfluxDB ingests several moderate
        requests faster than one at a time; more than a handful drove 1.x into WAL errors).
        Each chunk leaves the spool when its own write is done, whatever the order.
        """
        in_flight: set[asyncio.Task[None]] = set()
        taken_up_to = 0
        try:
            while True:
                self._appended.clear()
                while len(in_flight) < self._concurrency:
                    chunk = await asyncio.to_thread(self._spool.peek, self._max_lines, taken_up_to)
                    if chunk is None:
                        break
                    taken_up_to = chunk.last_id
                    in_flight.add(asyncio.create_task(self._write(chunk)))
                self._update_gauges()
                if not in_flight:
                    if stopping.is_set():
                        return
                    await first_of(self._appended, stopping)
                    continue
                waiters: set[asyncio.Future[Any]] = {*in_flight}
                appended = asyncio.ensure_future(self._appended.wait())
                if len(in_flight) < self._concurrency:
                    waiters.add(appended)
                done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                appended.cancel()
                for task in done & in_flight:
                    in_flight.discard(task)
                    task.result()  # re-raises SinkStopped
        except SinkStopped:
            log.warning("stopping with %d points left in the spool", self._spool.depth())
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

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
        self._metrics.lag.observe(max(0, self._clock_ms() - chunk.oldest_ms) / 1000)

    def _update_gauges(self) -> None:
        self._metrics.spool_depth.set(self._spool.depth())
        self._metrics.spool_bytes.set(self._spool.size_bytes())
        oldest = self._spool.oldest_ms()
        age = 0.0 if oldest is None else max(0.0, (self._clock_ms() - oldest) / 1000)
        self._metrics.spool_oldest_age.set(age)
