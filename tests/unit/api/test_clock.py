"""The development clock: an offset in the database that every replica reads, only forward."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.core.clock import OffsetClock, SystemClock
from api.core.db import Database


def test_the_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5


def test_two_replicas_see_the_same_advanced_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    one, two = Database(url), Database(url)
    one.init()
    mine, theirs = OffsetClock(one.sessions, refresh_s=0), OffsetClock(two.sessions, refresh_s=0)
    assert mine.offset_s() == theirs.offset_s() == 0
    assert mine.advance(600) == 600
    assert theirs.advance(30) == 630  # adds up, whoever moves it
    assert mine.offset_s() == 630
    ahead = (theirs.now() - datetime.now(UTC)).total_seconds()
    assert 625 < ahead < 640
    one.close()
    two.close()


def test_the_clock_only_moves_forward(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'api.db'}")
    database.init()
    clock = OffsetClock(database.sessions)
    with pytest.raises(ValueError, match="advance between 0"):
        clock.advance(-1)
    assert clock.offset_s() == 0
    database.close()
