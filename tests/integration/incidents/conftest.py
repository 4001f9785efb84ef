"""Incident fixtures: the API's small district (``tests/integration/api/conftest.py``) with the
background scheduler off, so a test moves time with ``POST /dev/clock`` and runs the
scheduler's tick itself — every escalation happens at a point the test chose, never "after a
while".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.incidents.scheduler import Scheduler, TickReport
from api.mqtt.pki import DevPki
from devstack.processes import InfluxServer
from tests.integration.api.conftest import World, build_world, dev_pki, make_settings
from tests.support.postgres import PostgresServer

__all__ = ["Desk", "dev_pki"]


class Desk(World):
    """The world, plus the incident verbs the tests use."""

    @property
    def scheduler(self) -> Scheduler:
        scheduler: Scheduler = self.app.state.scheduler
        return scheduler

    def tick(self) -> TickReport:
        return self.scheduler.tick()

    def advance(self, seconds: float) -> None:
        response = self.post("district", "/dev/clock", json={"advance_s": seconds})
        assert response.status_code == 200, response.text

    def incident(self, incident_id: int, who: str = "district") -> dict[str, Any]:
        response = self.get(who, f"/incidents/{incident_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def step(self, who: str, incident_id: int, action: str, **body: Any) -> Any:
        return self.post(who, f"/incidents/{incident_id}/{action}", json=body)

    def actions(self, incident_id: int) -> list[str]:
        return [entry["action"] for entry in self.incident(incident_id)["audit"]]


def desk_settings(tmp: Path, influxd: InfluxServer, pki: DevPki, **overrides: Any) -> Any:
    return make_settings(tmp, influxd, pki, background_enabled=False, **overrides)


@pytest.fixture(params=["sqlite", "postgresql"])
def desk(
    request: pytest.FixtureRequest, tmp_path: Path, influxd: InfluxServer, dev_pki: DevPki
) -> Iterator[Desk]:
    """A district of its own per test (incidents change it), scheduler driven by the test; on
    SQLite (the default store) and on PostgreSQL (production's), through the same code."""
    overrides: dict[str, Any] = {}
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        overrides["database_url"] = server.create_database(f"desk_{uuid.uuid4().hex[:12]}")
    yield from build_world(desk_settings(tmp_path, influxd, dev_pki, **overrides), Desk)
