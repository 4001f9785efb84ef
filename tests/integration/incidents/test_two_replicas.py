"""Two API processes on one database: every escalation happens exactly once.

Both replicas run their scheduler every 0.2 s against the same database (a SQLite file, then
PostgreSQL). Twenty incidents
wait unacknowledged; the clock jumps past the township's timeout; each replica claims due
timers as fast as it can. Every incident must end up escalated once — not zero times (a lost
timer) and not twice (a double claim) — with one reminder, whichever replica fired it.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from city.grades import Level
from city.rules import default_rules
from devstack.processes import InfluxServer
from tests.integration.api.conftest import alert_event
from tests.integration.incidents.processes import (
    ADMIN,
    ADMIN_PASSWORD,
    ApiProcess,
    Caller,
    api_env,
    run_command,
)
from tests.support.postgres import PostgresServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

INCIDENTS = 20


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_each_escalation_happens_once_with_two_api_processes(
    store: str, influxd: InfluxServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    extra = {}
    if store == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        extra["TIANQU_API_DATABASE_URL"] = server.create_database(f"replicas_{int(time.time())}")
    env = api_env(tmp_path / "api", influxd.url, f"replicas_{int(time.time())}", **extra)
    run_command(["bootstrap", "--username", ADMIN], env)
    key = run_command(["service-key", "alerting"], env).strip()
    replicas = [
        ApiProcess({**env, "TIANQU_API_INSTANCE_NAME": name}, tmp_path / f"{name}.log").start()
        for name in ("replica-1", "replica-2")
    ]
    try:
        events = [alert_event("A", grade="III") for _ in range(INCIDENTS)]
        # Half the alerts through each replica, as a load balancer would spread them.
        ids = []
        for i, replica in enumerate(replicas):
            response = httpx.post(f"{replica.url}/alerts/events", headers={"X-API-Key": key},
                                  json={"events": events[i::2]}, timeout=30)  # fmt: skip
            assert response.status_code == 200, response.text
            ids += [r["incident_id"] for r in response.json()["results"]]
        admin = [Caller(r.url, ADMIN, ADMIN_PASSWORD) for r in replicas]
        timeout = default_rules().escalation.ack_timeout_s[Level.TOWNSHIP]
        admin[0].ok("POST", "/dev/clock", json={"advance_s": timeout + 1})

        def all_escalated() -> bool:
            listed = admin[1].ok("GET", "/incidents", params={"level": "district", "limit": 500})
            return bool(listed["total"] == INCIDENTS)

        wait_until(all_escalated, timeout=60, what="every incident escalated")
        time.sleep(1.0)  # five more ticks of each replica, in which a double would show
        fired_by: Counter[str] = Counter()
        for incident_id in ids:
            detail = admin[incident_id % 2].ok("GET", f"/incidents/{incident_id}")
            actions = [e["action"] for e in detail["audit"]]
            assert actions == ["raised", "reminder", "escalated"], (incident_id, actions)
            assert detail["escalations"] == 1
            fired_by.update(e["details"]["replica"] for e in detail["audit"][1:])
        assert sum(fired_by.values()) == 2 * INCIDENTS
        print(f"\ntimers fired per replica: {dict(fired_by)}")
        for replica in replicas:
            assert "Traceback" not in replica.log(), replica.log()
        for caller in admin:
            caller.close()
    finally:
        for replica in replicas:
            replica.stop()
