"""Fault tests get an influxd of their own where they stop or restart it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.processes import Broker, InfluxServer, make_influxd
from tests.support.stack import IngesterProcess


@pytest.fixture
def own_influxd(tmp_path: Path) -> Iterator[InfluxServer]:
    server = make_influxd(tmp_path / "own-influxd")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ingester_own_db(
    broker: Broker, own_influxd: InfluxServer, tmp_path: Path
) -> Iterator[IngesterProcess]:
    proc = IngesterProcess(broker, own_influxd, tmp_path / "ingest")
    yield proc
    proc.stop()
