"""One contract, every spool implementation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.spool import Spool, SpoolFull
from ingest.spool.memory import MemorySpool
from ingest.spool.sqlite import SqliteSpool

Factory = Callable[[int], Spool]


@pytest.fixture(params=["sqlite", "memory"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    if request.param == "sqlite":
        return lambda capacity: SqliteSpool(tmp_path / "spool.db", capacity_bytes=capacity)
    return lambda capacity: MemorySpool(capacity_bytes=capacity)


def _lines(prefix: str, n: int) -> tuple[list[str], list[str]]:
    return [f"m,d={prefix} seq={i}i {i}" for i in range(n)], [f"t/{prefix}/{i}" for i in range(n)]


def test_an_empty_spool_has_nothing(make: Factory) -> None:
    spool = make(10_000)
    assert spool.peek(100) is None
    assert (spool.depth(), spool.size_bytes(), spool.oldest_ms()) == (0, 0, None)


def test_entries_come_back_oldest_first_whole_and_in_order(make: Factory) -> None:
    spool = make(1_000_000)
    for i, name in enumerate("abc"):
        spool.append(*_lines(name, 3), now_ms=1000 + i)
    chunk = spool.peek(6)
    assert chunk is not None
    assert chunk.count == 6
    assert chunk.lines() == _lines("a", 3)[0] + _lines("b", 3)[0]
    assert chunk.topic_list() == _lines("a", 3)[1] + _lines("b", 3)[1]
    assert chunk.oldest_ms == 1000
    assert spool.depth() == 9
    # peeking does not consume
    again = spool.peek(6)
    assert again is not None and again.lines() == chunk.lines()


def test_a_peek_never_splits_an_entry_but_always_returns_one(make: Factory) -> None:
    spool = make(1_000_000)
    spool.append(*_lines("big", 10), now_ms=1)
    spool.append(*_lines("next", 2), now_ms=2)
    chunk = spool.peek(4)
    assert chunk is not None and chunk.count == 10  # larger than asked, but whole


def test_removed_entries_are_gone_and_the_rest_remains(make: Factory) -> None:
    spool = make(1_000_000)
    spool.append(*_lines("a", 2), now_ms=1)
    spool.append(*_lines("b", 2), now_ms=2)
    first = spool.peek(2)
    assert first is not None
    spool.remove(first)
    rest = spool.peek(10)
    assert rest is not None and rest.lines() == _lines("b", 2)[0]
    assert spool.depth() == 2
    assert spool.oldest_ms() == 2
    spool.remove(rest)
    assert spool.peek(10) is None
    assert spool.size_bytes() == 0


def test_a_full_spool_refuses_and_never_overwrites(make: Factory) -> None:
    one_batch = len("\n".join(_lines("a", 3)[0])) + len("\n".join(_lines("a", 3)[1]))
    spool = make(one_batch + one_batch // 2)
    spool.append(*_lines("a", 3), now_ms=1)
    with pytest.raises(SpoolFull):
        spool.append(*_lines("b", 3), now_ms=2)
    assert spool.depth() == 3
    chunk = spool.peek(10)
    assert chunk is not None and chunk.lines() == _lines("a", 3)[0]  # "a" is intact
    spool.remove(chunk)
    spool.append(*_lines("b", 3), now_ms=3)  # room again once the writer drained
    assert spool.depth() == 3


def test_an_empty_spool_takes_even_an_oversized_batch(make: Factory) -> None:
    spool = make(10)
    spool.append(*_lines("huge", 5), now_ms=1)
    assert spool.depth() == 5


def test_the_sqlite_spool_survives_reopening(tmp_path: Path) -> None:
    spool = SqliteSpool(tmp_path / "spool.db")
    spool.append(*_lines("a", 4), now_ms=7)
    spool.close()
    reopened = SqliteSpool(tmp_path / "spool.db")
    chunk = reopened.peek(10)
    assert chunk is not None and chunk.lines() == _lines("a", 4)[0]
    assert reopened.depth() == 4 and reopened.size_bytes() > 0


def test_peeking_after_an_id_skips_entries_already_taken(make: Factory) -> None:
    spool = make(1_000_000)
    for name in "abc":
        spool.append(*_lines(name, 2), now_ms=1)
    first = spool.peek(2)
    assert first is not None
    second = spool.peek(2, after_id=first.last_id)
    assert second is not None and second.lines() == _lines("b", 2)[0]
    spool.remove(second)  # finished before the first: removal in any order
    third = spool.peek(2, after_id=second.last_id)
    assert third is not None and third.lines() == _lines("c", 2)[0]
    again = spool.peek(10)
    assert again is not None and again.lines()[:2] == _lines("a", 2)[0]
    assert spool.depth() == 4
