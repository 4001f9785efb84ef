"""Wire the stages together and run them until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

from city.topology import load_city
from influxv1 import AsyncInfluxClient, InfluxTarget
from ingest.deadletter import DeadLetterStore
from ingest.decode import Decoder
from ingest.metrics import IngestMetrics
from ingest.pipeline import Pipeline
from ingest.settings import IngestSettings
from ingest.sink import InfluxSink
from ingest.spool import Spool
from ingest.spool.memory import MemorySpool
from ingest.spool.sqlite import SqliteSpool
from ingest.stats import PlatformReporter
from ingest.writer import SpoolWriter
from servicekit.health import health_server
from servicekit.settings import reveal
from servicekit.subscriber import Subscriber

log = logging.getLogger("ingest")


async def _within(task: asyncio.Task[None], deadline: float, what: str) -> None:
    remaining = max(0.0, deadline - asyncio.get_running_loop().time())
    try:
        await asyncio.wait_for(task, timeout=remaining)
    except TimeoutError:
        log.warning("drain time over while %s; the rest is kept for the next start", what)


class Ingester:
    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.metrics = IngestMetrics()
        self.stopping = asyncio.Event()
        s = settings
        self.influx = AsyncInfluxClient(
            InfluxTarget(
                url=s.influx_url,
                database=s.influx_database,
                username=s.influx_username,
                password=reveal(s.influx_password),
                token=reveal(s.influx_token),
            ),
            timeout=s.influx_timeout_s,
        )
        self.dead_letters = DeadLetterStore(
            s.state_dir / "dead_letters.db",
            payload_bytes=s.dead_letter_payload_bytes,
            max_rows=s.dead_letter_max_rows,
        )
        self.sink = InfluxSink(
            self.influx,
            self.metrics,
            create_database=s.influx_create_database,
            stopping=self.stopping,
        )
        capacity = s.spool_capacity_mb * 1024 * 1024
        self.spool: Spool = (
            SqliteSpool(s.state_dir / "spool.db", capacity_bytes=capacity)
            if s.spool == "sqlite"
            else MemorySpool(capacity_bytes=capacity)
        )
        self.writer = SpoolWriter(
            self.spool,
            self.sink,
            self.dead_letters,
            self.metrics,
            max_lines=s.write_max_lines,
            concurrency=s.write_concurrency,
        )
        decoder = Decoder(load_city(s.city_file), s.inbound_limits())
        self.pipeline = Pipeline(
            decoder,
            self.spool,
            self.dead_letters,
            self.metrics,
            on_stored=self.writer.notify,
            max_messages=s.batch_max_messages,
            max_age_s=s.batch_max_age_ms / 1000,
        )
        self.source = Subscriber(
            s.mqtt_options(s.subscription),
            self.pipeline.offer,
            self.metrics.mqtt,
        )

    def readiness(self) -> dict[str, Any]:
        problems = []
        if not self.source.connected:
            problems.append("not connected to the MQTT broker")
        if self.sink.problem:
            problems.append(f"InfluxDB: {self.sink.problem}")
        if self.pipeline.spool_full:
            problems.append("spool full: not acknowledging, the broker holds the backlog")
        oldest = self.spool.oldest_ms()
        return {
            "ready": not problems,
            "status": "ok" if not problems else "degraded",
            "problems": problems,
            "mqtt_connected": self.source.connected,
            "unacknowledged": self.pipeline.pending,
            "spool_depth": self.spool.depth(),
            "spool_bytes": self.spool.size_bytes(),
            "spool_oldest_age_s": None
            if oldest is None
            else (time.time_ns() // 10**6 - oldest) / 1000,
        }

    async def run(self) -> None:
        s = self.settings
        server = None
        tasks = []
        if s.health_port:
            server = health_server(
                self.metrics.registry, self.readiness, s.health_host, s.health_port
            )
            tasks.append(asyncio.create_task(server.serve(), name="health"))
        source_stop = asyncio.Event()
        mqtt_task = asyncio.create_task(self.source.run(source_stop), name="mqtt")
        pipeline_task = asyncio.create_task(
            self.pipeline.run(self.source.ack, self.stopping), name="pipeline"
        )
        writer_task = asyncio.create_task(self.writer.run(self.stopping), name="writer")
        reporter = PlatformReporter(
            self.metrics,
            self.sink,
            self.spool,
            self.source.unacknowledged,
            instance=s.mqtt_client_id,
        )
        tasks.append(
            asyncio.create_task(
                reporter.run(self.influx, self.stopping, s.stats_every_s), name="stats"
            )
        )
        log.info(
            "ingesting %s → %s db=%s (spool: %s, %d points waiting)",
            s.subscription,
            s.influx_url,
            s.influx_database,
            s.spool,
            self.spool.depth(),
        )
        await self.stopping.wait()
        # Stop reading; spool and acknowledge what was read; disconnect; then give the writer
        # what is left of the drain time. Whatever is still spooled is written on the next start.
        deadline = asyncio.get_running_loop().time() + s.drain_timeout_s
        self.source.pause()
        await _within(pipeline_task, deadline, "spooling the last batch")
        await self.source.close()
        source_stop.set()
        await mqtt_task
        await _within(writer_task, deadline, "writing the spool to InfluxDB")
        if server is not None:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.influx.aclose()
        self.spool.close()
        self.dead_letters.close()
        log.info(
            "stopped: received %d, acknowledged %d, unacknowledged %d, %d points left in the spool",
            self.source.received,
            self.pipeline.acknowledged,
            self.pipeline.pending,
            self.spool.depth(),
        )

    def request_stop(self) -> None:
        self.stopping.set()


async def serve(settings: IngestSettings) -> None:
    ingester = Ingester(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ingester.request_stop)
    await ingester.run()
