"""The ingester's own health, written to InfluxDB every 10 s as ``platform_stats``.

The platform board (dashboards/boards/platform.py, 平台运行状态) charts these points from the
same InfluxDB as everything else, so operators need no second data source. Counters are
cumulative since the process started (the board takes their rate); gauges are the value now,
or the mean/max since the previous report. Writing is best effort: when InfluxDB is down the
point is skipped — the spool, not this, is what keeps telemetry safe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from city.lineprotocol import encode_line
from influxv1 import AsyncInfluxClient, InfluxError
from ingest.metrics import IngestMetrics
from ingest.sink import InfluxSink
from ingest.spool import Spool
from servicekit.aio import sleep_unless

log = logging.getLogger(__name__)

MEASUREMENT = "platform_stats"
REPORT_EVERY_S = 10.0


class PlatformReporter:
    def __init__(
        self,
        metrics: IngestMetrics,
        sink: InfluxSink,
        spool: Spool,
        unacked: Callable[[], int],
        instance: str,
        *,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._metrics = metrics
        self._sink = sink
        self._spool = spool
        self._unacked = unacked
        self._instance = instance
        self._clock_ms = clock_ms
        self._last: dict[str, float] = {}

    def _delta(self, name: str) -> float:
        value = self._metrics.total(name)
        delta = value - self._last.get(name, 0.0)
        self._last[name] = value
        return delta

    def _mean_since_last(self, histogram: str) -> float:
        total = self._delta(f"{histogram}_sum")
        count = self._delta(f"{histogram}_count")
        return total / count if count else 0.0

    def line(self) -> str:
        m = self._metrics
        now = self._clock_ms()
        oldest = self._spool.oldest_ms()
        slowest, self._sink.slowest_write_s = self._sink.slowest_write_s, 0.0
        fields: dict[str, int | float] = {
            "received": int(m.total("tianqu_ingest_received_total")),
            "acknowledged": int(m.total("tianqu_ingest_acknowledged_total")),
            "points_written": int(m.total("tianqu_ingest_points_written_total")),
            "dead_lettered": int(m.total("tianqu_ingest_dead_lettered_total")),
            "write_errors": int(m.total("tianqu_ingest_write_errors_total")),
            "unacked": self._unacked(),
            "spool_depth": self._spool.depth(),
            "spool_oldest_age_s": 0.0 if oldest is None else max(0, now - oldest) / 1000,
            "lag_s": self._mean_since_last("tianqu_ingest_lag_seconds"),
            "write_latency_mean_s": self._mean_since_last("tianqu_ingest_write_seconds"),
            "write_latency_max_s": float(slowest),
            "mqtt_connected": int(m.total("tianqu_ingest_mqtt_connected")),
            "influx_up": int(m.total("tianqu_ingest_influx_up")),
        }
        tags = {"service": "ingest", "instance": self._instance}
        return encode_line(MEASUREMENT, tags, fields, now)

    async def run(
        self, client: AsyncInfluxClient, stopping: asyncio.Event, every_s: float = REPORT_EVERY_S
    ) -> None:
        while not await sleep_unless(stopping, every_s):
            try:
                await client.write(self.line().encode())
            except InfluxError as exc:
                log.debug("platform stats not written: %s", exc)
