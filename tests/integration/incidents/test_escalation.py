"""Escalation up the levels and reminders, on the controlled clock; claimed once per replica.

The rules file gives the acknowledgement timeouts (village 900 s, township 600 s, district
300 s) and reminders every 300 s. Tests jump the clock past them with ``POST /dev/clock`` and
run the scheduler's tick themselves, so nothing depends on how fast this machine is.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.core.clock import OffsetClock, SystemClock
from api.core.config import Settings
from api.core.db import Database
from api.incidents.context import IncidentContext
from api.incidents.scheduler import Scheduler
from api.main import create_app
from city.grades import Level
from city.rules import default_rules
from tests.integration.incidents.conftest import Desk

pytestmark = pytest.mark.integration

RULES = default_rules().escalation


def test_unacknowledged_it_climbs_one_level_per_timeout_and_no_further(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    assert desk.tick().fired == 0  # nothing is due yet
    desk.advance(RULES.ack_timeout_s[Level.VILLAGE] - 5)
    desk.tick()
    assert desk.incident(incident_id)["level"] == "village"  # reminders only, so far

    desk.advance(10)
    desk.tick()
    incident = desk.incident(incident_id)
    assert (incident["level"], incident["escalations"]) == ("township", 1)
    assert incident["duty_captain"]["username"] == "township-yuanqiao"
    escalated = [e for e in incident["audit"] if e["action"] == "escalated"]
    assert [(e["details"]["from_level"], e["details"]["to_level"]) for e in escalated] == [
        ("village", "township"),
    ]  # fmt: skip
    assert escalated[0]["actor_kind"] == "system"
    # The township captain is told; the village (which let it slip) is informed.
    assert escalated[0]["details"]["notified"] == ["township-yuanqiao", "village-a"]
    # Now the village may no longer acknowledge it; the township may.
    assert desk.step("village-a", incident_id, "acknowledge", comment="x").status_code == 403

    desk.advance(RULES.ack_timeout_s[Level.TOWNSHIP] + 1)
    desk.tick()
    assert desk.incident(incident_id)["level"] == "district"
    desk.advance(RULES.ack_timeout_s[Level.DISTRICT] * 3)
    desk.tick()
    incident = desk.incident(incident_id)
    assert (incident["level"], incident["escalations"]) == ("district", 2)
    assert [e["action"] for e in incident["audit"]].count("escalated") == 2


def test_acknowledging_stops_escalation_and_reminders(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="III")
    assert (
        desk.step("township-yuanqiao", incident_id, "acknowledge", comment="ok").status_code == 200
    )
    desk.advance(RULES.ack_timeout_s[Level.TOWNSHIP] * 3)
    assert desk.tick().fired == 0
    incident = desk.incident(incident_id)
    assert (incident["level"], incident["escalations"]) == ("township", 0)
    assert desk.actions(incident_id) == ["raised", "acknowledged"]


def test_reminders_repeat_and_call_one_more_deputy_each_time(desk: Desk) -> None:
    deputies = []
    for name in ("deputy-1", "deputy-2"):
        body = {"username": name, "display_name": name, "password": "x" * 12,
                "level": "district", "role": "captain", "phone": "13800000000"}  # fmt: skip
        created = desk.post("district", "/users", json=body)
        assert created.status_code == 201, created.text
        deputies.append(created.json()["id"])
    now = datetime.now(UTC)
    shift = {
        "level": "district", "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "captain_user_id": desk.user_ids["district"], "deputy_user_ids": deputies,
    }  # fmt: skip
    assert desk.post("district", "/duty/shifts", json=shift).status_code == 201
    incident_id = desk.raise_incident("A", grade="II")  # the district holds it: no escalation
    every = RULES.reminder_every_s
    notified = []
    for _ in range(3):
        desk.advance(every + 1)
        desk.tick()
        reminders = [e for e in desk.incident(incident_id)["audit"] if e["action"] == "reminder"]
        notified.append(reminders[-1]["details"]["notified"])
    assert notified == [
        ["district", "deputy-1"],
        ["district", "deputy-1", "deputy-2"],
        ["district", "deputy-1", "deputy-2"],
    ]
    assert desk.actions(incident_id) == ["raised", "reminder", "reminder", "reminder"]


def test_a_big_jump_gives_one_reminder_not_a_burst(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="II")
    desk.advance(RULES.reminder_every_s * 10)
    desk.tick()
    desk.tick()
    assert desk.actions(incident_id) == ["raised", "reminder"]


def test_timers_survive_a_restart(desk: Desk, tmp_path: Path) -> None:
    incident_id = desk.raise_incident("A", grade="III")
    settings = desk.settings
    desk.client.__exit__(None, None, None)  # the API stops
    app = create_app(settings)  # …and another process starts on the same database
    with TestClient(app) as client:
        headers = desk.headers("district")
        client.post("/dev/clock", json={"advance_s": RULES.ack_timeout_s[Level.TOWNSHIP] + 1},
                    headers=headers)  # fmt: skip
        app.state.scheduler.tick()
        incident = client.get(f"/incidents/{incident_id}", headers=headers).json()
    assert (incident["level"], incident["escalations"]) == ("district", 1)


def test_two_schedulers_on_one_database_escalate_each_incident_exactly_once(
    desk: Desk,
) -> None:
    """Two replicas' schedulers (own engines, own connections, like two processes) race."""
    ids = [desk.raise_incident("A", grade="III") for _ in range(40)]
    desk.advance(RULES.ack_timeout_s[Level.TOWNSHIP] + 1)
    url = desk.settings.resolved_database_url
    ctx: IncidentContext = desk.app.state.incidents
    replicas = []
    for name in ("replica-1", "replica-2"):
        database = Database(url)
        replica_ctx = IncidentContext(OffsetClock(database.sessions), ctx.rules, ctx.city, name)
        replicas.append((database, Scheduler(database.sessions, replica_ctx, influx=None)))
    start = threading.Barrier(2)
    reports = {}

    def run(name: str, scheduler: Scheduler) -> None:
        start.wait()
        reports[name] = [scheduler.tick() for _ in range(3)]

    threads = [threading.Thread(target=run, args=(s.ctx.instance, s)) for _, s in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for database, _ in replicas:
        database.close()
    fired = sum(r.fired for rs in reports.values() for r in rs)
    failed = sum(r.failed for rs in reports.values() for r in rs)
    assert failed == 0
    # Per incident: one escalation timer and one reminder timer were due.
    assert fired == 2 * len(ids)
    for incident_id in ids:
        incident = desk.incident(incident_id)
        actions = [e["action"] for e in incident["audit"]]
        assert actions.count("escalated") == 1, incident_id
        assert actions.count("reminder") == 1, incident_id
        assert (incident["level"], incident["escalations"]) == ("district", 1)
    print(
        "claims per replica:",
        {name: sum(r.fired for r in rs) for name, rs in reports.items()},
        "lost:",
        {name: sum(r.lost for r in rs) for name, rs in reports.items()},
    )


def test_only_the_district_moves_the_clock(desk: Desk) -> None:
    for who in ("township-yuanqiao", "village-a"):
        response = desk.post(who, "/dev/clock", json={"advance_s": 60})
        assert response.status_code == 403, who
    assert desk.post("district", "/dev/clock", json={"advance_s": -1}).status_code == 422
    assert desk.get("district", "/dev/clock").json()["offset_s"] == 0


def test_outside_development_the_clock_routes_do_not_exist(tmp_path: Path) -> None:
    settings = Settings(
        environment="production", secret_key="p" * 48, state_dir=tmp_path / "api",
        influx_url="http://127.0.0.1:9", background_enabled=False,
    )  # fmt: skip
    app = create_app(settings)
    assert isinstance(app.state.incidents.clock, SystemClock)
    with TestClient(app) as client:
        for method in ("GET", "POST"):
            response = client.request(method, "/dev/clock", json={"advance_s": 600})
            assert response.status_code == 404, method
