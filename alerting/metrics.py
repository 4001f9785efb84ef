"""Prometheus metrics of one evaluator, in a registry of its own (tests run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from servicekit.subscriber import SubscriberMetrics

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class AlertingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.mqtt = SubscriberMetrics(r, "tianqu_alerting")
        self.received = Counter(
            "tianqu_alerting_received", "MQTT messages received and processed", registry=r
        )
        self.evaluated = Counter(
            "tianqu_alerting_messages_evaluated", "messages run through the rules", registry=r
        )
        self.skipped = Counter(
            "tianqu_alerting_messages_skipped",
            "messages not evaluated (malformed, unknown area…), by reason",
            ["reason"],
            registry=r,
        )
        self.events = Counter(
            "tianqu_alerting_events",
            "alert events emitted, by rule and status",
            ["rule", "status"],
            registry=r,
        )
        self.delivered = Counter(
            "tianqu_alerting_events_delivered", "events the API answered 2xx for", registry=r
        )
        self.send_failures = Counter(
            "tianqu_alerting_send_failures",
            "failed deliveries to the API, by class",
            ["error"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "tianqu_alerting_dead_lettered", "events the API refused for good", registry=r
        )
        self.outbox_depth = Gauge(
            "tianqu_alerting_outbox_depth", "events waiting to be delivered", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "tianqu_alerting_outbox_oldest_age_seconds",
            "age of the oldest undelivered event",
            registry=r,
        )
        self.devices = Gauge("tianqu_alerting_devices", "devices the evaluator knows", registry=r)
        self.evaluation_latency = Histogram(
            "tianqu_alerting_evaluation_seconds",
            "from a message's arrival to its events stored in the outbox (and its ack)",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.delivery_latency = Histogram(
            "tianqu_alerting_delivery_seconds",
            "from an event stored in the outbox to the API's 2xx",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
