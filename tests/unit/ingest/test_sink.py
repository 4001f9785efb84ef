"""The sink's classification, against a scripted InfluxDB (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from influxv1 import AsyncInfluxClient, InfluxTarget
from ingest.metrics import IngestMetrics
from ingest.sink import InfluxSink, SinkStopped
from servicekit.backoff import Backoff

Handler = Callable[[httpx.Request], httpx.Response]


def _sink(handler: Handler, *, create_database: bool = True) -> tuple[InfluxSink, asyncio.Event]:
    client = AsyncInfluxClient(
        InfluxTarget("http://influx.test", "tianqu"), transport=httpx.MockTransport(handler)
    )
    stopping = asyncio.Event()
    sink = InfluxSink(
        client,
        IngestMetrics(),
        create_database=create_database,
        stopping=stopping,
        backoff=Backoff(base_s=0.001, cap_s=0.002),
    )
    return sink, stopping


def test_retryable_answers_are_retried_until_they_pass() -> None:
    answers = [503, 500, 429, 204]
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(answers.pop(0), headers={"Retry-After": "0"})

    sink, _ = _sink(handler)
    assert asyncio.run(sink.write(b"a f=1i 1\nb f=1i 1", 2)) == []
    assert seen == [b"a f=1i 1\nb f=1i 1"] * 4
    assert sink.problem is None


def test_retry_after_is_honoured() -> None:
    delays = []
    backoff = Backoff(base_s=0.0001, cap_s=10)
    original = backoff.next_delay

    def spy(retry_after: float | None = None) -> float:
        delay = original(retry_after)
        delays.append(delay)
        return 0.0 if delay >= 2 else delay

    backoff.next_delay = spy  # type: ignore[method-assign]
    answers = [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(204)]
    sink, _ = _sink(lambda _: answers.pop(0))
    sink._backoff = backoff
    asyncio.run(sink.write(b"a f=1i 1", 1))
    assert delays and delays[0] >= 2


def test_bad_lines_are_isolated_by_bisection_and_the_rest_written() -> None:
    stored: set[str] = set()
    lines = [f"m,d={i} f=1i 1" for i in range(20)]
    bad = {lines[3], lines[17]}

    def handler(request: httpx.Request) -> httpx.Response:
        batch = request.content.decode().split("\n")
        good = [line for line in batch if line not in bad]
        stored.update(good)
        if len(good) < len(batch):
            return httpx.Response(400, json={"error": "partial write: field type conflict"})
        return httpx.Response(204)

    sink, _ = _sink(handler)
    rejected = asyncio.run(sink.write("\n".join(lines).encode(), len(lines)))
    assert sorted(index for index, _ in rejected) == [3, 17]
    assert all("field type conflict" in reason for _, reason in rejected)
    assert stored == set(lines) - bad


def test_a_batch_too_large_is_sent_in_halves() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        count = request.content.count(b"\n") + 1
        sizes.append(count)
        return httpx.Response(413 if count > 4 else 204)

    sink, _ = _sink(handler)
    body = "\n".join(f"m f={i}i 1" for i in range(16)).encode()
    assert asyncio.run(sink.write(body, 16)) == []
    assert sizes[:3] == [16, 8, 4]
    assert sum(size for size in sizes if size <= 4) == 16


def test_a_missing_database_is_created_when_allowed() -> None:
    created = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/query":
            created.append(request.content)
            return httpx.Response(200, json={"results": [{"statement_id": 0}]})
        if not created:
            return httpx.Response(404, json={"error": 'database not found: "tianqu"'})
        return httpx.Response(204)

    sink, _ = _sink(handler)
    asyncio.run(sink.write(b"m f=1i 1", 1))
    assert len(created) == 1 and b"CREATE+DATABASE" in created[0]


def test_a_missing_database_is_reported_and_waited_for_when_creation_is_off() -> None:
    async def scenario() -> str | None:
        sink, stopping = _sink(
            lambda _: httpx.Response(404, json={"error": "database not found"}),
            create_database=False,
        )
        task = asyncio.create_task(sink.write(b"m f=1i 1", 1))
        await asyncio.sleep(0.05)
        problem = sink.problem
        stopping.set()
        with pytest.raises(SinkStopped):
            await task
        return problem

    problem = asyncio.run(scenario())
    assert problem is not None and "does not exist" in problem


def test_an_unreachable_influxdb_stops_cleanly_when_asked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def scenario() -> None:
        sink, stopping = _sink(handler)
        task = asyncio.create_task(sink.write(b"m f=1i 1", 1))
        await asyncio.sleep(0.05)
        assert sink.problem is not None and "unreachable" in sink.problem
        stopping.set()
        with pytest.raises(SinkStopped):
            await task

    asyncio.run(scenario())
