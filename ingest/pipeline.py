"""Batching and the acknowledgement rule: a message is acknowledged only once it is stored.

Messages enter in arrival order and leave in batches bounded by size and by age. A batch is
stored — its points appended to the durable spool, its refused messages committed to the
dead-letter store — before any of its messages is acknowledged, and batches are stored one after
another, so acknowledgements go back to the broker in arrival order. While a batch is being
stored the next one fills; how much can wait unacknowledged is bounded by the MQTT receive
maximum the source announces. When the spool is full the batch waits, unacknowledged: the
broker stops pushing and keeps the rest in the ingester's session (backpressure).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.deadletter import DeadLetter, DeadLetterStore
from ingest.decode import Decoder
from ingest.metrics import IngestMetrics
from ingest.spool import Spool, SpoolFull
from servicekit.aio import sleep_unless

log = logging.getLogger(__name__)

# (connection generation, packet id): a packet id means something only on the connection that
# delivered it; see servicekit.subscriber.Subscriber.ack.
Delivery = tuple[int, int]
AckFn = Callable[[list[Delivery]], object]
SPOOL_FULL_RETRY_S = 0.5


@dataclass
class Batch:
    deliveries: list[Delivery] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    line_topics: list[str] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    received: int = 0
    opened: float = 0.0

    def __len__(self) -> int:
        return len(self.lines) + len(self.letters)


class Pipeline:
    def __init__(
        self,
        decoder: Decoder,
        spool: Spool,
        dead_letters: DeadLetterStore,
        metrics: IngestMetrics,
        *,
        on_stored: Callable[[], None] = lambda: None,
        max_messages: int = 5000,
        max_age_s: float = 0.2,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._decoder = decoder
        self._spool = spool
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._on_stored = on_stored
        self._max_messages = max_messages
        self._max_age_s = max_age_s
        self._clock_ms = clock_ms
        self._batch = Batch()
        self._has_data = asyncio.Event()
        self._full = asyncio.Event()
        self.spool_full = False
        self.acknowledged = 0

    def offer(
        self, generation: int, mid: int, qos: int, topic: str, payload: bytes | bytearray
    ) -> None:
        """Called for every MQTT message, in arrival order, on the event loop's thread."""
        batch = self._batch
        if not batch.received:
            batch.opened = time.monotonic()
            self._has_data.set()
        batch.received += 1
        if qos > 0:
            batch.deliveries.append((generation, mid))
        now = self._clock_ms()
        outcome = self._decoder.decode(topic, payload, now)
        if isinstance(outcome, str):
            batch.lines.append(outcome)
            batch.line_topics.append(topic)
        else:
            batch.letters.append(DeadLetter(now, topic, payload, outcome.reason, outcome.detail))
            self._metrics.rejected.labels(outcome.reason.value).inc()
        if len(batch.deliveries) == self._max_messages:
            self._full.set()

    @property
    def pending(self) -> int:
        return len(self._batch.deliveries)

    async def run(self, ack: AckFn, stopping: asyncio.Event) -> None:
        """Store and acknowledge batches until ``stopping``; then store what is left, once."""
        while not stopping.is_set():
            if not await self._wait_for_batch(stopping):
                break
            await self._flush(ack, stopping)
        await self._flush(ack, stopping)

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

    async def _flush(self, ack: AckFn, stopping: asyncio.Event) -> None:
        batch, self._batch = self._batch, Batch()
        self._has_data.clear()
        self._full.clear()
        if not batch.received:
            return
        if batch.letters:
            await asyncio.to_thread(self._dead_letters.add_many, batch.letters)
            self._metrics.dead_lettered.inc(len(batch.letters))
        if not await self._append(batch, stopping):
            # Not stored, so not acknowledged: the broker redelivers it to the next session.
            log.warning("stopping with %d messages not spooled", len(batch.lines))
            return
        ack(batch.deliveries)
        self.acknowledged += len(batch.deliveries)
        self._metrics.received.inc(batch.received)
        self._metrics.acknowledged.inc(len(batch.deliveries))
        self._metrics.batch_size.observe(len(batch.deliveries))

    async def _append(self, batch: Batch, stopping: asyncio.Event) -> bool:
        now = self._clock_ms()
        while True:
            try:
                await asyncio.to_thread(self._spool.append, batch.lines, batch.line_topics, now)
            except SpoolFull as exc:
                if not self.spool_full:
                    log.error("spool full, no longer acknowledging until it drains: %s", exc)  # noqa: TRY400 - expected state, not a crash
                    self._metrics.spool_full.inc()
                self.spool_full = True
                self._metrics.spool_full_now.set(1)
                if stopping.is_set() or await sleep_unless(stopping, SPOOL_FULL_RETRY_S):
                    return False
                continue
            if self.spool_full:
                log.warning("spool has room again; acknowledging resumes")
            self.spool_full = False
            self._metrics.spool_full_now.set(0)
            self._on_stored()
            return True
