"""The evaluator against the real API process, once the incident routes exist.

Skipped until ``api/routes/alerts.py`` lands: the API then serves ``POST /alerts/events``.
A district administrator is bootstrapped with the API's own command and makes a district
``service`` API key for the evaluator (``POST /api-keys``); the CH4 leak must be accepted
(2xx) for both events, with nothing dead-lettered.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.ports import free_port
from devstack.processes import Broker, InfluxServer, ManagedProcess
from tests.integration.alerting.support import REPO, AlertingProcess
from tests.integration.alerting.test_alerting_end_to_end import _leak
from tests.support.mqtt import publish_all
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (REPO / "api" / "routes" / "alerts.py").exists(),
        reason="the API's incident routes (api/routes/alerts.py) have not landed yet",
    ),
]

ADMIN_PASSWORD = "alerting-test-admin-0123456789"


@pytest.fixture
def api(influxd: InfluxServer, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        "TIANQU_API_SECRET_KEY": "x" * 48,
        "TIANQU_API_STATE_DIR": str(tmp_path / "api"),
        "TIANQU_API_INFLUX_URL": influxd.url,
        "TIANQU_API_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD,
    }
    subprocess.run(  # the API's own command makes the first administrator
        [sys.executable, "-m", "api", "bootstrap", "--username", "admin"],
        env={**os.environ, **env},
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    proc = ManagedProcess(
        "api",
        [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)],
        tmp_path / "api.log",
        env=env,
        cwd=REPO,
    )
    proc.start()
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, what=f"the API\n{proc.log_tail()}")
    yield url
    proc.stop()


def _service_key(url: str) -> str:
    token = httpx.post(
        f"{url}/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    ).json()["access_token"]
    created = httpx.post(
        f"{url}/api-keys",
        json={"name": "alerting", "level": "district", "role": "service"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def test_the_leak_is_accepted_by_the_real_api(broker: Broker, api: str, tmp_path: Path) -> None:
    evaluator = AlertingProcess(broker, tmp_path / "alerting", api)
    evaluator.extra_env["TIANQU_ALERTING_API_KEY"] = _service_key(api)
    try:
        evaluator.start()
        publish_all(broker.host, broker.port, _leak("mh-real-00001"))
        wait_until(
            lambda: evaluator.metric("tianqu_alerting_events_delivered_total") >= 2,
            timeout=30,
            what=f"two events accepted by the API\n{evaluator.log()}",
        )
        assert evaluator.readiness()["outbox_depth"] == 0
        assert evaluator.readiness()["dead_letters"] == 0
    finally:
        evaluator.stop()
