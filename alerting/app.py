"""Wire the evaluator together and run it until SIGTERM/SIGINT.

MQTT (own session) ─▶ inbox ─▶ decode ─▶ Evaluator ─▶ Outbox (SQLite) ─▶ PUBACK
                                             ▲             │
                     every check_interval_s ─┘             └─▶ Sender ─▶ POST /alerts/events
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque
from typing import Any

import httpx

from alerting.engine import Clock, Evaluator, SystemClock
from alerting.metrics import AlertingMetrics
from alerting.outbox import Outbox
from alerting.sender import Sender
from alerting.settings import AlertingSettings
from city.alerts import AlertEvent
from city.inbound import InboundChecker, Rejected, Status, Telemetry
from city.rules import load_rules
from city.topology import load_city
from servicekit.health import health_server
from servicekit.settings import reveal
from servicekit.subscriber import Subscriber

log = logging.getLogger("alerting")

Delivery = tuple[int, int, int, str, bytes | bytearray, float]


class AlertingService:
    def __init__(self, settings: AlertingSettings, clock: Clock | None = None) -> None:
        s = settings
        self.settings = s
        self.metrics = AlertingMetrics()
        self.stopping = asyncio.Event()
        self.clock = clock or SystemClock()
        city = load_city(s.city_file)
        self.evaluator = Evaluator(load_rules(s.rules_file), city, self.clock)
        self.checker = InboundChecker(city, s.inbound_limits())
        self.outbox = Outbox(s.state_dir / "outbox.db")
        self.http = httpx.AsyncClient(timeout=s.api_timeout_s)
        self.sender = Sender(
            self.outbox,
            self.http,
            s.events_url,
            reveal(s.api_key),
            self.metrics,
            batch_max=s.send_batch_max,
        )
        self.source = Subscriber(
            s.mqtt_options(s.mqtt_topic),
            self._offer,
            self.metrics.mqtt,
        )
        self._inbox: deque[Delivery] = deque()
        self._wake = asyncio.Event()
        self.evaluated = 0
        self.failed = False

    # -- the source's callback, on the loop (inside its socket read)
    def _offer(
        self, generation: int, mid: int, qos: int, topic: str, payload: bytes | bytearray
    ) -> None:
        self._inbox.append((generation, mid, qos, topic, payload, time.monotonic()))
        self._wake.set()

    # -- the loop
    def _evaluate(self, item: Delivery) -> list[AlertEvent]:
        decoded = self.checker.check(item[3], item[4], self.clock.now_ms())
        if isinstance(decoded, Rejected):
            self.metrics.skipped.labels(decoded.reason.value).inc()
            log.debug("skipped %s: %s %s", item[3][:200], decoded.reason, decoded.detail)
            return []
        self.metrics.evaluated.inc()
        if isinstance(decoded, Telemetry):
            return self.evaluator.reading(decoded.where, decoded.reading)
        assert isinstance(decoded, Status)
        return self.evaluator.status(decoded.where, decoded.status)

    def _process(self, batch: list[Delivery]) -> None:
        events: list[AlertEvent] = []
        for item in batch:
            try:
                events.extend(self._evaluate(item))
            except Exception:  # one message must never stop the evaluator
                self.metrics.skipped.labels("evaluation_error").inc()
                log.exception("evaluating a message on %s failed; skipped", item[3][:200])
        self._store(events, devices=False)
        self.source.ack((g, mid) for g, mid, qos, *_ in batch if qos)
        done = time.monotonic()
        for item in batch:
            self.metrics.evaluation_latency.observe(done - item[5])
        self.metrics.received.inc(len(batch))
        self.evaluated += len(batch)

    def _store(self, events: list[AlertEvent], *, devices: bool = True) -> None:
        """Events (and what changed of the devices), durably, in one transaction.

        Device records ride along with events, and are otherwise written by the periodic
        check: a commit (an fsync) per batch of ordinary readings would cost the disk that the
        ingester's spool and InfluxDB share, for knowledge that a few seconds' loss does not
        hurt (a device that spoke then speaks again).
        """
        dirty = self.evaluator.devices.take_dirty() if devices or events else []
        self.outbox.put(events, dirty)
        if events:
            for event in events:
                self.metrics.events.labels(event.rule_id, event.status).inc()
                log.info("%s %s %s", event.status, event.fingerprint, event.summary)
            self.sender.notify()
        self.metrics.devices.set(len(self.evaluator.devices))

    async def _consume(self) -> None:
        batch_max = self.settings.batch_max_messages
        while not self.stopping.is_set():
            await self._wake.wait()
            self._wake.clear()
            while self._inbox and not self.stopping.is_set():
                n = min(len(self._inbox), batch_max)
                self._process([self._inbox.popleft() for _ in range(n)])
                await asyncio.sleep(0)  # let the sender and the health server run

    async def _tick(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.settings.check_interval_s)
            if self.stopping.is_set():
                return
            try:
                self._store(self.evaluator.check())
            except Exception:  # the next check tries again
                log.exception("periodic check failed")

    def _watch(self, task: asyncio.Task[None]) -> None:
        """A consumer or ticker that dies (the outbox cannot be written) stops the service: a
        supervisor restarts it, and the unacknowledged messages come again."""
        if task.cancelled() or task.exception() is None or self.stopping.is_set():
            return
        log.critical("the %s task failed; stopping", task.get_name(), exc_info=task.exception())
        self.failed = True
        self.stopping.set()

    def readiness(self) -> dict[str, Any]:
        problems = []
        if not self.source.connected:
            problems.append("not connected to the MQTT broker")
        elif not self.source.subscribed:
            problems.append("not subscribed yet")
        if self.sender.problem:
            problems.append(self.sender.problem)
        return {
            "ready": not problems,
            "status": "ok" if not problems else "degraded",
            "problems": problems,
            "mqtt_connected": self.source.connected,
            "evaluated": self.evaluated,
            "devices": len(self.evaluator.devices),
            "outbox_depth": self.outbox.depth(),
            "dead_letters": len(self.outbox.dead_letters()),
        }

    async def run(self) -> None:
        s = self.settings
        restored = self.evaluator.restore(self.outbox.devices(), self.outbox.open_alerts())
        self._store(restored)
        tasks: list[asyncio.Task[None]] = []
        server = None
        if s.health_port:
            server = health_server(
                self.metrics.registry, self.readiness, s.health_host, s.health_port
            )
            tasks.append(asyncio.create_task(server.serve(), name="health"))
        sender_stop = asyncio.Event()
        sender_task = asyncio.create_task(self.sender.run(sender_stop), name="sender")
        consumer = asyncio.create_task(self._consume(), name="consumer")
        ticker = asyncio.create_task(self._tick(), name="tick")
        consumer.add_done_callback(self._watch)
        ticker.add_done_callback(self._watch)
        source_stop = asyncio.Event()
        mqtt_task = asyncio.create_task(self.source.run(source_stop), name="mqtt")
        log.info(
            "evaluating %s (%d rules, %d no-data, %d correlations) → %s; %d devices known, "
            "%d events waiting",
            s.mqtt_topic,
            len(self.evaluator.book.rules),
            len(self.evaluator.book.no_data),
            len(self.evaluator.book.correlations),
            s.events_url,
            len(self.evaluator.devices),
            self.outbox.depth(),
        )
        await self.stopping.wait()
        # Stop taking messages (what is read but not evaluated is redelivered: it was never
        # acknowledged), disconnect after the acknowledgements, then give the sender the rest
        # of the drain time; the outbox keeps whatever it could not send for the next start.
        self.source.pause()
        self._wake.set()
        await asyncio.gather(consumer, ticker, return_exceptions=True)
        with contextlib.suppress(Exception):  # a broken outbox has been reported already
            self._store([])  # the device records not yet written
        await self.source.close()
        source_stop.set()
        await mqtt_task
        deadline = time.monotonic() + s.drain_timeout_s
        while self.outbox.depth() and not self.sender.problem and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        sender_stop.set()
        await sender_task
        if server is not None:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.http.aclose()
        log.info(
            "stopped: evaluated %d messages, %d events waiting in the outbox",
            self.evaluated,
            self.outbox.depth(),
        )
        self.outbox.close()

    def request_stop(self) -> None:
        self.stopping.set()


async def serve(settings: AlertingSettings) -> bool:
    """Run until stopped; False if it stopped because a task failed."""
    service = AlertingService(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.request_stop)
    await service.run()
    return not service.failed
