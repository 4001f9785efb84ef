"""Delivery rules against a mock transport: 2xx, retries, Retry-After, refusals, bisection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest

from alerting.metrics import AlertingMetrics
from alerting.outbox import Outbox
from alerting.sender import Sender, Verdict, classify, retry_after
from servicekit.backoff import Backoff
from tests.unit.alerting.test_outbox import event

Handler = Callable[[httpx.Request], httpx.Response]


def _sender(tmp_path: Path, handler: Handler, n: int = 4) -> tuple[Sender, Outbox, list[int]]:
    box = Outbox(tmp_path / "outbox.db")
    box.put([event(f"mh-{i:03d}-x") for i in range(n)])
    sizes: list[int] = []

    def record(request: httpx.Request) -> httpx.Response:
        sizes.append(len(orjson.loads(request.content)["events"]))
        return handler(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    sender = Sender(box, client, "http://api/alerts/events", "tqk_x_y", AlertingMetrics())
    return sender, box, sizes


def _deliver(sender: Sender) -> Verdict:
    return asyncio.run(sender._deliver(sender.outbox.peek(100))).verdict


def test_2xx_removes_the_batch_and_sends_the_key(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{"status": "created"}] * 4})

    sender, box, sizes = _sender(tmp_path, ok)
    assert _deliver(sender) is Verdict.DELIVERED
    assert box.depth() == 0
    assert sizes == [4]
    assert seen[0].headers["X-API-Key"] == "tqk_x_y"
    assert box.dead_letters() == []


@pytest.mark.parametrize("status", [500, 503, 429, 408, 401, 403, 404])
def test_outages_throttling_and_a_wrong_key_keep_everything_for_a_retry(
    tmp_path: Path, status: int
) -> None:
    sender, box, _ = _sender(tmp_path, lambda _: httpx.Response(status, text="no"))
    assert _deliver(sender) is Verdict.RETRY
    assert box.depth() == 4
    assert box.dead_letters() == []
    assert sender.problem is not None


def test_network_errors_are_retried(tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sender, box, _ = _sender(tmp_path, down)
    assert _deliver(sender) is Verdict.RETRY
    assert box.depth() == 4


def test_one_refused_event_is_dead_lettered_by_bisection_and_the_rest_go_through(
    tmp_path: Path,
) -> None:
    def picky(request: httpx.Request) -> httpx.Response:
        events = orjson.loads(request.content)["events"]
        if any(e["device_id"] == "mh-002-x" for e in events):
            return httpx.Response(422, json={"detail": "mh-002-x is unknown"})
        return httpx.Response(200, json={})

    sender, box, sizes = _sender(tmp_path, picky)
    assert _deliver(sender) is Verdict.DELIVERED
    assert box.depth() == 0
    letters = box.dead_letters()
    assert [(d.fingerprint, d.http_status) for d in letters] == [("manhole-ch4-high:mh-002-x", 422)]
    assert "unknown" in letters[0].detail
    assert sizes == [4, 2, 2, 1, 1]


def test_a_per_event_refusal_in_a_200_is_dead_lettered(tmp_path: Path) -> None:
    def mixed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"results": [{"status": "created"}, {"status": 422, "error": "bad village"},
                              {"status": "duplicate"}, {"status": "updated"}]},
        )  # fmt: skip

    sender, box, _ = _sender(tmp_path, mixed)
    assert _deliver(sender) is Verdict.DELIVERED
    assert box.depth() == 0
    assert [d.fingerprint for d in box.dead_letters()] == ["manhole-ch4-high:mh-001-x"]


def test_retry_after_is_honoured_by_the_backoff() -> None:
    answer = classify(429, httpx.Headers({"Retry-After": "7"}), "slow down")
    assert answer.verdict is Verdict.RETRY
    assert answer.retry_after_s == 7.0
    backoff = Backoff(base_s=0.1, cap_s=5)
    assert backoff.next_delay(answer.retry_after_s) >= 7.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after("soon") is None


def test_backoff_grows_with_jitter_and_resets() -> None:
    backoff = Backoff(base_s=1, cap_s=8)
    ceilings = [1, 2, 4, 8, 8]
    for ceiling in ceilings:
        assert 0 <= backoff.next_delay() <= ceiling
    backoff.reset()
    assert backoff.attempt == 0


def test_the_run_loop_delivers_what_is_put_later(tmp_path: Path) -> None:
    sender, box, _ = _sender(tmp_path, lambda _: httpx.Response(200, json={}), n=0)

    async def scenario() -> int:
        stopping = asyncio.Event()
        task = asyncio.create_task(sender.run(stopping))
        await asyncio.sleep(0.05)
        box.put([event("mh-late-001")])
        sender.notify()
        for _ in range(200):
            if box.depth() == 0:
                break
            await asyncio.sleep(0.01)
        stopping.set()
        await task
        return box.depth()

    assert asyncio.run(scenario()) == 0
