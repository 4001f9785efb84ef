"""Fixtures that start real mosquitto and influxd processes on free loopback ports.

Each test gets a broker of its own (it starts in ~50 ms) and a database of its own on a shared
influxd, so tests cannot see each other's messages or points. PostgreSQL, for the incident
store on the production database, starts only when a test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.processes import Broker, InfluxServer, make_broker, make_influxd
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.stack import IngesterProcess


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = make_influxd(tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    server = make_broker(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ingester(broker: Broker, influxd: InfluxServer, tmp_path: Path) -> Iterator[IngesterProcess]:
    """An ingester process, not yet started, wired to this test's broker and database."""
    proc = IngesterProcess(broker, influxd, tmp_path / "ingest")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, started only when a test asks for it."""
    server = start_postgres()
    yield server
    server.stop()
