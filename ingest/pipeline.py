"""Batching and the acknowledgement rule: a message is acknowledged only once it is stored.

Messages enter in arrival order and leave in batches, bounded by size and by age. A batch is
stored — its points in InfluxDB, its refused messages in the dead-letter store — before any of
its messages is acknowledged, and batches are stored one after another, so acknowledgements go
back to the broker in arrival order. While a batch is being stored the next one fills; how much
can wait unacknowledged is bounded by the MQTT receive maximum the source announces.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from city.rejections import Reason
from ingest.deadletter import DeadLetter, DeadLetterStore
from ingest.decode import Accepted, Decoder
from ingest.metrics import IngestMetrics
from ingest.sink import InfluxSink, SinkStopped

log = logging.getLogger(__name__)

# (connection generation, packet id): a packet id means something only on the connection that
# delivered it; see MqttSource.ack.
Delivery = tuple[int, int]
AckFn = Callable[[list[Delivery]], None]


@dataclass
class Batch:
    deliveries: list[Delivery] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    line_topics: list[str] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    opened: float = 0.0

    def __len__(self) -> int:
        return len(self.lines) + len(self.letters)


class Pipeline:
    def __init__(
        self,
        decoder: Decoder,
        sink: InfluxSink,
        dead_letters: DeadLetterStore,
        metrics: IngestMetrics,
        *,
        max_messages: int = 5000,
        max_age_s: float = 0.2,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._decoder = decoder
        self._sink = sink
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._max_messages = max_messages
        self._max_age_s = max_age_s
        self._clock_ms = clock_ms
        self._batch = Batch()
        self._has_data = asyncio.Event()
        self._full = asyncio.Event()

    def offer(
        self, generation: int, mid: int, qos: int, topic: str, payload: bytes | bytearray
    ) -> None:
        """Called for every MQTT message, in arrival order, on the event loop's thread."""
        batch = self._batch
        if not batch.deliveries and not len(batch):
            batch.opened = time.monotonic()
        if qos > 0:
            batch.deliveries.append((generation, mid))
        now = self._clock_ms()
        outcome = self._decoder.decode(topic, payload, now)
        if isinstance(outcome, Accepted):
            batch.lines.append(outcome.line)
            batch.line_topics.append(topic)
        else:
            batch.letters.append(DeadLetter(now, topic, payload, outcome.reason, outcome.detail))
            self._metrics.rejected.labels(outcome.reason.value).inc()
        self._has_data.set()
        if len(batch) >= self._max_messages:
            self._full.set()

    @property
    def pending(self) -> int:
        return len(self._batch)

    async def run(self, ack: AckFn, stopping: asyncio.Event) -> None:
        """Store and acknowledge batches until ``stopping``; then store what is left, once."""
        while not stopping.is_set():
            if not await self._wait_for_batch(stopping):
                break
            await self._flush(ack)
        await self._flush(ack)

    async def _wait_for_batch(self, stopping: asyncio.Event) -> bool:
        stop = asyncio.ensure_future(stopping.wait())
        try:
            has_data = asyncio.ensure_future(self._has_data.wait())
            await asyncio.wait({stop, has_data}, return_when=asyncio.FIRST_COMPLETED)
            has_data.cancel()
            if stopping.is_set():
                return False
            remaining = self._max_age_s - (time.monotonic() - self._batch.opened)
            if remaining > 0 and not self._full.is_set():
                full = asyncio.ensure_future(self._full.wait())
                await asyncio.wait({stop, full}, timeout=remaining)
                full.cancel()
            return True
        finally:
            stop.cancel()

    async def _flush(self, ack: AckFn) -> None:
        batch, self._batch = self._batch, Batch()
        self._has_data.clear()
        self._full.clear()
        if not batch.deliveries and not len(batch):
            return
        try:
            await self._store(batch)
        except SinkStopped as exc:
            # Not stored, so not acknowledged: the broker redelivers it to the next session.
            log.warning("stopping with %d messages not stored (%s)", len(batch), exc)
            return
        ack(batch.deliveries)
        self._metrics.acknowledged.inc(len(batch.deliveries))
        self._metrics.batch_size.observe(len(batch))

    async def _store(self, batch: Batch) -> None:
        rejected = await self._sink.write(batch.lines)
        letters = batch.letters
        if rejected:
            now = self._clock_ms()
            letters = letters + [
                DeadLetter(
                    now,
                    batch.line_topics[index],
                    batch.lines[index].encode(),
                    Reason.REJECTED_BY_DATABASE,
                    error,
                )
                for index, error in rejected
            ]
            self._metrics.rejected.labels(Reason.REJECTED_BY_DATABASE.value).inc(len(rejected))
        if letters:
            await asyncio.to_thread(self._dead_letters.add_many, letters)
            self._metrics.dead_lettered.inc(len(letters))
