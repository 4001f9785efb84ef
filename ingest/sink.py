"""Deliver lines to InfluxDB: retry what may pass later, isolate what never will.

- ``RetryableError`` (InfluxDB down, 5xx, 429/503): back off with jitter and retry the same batch
  until it passes or the ingester stops (then the caller does not acknowledge; the broker keeps
  the messages).
- ``BatchTooLarge`` (413): send the halves.
- ``WriteRejected`` (400/422, including 1.x "partial write"): bisect until the bad lines stand
  alone; they are returned with InfluxDB's error text for the dead-letter store. Rewriting lines
  that already landed is harmless: each point carries its device timestamp, so it overwrites
  itself.
- ``DatabaseNotFound``: create it when configured to; otherwise report it and keep retrying, so
  an operator's fix resumes the flow with nothing lost.
- ``InfluxAuthError``: report and keep retrying, for the same reason.
"""

from __future__ import annotations

import asyncio
import logging
import time

from influxv1 import (
    AsyncInfluxClient,
    BatchTooLarge,
    DatabaseNotFound,
    InfluxAuthError,
    InfluxError,
    RetryableError,
    WriteRejected,
)
from ingest.metrics import IngestMetrics
from servicekit.aio import sleep_unless
from servicekit.backoff import Backoff

log = logging.getLogger(__name__)


class SinkStopped(Exception):
    """The ingester is stopping while InfluxDB still refuses; the batch was not stored."""


class InfluxSink:
    def __init__(
        self,
        client: AsyncInfluxClient,
        metrics: IngestMetrics,
        *,
        create_database: bool,
        stopping: asyncio.Event,
        backoff: Backoff | None = None,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._create_database = create_database
        self._stopping = stopping
        self._backoff = backoff or Backoff()
        self.problem: str | None = None  # why writes fail right now, for /readyz
        self.slowest_write_s = 0.0  # since the platform stats last took it

    async def write(self, body: bytes, count: int) -> list[tuple[int, str]]:
        """Store newline-joined lines; return (index, InfluxDB's reason) of lines refused for good.

        The body goes out as it is; only when InfluxDB refuses part of it is it split into lines.
        """
        rejected: list[tuple[int, str]] = []
        if count:
            await self._write_range(body, None, 0, count, rejected)
        return rejected

    async def _write_range(
        self,
        body: bytes,
        lines: list[bytes] | None,
        lo: int,
        hi: int,
        rejected: list[tuple[int, str]],
    ) -> None:
        while True:
            started = time.perf_counter()
            try:
                await self._client.write(body)
            except RetryableError as exc:
                await self._wait(type(exc).__name__, str(exc), exc.retry_after)
                continue
            except DatabaseNotFound as exc:
                await self._missing_database(exc)
                continue
            except InfluxAuthError as exc:
                await self._wait("InfluxAuthError", str(exc), None)
                continue
            except (BatchTooLarge, WriteRejected) as exc:
                self._metrics.write_errors.labels(type(exc).__name__).inc()
                if hi - lo == 1:
                    rejected.append((lo, str(exc)))
                    return
                if lines is None:
                    lines = body.split(b"\n")
                mid = (lo + hi) // 2
                await self._write_range(b"\n".join(lines[lo:mid]), lines, lo, mid, rejected)
                await self._write_range(b"\n".join(lines[mid:hi]), lines, mid, hi, rejected)
                return
            elapsed = time.perf_counter() - started
            self._metrics.write_latency.observe(elapsed)
            self.slowest_write_s = max(self.slowest_write_s, elapsed)
            self._metrics.written.inc(hi - lo)
            self._metrics.influx_up.set(1)
            self.problem = None
            self._backoff.reset()
            return

    async def _missing_database(self, exc: DatabaseNotFound) -> None:
        database = self._client.target.database
        if not self._create_database:
            await self._wait(
                "DatabaseNotFound",
                f"database {database!r} does not exist and creating it is switched off "
                "(TIANQU_INGEST_INFLUX_CREATE_DATABASE=false): create it, writes resume",
                None,
            )
            return
        try:
            await self._client.create_database()
            log.warning("created InfluxDB database %r", database)
        except InfluxError as create_exc:
            await self._wait("DatabaseNotFound", f"{exc}; creating it failed: {create_exc}", None)

    async def _wait(self, error: str, message: str, retry_after: float | None) -> None:
        self._metrics.write_errors.labels(error).inc()
        self._metrics.influx_up.set(0)
        if self.problem != message:
            log.error("InfluxDB write failed, retrying: %s", message)
        self.problem = message
        if self._stopping.is_set():
            raise SinkStopped(message)
        if await sleep_unless(self._stopping, self._backoff.next_delay(retry_after)):
            raise SinkStopped(message)
