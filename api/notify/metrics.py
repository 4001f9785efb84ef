"""Prometheus counters of the notifier, by channel, in a registry of the worker's own.

Pass ``prometheus_client.REGISTRY`` to put them on the process's default registry (what a
``/metrics`` route built on ``generate_latest()`` serves); tests run several workers, each
with its own.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.sent = Counter(
            "tianqu_notify_sent", "deliveries that went through", ["channel"], registry=r
        )
        self.failed = Counter(
            "tianqu_notify_failed",
            "deliveries given up (attempts exhausted or refused for good)",
            ["channel"],
            registry=r,
        )
        self.retries = Counter(
            "tianqu_notify_retries",
            "failed attempts that will be tried again",
            ["channel"],
            registry=r,
        )
        self.latency = Histogram(
            "tianqu_notify_attempt_seconds",
            "time of one send attempt",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
