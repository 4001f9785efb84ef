from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.processes import Broker
from tests.integration.alerting.support import AlertingProcess, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def alerting(broker: Broker, receiver: Receiver, tmp_path: Path) -> Iterator[AlertingProcess]:
    """An evaluator process, not yet started, on this test's broker and receiver."""
    proc = AlertingProcess(broker, tmp_path / "alerting", receiver.url)
    yield proc
    proc.stop()
