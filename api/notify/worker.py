"""The background worker: claims due deliveries and sends them, each channel on its own.

Per channel the worker keeps at most ``concurrency_for(channel)`` sends in flight and claims
only as many rows as it has free slots for that channel, so deliveries of a hanging webhook
stay unclaimed in the outbox (where another replica, or this one later, picks them up) instead
of queuing in front of email or the screens. Every send runs under the channel's timeout. The
database work (claims, records) runs on two threads of the worker's own, apart from the threads
email uses and from FastAPI's pool.

A failed send is retried with exponential backoff and jitter (``backoff.py``), no sooner than
the receiver's ``Retry-After``; after ``max_attempts`` (or a permanent refusal) the delivery is
``failed`` with the last error. Every attempt is a row in ``notify_attempts``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from api.models.tables import utcnow
from api.notify import outbox
from api.notify.backoff import retry_delay
from api.notify.channels import Channel, build_channels
from api.notify.errors import DeliveryError, RetryableError
from api.notify.metrics import NotifyMetrics
from api.notify.models import ChannelName
from api.notify.outbox import Delivery, Outcome
from api.notify.settings import NotifySettings

log = logging.getLogger(__name__)
T = TypeVar("T")
DB_ERROR_PAUSE_S = 2.0


class NotificationWorker:
    """Start with :meth:`start` (inside a running loop, e.g. the app's lifespan) and
    :meth:`stop`, or run ``await worker.run(stop_event)`` yourself."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        settings: NotifySettings,
        *,
        channels: Mapping[ChannelName, Channel] | None = None,
        metrics: NotifyMetrics | None = None,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.name = name or f"{socket.gethostname()[:40]}:{os.getpid()}:{id(self) % 10_000}"
        self.metrics = metrics or NotifyMetrics()
        self._sessions = sessions
        self._channels: Mapping[ChannelName, Channel] | None = channels
        self._own_channels = channels is None
        self._in_flight: dict[ChannelName, set[asyncio.Task[None]]] = {}
        self._claimed: dict[asyncio.Task[None], Delivery] = {}
        self._db: ThreadPoolExecutor | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_app_state(cls, state: Any, **kwargs: Any) -> NotificationWorker:
        """For the API: ``state.database.sessions`` and ``state.settings.notify``."""
        return cls(state.database.sessions, state.settings.notify, **kwargs)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self.run(self._stop), name=f"notify-worker {self.name}"
        )

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll (e.g. after a commit)."""
        self._wake.set()

    async def run(self, stop_event: asyncio.Event) -> None:
        channels = self._open_channels()
        stopping = asyncio.create_task(stop_event.wait())
        try:
            while not stop_event.is_set():
                self._wake.clear()
                try:
                    await self.claim_round(channels)
                except Exception:  # a database hiccup must not end the worker
                    log.exception("notify: claiming deliveries failed; trying again shortly")
                    await asyncio.wait({stopping}, timeout=DB_ERROR_PAUSE_S)
                    continue
                waker = asyncio.create_task(self._wake.wait())
                await asyncio.wait(
                    {stopping, waker}, timeout=self.settings.poll_interval_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )  # fmt: skip
                waker.cancel()
        finally:
            stopping.cancel()
            await self._drain()
            await self.aclose()

    async def run_once(self) -> int:
        """Claim one round and wait for those sends to finish (tests, one-shot tools); call
        :meth:`aclose` when done."""
        channels = self._open_channels()
        started = await self.claim_round(channels)
        tasks = [t for group in self._in_flight.values() for t in group]
        if tasks:
            await asyncio.wait(tasks)
        return started

    async def aclose(self) -> None:
        """Close the channels this worker built and its database threads."""
        if self._channels is not None and self._own_channels:
            await self._close_channels(self._channels)
            self._channels = None
        if self._db is not None:
            self._db.shutdown(wait=False)
            self._db = None

    # --- the work ----------------------------------------------------------------------------

    def _open_channels(self) -> Mapping[ChannelName, Channel]:
        if self._channels is None:
            self._channels = build_channels(self.settings)
        return self._channels

    async def _db_call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            with self._sessions() as session:
                return fn(session, *args, **kwargs)

        if self._db is None:
            self._db = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify-db")
        return await asyncio.get_running_loop().run_in_executor(self._db, call)

    async def claim_round(self, channels: Mapping[ChannelName, Channel]) -> int:
        """Claim what each channel has room for and start sending it; returns how many."""
        started = 0
        for name, channel in channels.items():
            group = self._in_flight.setdefault(name, set())
            free = self.settings.concurrency_for(name) - len(group)
            if free <= 0:
                continue
            deliveries = await self._db_call(
                outbox.claim, name, free, worker=self.name, ttl_s=self.settings.claim_ttl_s
            )
            for delivery in deliveries:
                task = asyncio.create_task(
                    self._deliver(channel, delivery), name=f"notify {name} #{delivery.id}"
                )
                group.add(task)
                self._claimed[task] = delivery
                task.add_done_callback(self._finished(name))
                started += 1
        return started

    def _finished(self, name: ChannelName) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self._in_flight[name].discard(task)
            self._claimed.pop(task, None)
            self._wake.set()  # a slot is free: this channel may have more waiting

        return done

    async def _deliver(self, channel: Channel, delivery: Delivery) -> None:
        name = delivery.channel
        started_at = utcnow()
        clock = time.monotonic()
        error: DeliveryError | None = None
        try:
            async with asyncio.timeout(self.settings.timeout_for(name)):
                await channel.send(delivery)
        except DeliveryError as exc:
            error = exc
        except TimeoutError:
            error = RetryableError(f"no answer within {self.settings.timeout_for(name):g} s")
        except Exception as exc:  # a channel bug is recorded, not fatal
            log.exception("notify: %s channel failed on delivery %s", name, delivery.id)
            error = RetryableError(f"{type(exc).__name__}: {exc}")
        latency_s = time.monotonic() - clock
        self.metrics.latency.labels(name.value).observe(latency_s)
        outcome = self._outcome(delivery, error, started_at, latency_s)
        try:
            kept = await self._db_call(outbox.record, delivery, outcome, worker=self.name)
        except Exception:  # the claim expires and the delivery is tried again
            log.exception("notify: could not record delivery %s", delivery.id)
            return
        if not kept:
            log.warning("notify: delivery %s was claimed by another worker meanwhile", delivery.id)

    def _outcome(
        self,
        delivery: Delivery,
        error: DeliveryError | None,
        started_at: datetime,
        latency_s: float,
    ) -> Outcome:
        name = delivery.channel.value
        latency_ms = round(latency_s * 1000, 3)
        if error is None:
            self.metrics.sent.labels(name).inc()
            return Outcome(True, started_at, latency_ms)
        s = self.settings
        if error.retryable and delivery.attempt < s.max_attempts:
            delay = retry_delay(
                delivery.attempt,
                base_s=s.backoff_base_s,
                max_s=s.backoff_max_s,
                retry_after_s=error.retry_after,
                retry_after_max_s=s.retry_after_max_s,
            )
            self.metrics.retries.labels(name).inc()
            log.info("notify: %s #%s failed (%s); retry in %.1f s", name, delivery.id, error, delay)
            return Outcome(
                False, started_at, latency_ms, error.detail, error.status_code,
                retry_at=utcnow() + timedelta(seconds=delay),
            )  # fmt: skip
        self.metrics.failed.labels(name).inc()
        why = "refused" if not error.retryable else f"gave up after {delivery.attempt} attempts"
        log.warning("notify: %s #%s %s: %s", name, delivery.id, why, error)
        return Outcome(False, started_at, latency_ms, error.detail, error.status_code)

    async def _drain(self) -> None:
        tasks = [t for group in self._in_flight.values() for t in group]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.settings.drain_timeout_s)
        unsent = [self._claimed[t] for t in pending if t in self._claimed]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        if unsent:
            try:
                await self._db_call(outbox.release, unsent)
            except Exception:  # the claims expire by themselves
                log.exception("notify: could not release %d claims", len(unsent))

    async def _close_channels(self, channels: Mapping[ChannelName, Channel]) -> None:
        for channel in channels.values():
            try:
                await channel.aclose()
            except Exception:  # closing is best effort
                log.exception("notify: closing the %s channel failed", channel.name)
