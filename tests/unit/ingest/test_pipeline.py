"""The acknowledgement rule at unit level: spool fakes are fine here, the broker is the caller."""

from __future__ import annotations

import asyncio
from pathlib import Path

from city.kinds import Kind
from city.topology import default_city
from ingest.deadletter import DeadLetterStore
from ingest.decode import Decoder
from ingest.metrics import IngestMetrics
from ingest.pipeline import Delivery, Pipeline
from ingest.spool import SpoolFull
from ingest.spool.memory import MemorySpool
from tests.support import readings as r


class RefusingSpool(MemorySpool):
    """Full for the first ``refusals`` appends, then normal."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def append(self, lines: list[str], topics: list[str], now_ms: int) -> None:
        if self.refusals:
            self.refusals -= 1
            raise SpoolFull("full")
        super().append(lines, topics, now_ms)


def _pipeline(tmp_path: Path, spool: MemorySpool, max_messages: int = 3) -> Pipeline:
    return Pipeline(
        Decoder(default_city()),
        spool,
        DeadLetterStore(tmp_path / "dl.db"),
        IngestMetrics(),
        max_messages=max_messages,
        max_age_s=0.01,
    )


def _offer(pipeline: Pipeline, mid: int, good: bool = True) -> None:
    reading = r.parking(seq=mid)
    payload = reading.model_dump_json().encode() if good else b"junk"
    pipeline.offer(1, mid, 1, r.topic_for(Kind.PARKING, reading.device_id), payload)


def test_acks_follow_storage_in_arrival_order(tmp_path: Path) -> None:
    acked: list[Delivery] = []
    spool = MemorySpool()

    async def scenario() -> None:
        pipeline = _pipeline(tmp_path, spool)
        stopping = asyncio.Event()
        task = asyncio.create_task(pipeline.run(acked.extend, stopping))
        for mid in range(1, 8):
            _offer(pipeline, mid, good=mid != 4)
        await asyncio.sleep(0.1)
        stopping.set()
        await task

    asyncio.run(scenario())
    assert acked == [(1, mid) for mid in range(1, 8)]
    assert spool.depth() == 6  # the junk went to the dead letters instead
    assert DeadLetterStore(tmp_path / "dl.db").count() == 1


def test_a_full_spool_holds_acknowledgements_back_until_it_has_room(tmp_path: Path) -> None:
    acked: list[Delivery] = []
    spool = RefusingSpool(refusals=2)

    async def scenario() -> tuple[list[Delivery], bool]:
        pipeline = _pipeline(tmp_path, spool, max_messages=2)
        stopping = asyncio.Event()
        task = asyncio.create_task(pipeline.run(acked.extend, stopping))
        _offer(pipeline, 1)
        _offer(pipeline, 2)
        await asyncio.sleep(0.2)
        held = (list(acked), pipeline.spool_full)
        await asyncio.sleep(1.2)  # two refusals, retried every 0.5 s
        stopping.set()
        await task
        return held

    held_acks, was_full = asyncio.run(scenario())
    assert held_acks == []
    assert was_full
    assert acked == [(1, 1), (1, 2)]


def test_a_batch_not_spooled_at_stop_is_not_acknowledged(tmp_path: Path) -> None:
    acked: list[Delivery] = []
    spool = RefusingSpool(refusals=1000)

    async def scenario() -> None:
        pipeline = _pipeline(tmp_path, spool, max_messages=2)
        stopping = asyncio.Event()
        task = asyncio.create_task(pipeline.run(acked.extend, stopping))
        _offer(pipeline, 1)
        await asyncio.sleep(0.1)
        stopping.set()
        await task

    asyncio.run(scenario())
    assert acked == []
