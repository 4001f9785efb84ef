"""The acknowledgement rule, with fakes for the sink and the broker (unit level)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from city.kinds import Kind
from city.topology import default_city
from ingest.deadletter import DeadLetterStore
from ingest.decode import Decoder
from ingest.metrics import IngestMetrics
from ingest.pipeline import Delivery, Pipeline
from ingest.sink import SinkStopped
from tests.support import readings as r


class FakeSink:
    def __init__(self, fail_first: int = 0) -> None:
        self.batches: list[list[str]] = []
        self.fail_first = fail_first

    async def write(self, lines: Sequence[str]) -> list[tuple[int, str]]:
        if self.fail_first:
            self.fail_first -= 1
            raise SinkStopped("InfluxDB down")
        self.batches.append(list(lines))
        return []


def _pipeline(tmp_path: Path, sink: FakeSink, max_messages: int = 3) -> Pipeline:
    return Pipeline(
        Decoder(default_city()),
        sink,  # type: ignore[arg-type]
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
    sink = FakeSink()

    async def scenario() -> None:
        pipeline = _pipeline(tmp_path, sink)
        stopping = asyncio.Event()
        task = asyncio.create_task(pipeline.run(acked.extend, stopping))
        for mid in range(1, 8):
            _offer(pipeline, mid, good=mid != 4)
        await asyncio.sleep(0.1)
        stopping.set()
        await task

    asyncio.run(scenario())
    assert acked == [(1, mid) for mid in range(1, 8)]
    assert sum(len(b) for b in sink.batches) == 6  # the junk went to the dead letters
    assert DeadLetterStore(tmp_path / "dl.db").count() == 1


def test_a_batch_that_was_not_stored_is_not_acknowledged(tmp_path: Path) -> None:
    acked: list[Delivery] = []
    sink = FakeSink(fail_first=1)

    async def scenario() -> None:
        pipeline = _pipeline(tmp_path, sink, max_messages=2)
        stopping = asyncio.Event()
        task = asyncio.create_task(pipeline.run(acked.extend, stopping))
        _offer(pipeline, 1)
        _offer(pipeline, 2)
        await asyncio.sleep(0.05)
        _offer(pipeline, 3)
        await asyncio.sleep(0.05)
        stopping.set()
        await task

    asyncio.run(scenario())
    assert acked == [(1, 3)]
