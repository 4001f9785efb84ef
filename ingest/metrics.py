"""Prometheus metrics of one ingester, in a registry of its own (tests run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from servicekit.subscriber import SubscriberMetrics


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.mqtt = SubscriberMetrics(r, "tianqu_ingest")
        self.received = Counter("tianqu_ingest_received", "MQTT messages received", registry=r)
        self.acknowledged = Counter(
            "tianqu_ingest_acknowledged", "messages acknowledged to the broker", registry=r
        )
        self.written = Counter(
            "tianqu_ingest_points_written", "points accepted by InfluxDB", registry=r
        )
        self.rejected = Counter(
            "tianqu_ingest_rejected", "messages refused, by reason", ["reason"], registry=r
        )
        self.dead_lettered = Counter(
            "tianqu_ingest_dead_lettered", "messages stored in the dead-letter store", registry=r
        )
        self.write_errors = Counter(
            "tianqu_ingest_write_errors", "failed InfluxDB writes, by class", ["error"], registry=r
        )
        self.unacked = Gauge(
            "tianqu_ingest_unacked", "messages received and not yet acknowledged", registry=r
        )
        self.influx_up = Gauge(
            "tianqu_ingest_influx_up", "1 while the last InfluxDB write succeeded", registry=r
        )
        self.spool_depth = Gauge(
            "tianqu_ingest_spool_depth", "points in the spool, not yet in InfluxDB", registry=r
        )
        self.spool_bytes = Gauge("tianqu_ingest_spool_bytes", "bytes in the spool", registry=r)
        self.spool_oldest_age = Gauge(
            "tianqu_ingest_spool_oldest_age_seconds", "age of the oldest spooled batch", registry=r
        )
        self.spool_full = Counter(
            "tianqu_ingest_spool_full", "times the spool filled up (backpressure)", registry=r
        )
        self.spool_full_now = Gauge(
            "tianqu_ingest_spool_full_now", "1 while the spool is full (ALERT)", registry=r
        )
        self.batch_size = Histogram(
            "tianqu_ingest_batch_size",
            "messages per flushed batch",
            buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 20000),
            registry=r,
        )
        self.lag = Histogram(
            "tianqu_ingest_lag_seconds",
            "from spooling to stored in InfluxDB, per write (its oldest point)",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=r,
        )
        self.write_latency = Histogram(
            "tianqu_ingest_write_seconds",
            "InfluxDB write request latency",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )

    def total(self, name: str) -> float:
        """The sum of a metric's samples over all label values (0 when it has none yet)."""
        return sum(
            sample.value
            for metric in self.registry.collect()
            for sample in metric.samples
            if sample.name == name
        )
