"""Deliver the outbox to the incident service: ``POST /alerts/events`` in batches, in order.

Errors are classified in one place (:func:`classify`):

- 2xx: delivered; the events leave the outbox. If the answer lists per-event results
  (``{"results": [...]}``, one per event, in order) and one says it was refused (an HTTP
  status ≥ 400 in ``status``/``status_code``/``code``, an ``error``, or ``accepted: false``),
  that event goes to the dead-letter table instead;
- network errors, 408, 425, 429 and 5xx: retried with exponential backoff and full jitter,
  never sooner than the server's ``Retry-After``;
- 401, 403 and 404: the key or the URL is wrong. Retried like an outage (and the service
  reports itself not ready) rather than dead-lettering every alert of the city;
- any other 4xx (400, 413, 422…): the batch is split in halves until the refused event stands
  alone; it is dead-lettered with the answer and the others go through.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import orjson

from alerting.metrics import AlertingMetrics
from alerting.outbox import Outbox, Pending
from servicekit.backoff import Backoff

log = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0
_RETRY_STATUSES = frozenset({408, 425, 429})
_CONFIG_STATUSES = frozenset({401, 403, 404})


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    SPLIT = "split"  # a 4xx about the content: bisect, then dead-letter the one at fault


@dataclass(frozen=True, slots=True)
class Answer:
    verdict: Verdict
    error: str = ""  # the failure class, for the metric
    retry_after_s: float | None = None
    http_status: int | None = None
    detail: str = ""


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify(status: int, headers: httpx.Headers, text: str) -> Answer:
    if 200 <= status < 300:
        return Answer(Verdict.DELIVERED, http_status=status)
    after = retry_after(headers.get("retry-after"))
    detail = text[:500]
    if status in _RETRY_STATUSES or status >= 500:
        error = "throttled" if status == 429 else f"http_{status // 100}xx"
        return Answer(Verdict.RETRY, error, after, status, detail)
    if status in _CONFIG_STATUSES:
        return Answer(Verdict.RETRY, f"http_{status}", after, status, detail)
    return Answer(Verdict.SPLIT, f"http_{status}", None, status, detail)


def refused(result: Any) -> str | None:
    """Why a per-event result says the event was refused, or None if it was taken."""
    if not isinstance(result, dict):
        return None
    for key in ("status_code", "code", "status"):
        code = result.get(key)
        if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
            return orjson.dumps(result).decode()[:500]
    if result.get("error") or result.get("accepted") is False or result.get("ok") is False:
        return orjson.dumps(result).decode()[:500]
    return None


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        client: httpx.AsyncClient,
        url: str,
        api_key: str | None,
        metrics: AlertingMetrics,
        *,
        batch_max: int = 200,
        backoff: Backoff | None = None,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.url = url
        self.headers = {"content-type": "application/json"}
        if api_key:
            self.headers["X-API-Key"] = api_key
        self.metrics = metrics
        self.batch_max = batch_max
        self.backoff = backoff or Backoff(base_s=0.2, cap_s=30.0)
        self.problem: str | None = None
        self._wake = asyncio.Event()

    def notify(self) -> None:
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self._wake.clear()
            batch = self.outbox.peek(self.batch_max)
            self._gauges()
            if not batch:
                await _wait(self._wake, stopping, IDLE_WAIT_S)
                continue
            answer = await self._deliver(batch)
            self._gauges()
            if answer.verdict is Verdict.RETRY:
                delay = self.backoff.next_delay(answer.retry_after_s)
                log.warning(
                    "delivery to %s failed (%s %s); %d events wait, retry in %.1f s",
                    self.url,
                    answer.error,
                    answer.detail[:200],
                    self.outbox.depth(),
                    delay,
                )
                await _wait(stopping, stopping, delay)
            else:
                self.backoff.reset()

    async def _deliver(self, batch: list[Pending]) -> Answer:
        """Post a batch; bisect on a content 4xx. RETRY means nothing further was removed."""
        answer = await self._post(batch)
        if answer.verdict is Verdict.SPLIT:
            if len(batch) == 1:
                log.error(
                    "the API refused %s (%s): dead-lettered: %s",
                    batch[0].fingerprint,
                    answer.http_status,
                    answer.detail,
                )
                self.outbox.dead_letter(batch[0], answer.http_status, answer.detail)
                self.metrics.dead_lettered.inc()
                return Answer(Verdict.DELIVERED)
            half = len(batch) // 2
            first = await self._deliver(batch[:half])
            if first.verdict is Verdict.RETRY:
                return first
            return await self._deliver(batch[half:])
        return answer

    async def _post(self, batch: list[Pending]) -> Answer:
        body = b'{"events":[' + ",".join(p.body for p in batch).encode() + b"]}"
        try:
            response = await self.client.post(self.url, content=body, headers=self.headers)
        except httpx.HTTPError as exc:
            self.metrics.send_failures.labels("network").inc()
            self.problem = f"cannot reach the API: {type(exc).__name__}: {exc}"
            return Answer(Verdict.RETRY, "network", detail=str(exc))
        answer = classify(response.status_code, response.headers, response.text)
        if answer.verdict is not Verdict.DELIVERED:
            self.metrics.send_failures.labels(answer.error).inc()
            if answer.verdict is Verdict.RETRY:
                self.problem = f"API answered {response.status_code}: {answer.detail[:200]}"
            return answer
        self.problem = None
        self._settle(batch, response)
        return answer

    def _settle(self, batch: list[Pending], response: httpx.Response) -> None:
        results: Any = None
        try:
            results = response.json().get("results")
        except (ValueError, AttributeError):
            results = None
        if not isinstance(results, list) or len(results) != len(batch):
            results = [None] * len(batch)
        taken = []
        now = time.time_ns() // 1_000_000
        for item, result in zip(batch, results, strict=True):
            why = refused(result)
            if why is None:
                taken.append(item.id)
                self.metrics.delivery_latency.observe(max(0, now - item.created_ms) / 1000)
                continue
            log.error("the API refused %s: dead-lettered: %s", item.fingerprint, why)
            self.outbox.dead_letter(item, response.status_code, why)
            self.metrics.dead_lettered.inc()
        self.outbox.remove(taken)
        self.metrics.delivered.inc(len(taken))

    def _gauges(self) -> None:
        self.metrics.outbox_depth.set(self.outbox.depth())
        oldest = self.outbox.oldest_ms() if self.outbox.depth() else None
        age = 0.0 if oldest is None else (time.time_ns() // 1_000_000 - oldest) / 1000
        self.metrics.outbox_oldest_age.set(age)


async def _wait(event: asyncio.Event, stopping: asyncio.Event, within_s: float) -> None:
    """Until ``event`` or ``stopping`` is set, or ``within_s`` passes."""
    waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(stopping.wait())}
    try:
        await asyncio.wait(waiters, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
