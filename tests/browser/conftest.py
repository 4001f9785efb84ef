"""The captain's console in headless Chromium, against real processes.

One small district per module: mosquitto (logins and ACLs rendered by the API, reloaded by
SIGHUP), influxd (the session's), the API under uvicorn in development mode, a manhole in
东站社区 registered through the API with a quarter-hour of CH4 readings in InfluxDB, and the
people of the 三级机长制 — a district administrator, the 袁桥镇 captain and the captains of two
sibling villages, 东站社区 and 大屯村. Incidents are raised as the rule evaluator raises them:
``POST /alerts/events`` with a service key.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright (its own browser download
cannot work here); without it the suite is skipped, saying so. Screenshots go to
``test-artifacts/`` at the repository's root.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from city.kinds import Kind
from city.schema import reading_line
from devstack.processes import Broker, InfluxServer, make_broker
from influxv1 import InfluxClient, InfluxTarget
from tests.integration.incidents.processes import (
    ADMIN,
    ADMIN_PASSWORD,
    PASSWORD,
    ApiProcess,
    Caller,
    api_env,
    run_command,
)
from tests.support import readings as r
from tests.support.stack import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
# Without the background-networking flags Chromium's own connections are refused by this
# machine's closed network; the rest make a quiet, reproducible headless browser.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: apt-get install chromium (the browser suite drives Debian's "
        "Chromium; Playwright's own browser download cannot run here)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")

TOWNSHIP = "yuanqiao"
MANHOLE = "mh-dongzhan-00007"
PEOPLE = {  # username: (level, township, village, display name)
    "yuanqiao-captain": ("township", TOWNSHIP, None, "袁桥镇值班机长"),
    "dongzhan-captain": ("village", TOWNSHIP, "dongzhan", "东站社区机长"),
    "datun-captain": ("village", TOWNSHIP, "datun", "大屯村机长"),
}


@dataclass
class Platform:
    api: ApiProcess
    broker: Broker
    service_key: str
    influx: InfluxTarget
    passwords: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    _fingerprints: int = 0

    @property
    def url(self) -> str:
        return self.api.url

    def raise_incident(
        self, village: str = "dongzhan", grade: str = "IV", township: str = TOWNSHIP, **extra: Any
    ) -> int:
        """An AlertEvent as the rule evaluator sends it; the new incident's id."""
        self._fingerprints += 1
        device = extra.pop("device_id", MANHOLE if village == "dongzhan" else f"mh-{village}-00001")
        event = {
            "status": "firing", "rule_id": "manhole-ch4-high", "rule_name": "井下甲烷超标",
            "grade": grade, "fingerprint": f"browser:{self._fingerprints}:{time.time_ns()}",
            "township": township, "village": village, "device_id": device, "kind": "manhole",
            "subject": device, "value": 12.5, "threshold": "> 10",
            "observed_ms": r.now_ms(), "summary": "CH4 12.5 %LEL", **extra,
        }  # fmt: skip
        response = httpx.post(f"{self.url}/alerts/events", json={"events": [event]},
                              headers={"X-API-Key": self.service_key}, timeout=10)  # fmt: skip
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        assert result["status"] == "created", result
        incident_id: int = result["incident_id"]
        return incident_id

    def caller(self, username: str) -> Caller:
        return Caller(self.url, username, self.passwords[username])

    def write_ch4(self, values_at: list[tuple[float, int]]) -> None:
        """CH4 readings of the dongzhan manhole, ``(value, device time ms)``, into InfluxDB."""
        lines = [
            reading_line(
                r.manhole(MANHOLE, seq=i + 1, ts=ts).model_copy(update={"ch4_lel_pct": value}),
                TOWNSHIP,
                "dongzhan",
            )
            for i, (value, ts) in enumerate(values_at)
        ]
        client = InfluxClient(self.influx)
        try:
            client.create_database()
            client.write("\n".join(lines).encode(), precision="ms")
        finally:
            client.close()


def _quarter_hour_of_ch4() -> list[tuple[float, int]]:
    """The last quarter-hour, climbing past 10 %LEL at the end."""
    start = r.now_ms() - 15 * 60_000
    return [(round(0.5 + 12.0 * (i / 30) ** 3, 2), start + i * 30_000) for i in range(31)]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, influxd: InfluxServer) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("console")
    files = tmp / "broker-auth"
    files.mkdir()
    passwords, acl, pid = files / "passwords", files / "acl", files / "mosquitto.pid"
    passwords.touch()
    acl.touch()
    broker = make_broker(tmp / "broker", allow_anonymous=False, password_file=passwords,
                         acl_file=acl, pid_file=pid)  # fmt: skip
    database = f"console_{os.getpid()}"
    env = api_env(
        tmp / "api", influxd.url, database,
        TIANQU_API_MQTT_PASSWORD_FILE=str(passwords),
        TIANQU_API_MQTT_ACL_FILE=str(acl),
        TIANQU_API_MQTT_RELOAD_PID_FILE=str(pid),
    )  # fmt: skip
    run_command(["bootstrap", "--username", ADMIN], env)
    service_key = run_command(["service-key", "alerting"], env).strip()
    broker.start()
    api = ApiProcess(env, tmp / "api.log")
    try:
        api.start()
        platform = Platform(api, broker, service_key, InfluxTarget(influxd.url, database),
                            passwords={ADMIN: ADMIN_PASSWORD})  # fmt: skip
        admin = platform.caller(ADMIN)
        for username, (level, township, village, name) in PEOPLE.items():
            person = admin.ok("POST", "/users", json={
                "username": username, "display_name": name, "password": PASSWORD,
                "level": level, "township": township, "village": village, "role": "captain",
            })  # fmt: skip
            platform.passwords[username] = PASSWORD
            platform.ids[username] = person["id"]
        device = admin.ok("POST", "/devices", json={
            "device_id": MANHOLE, "kind": Kind.MANHOLE.value, "township": TOWNSHIP,
            "village": "dongzhan", "lat": 37.4312, "lon": 116.4335,
        })  # fmt: skip
        assert device["broker_synced"], device
        admin.close()
        platform.write_ch4(_quarter_hour_of_ch4())
        yield platform
    finally:
        api.stop()
        broker.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Console:
    """One person's tab: the page, and what went wrong in it (page errors, CSP violations)."""

    def __init__(self, browser: Any, platform: Platform, viewport: dict[str, int]) -> None:
        self.platform = platform
        self.context = browser.new_context(viewport=viewport, locale="zh-CN",
                                           timezone_id="Asia/Shanghai")  # fmt: skip
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # The browser logs every 4xx answer as a failed resource: the tests provoke some (another
        # area's incident, a refused step) and the page shows them. Anything else is a bug —
        # a script error or a Content-Security-Policy violation.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def open(self, path: str = "/console?lang=zh") -> Console:
        self.page.goto(f"{self.platform.url}{path}")
        return self

    def login(self, username: str) -> Console:
        page = self.page
        page.fill("#username", username)
        page.fill("#password", self.platform.passwords[username])
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#app-view:not([hidden])")
        page.wait_for_selector("#live[data-state=live]")
        return self

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def console(browser: Any, platform: Platform) -> Iterator[Any]:
    """Open consoles: ``console(viewport=…)`` gives a new tab (its own browser context)."""
    opened: list[Console] = []

    def make(width: int = 1280, height: int = 900) -> Console:
        tab = Console(browser, platform, {"width": width, "height": height})
        opened.append(tab)
        return tab

    yield make
    for tab in opened:
        tab.close()
    for tab in opened:
        assert tab.errors == [], tab.errors


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
