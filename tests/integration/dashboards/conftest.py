"""One simulated district for the module: real mosquitto, influxd and ingester, and the real
simulator publishing 300 devices of 德州天衢新区 (seed 7) at 360× for four simulated hours that
end an hour before now, with scenarios that put incidents where the assertions expect them.

The incident measurements (``incident_event``, ``incident_kpi``) and ``platform_stats`` are
written here as sample points shaped exactly like ``city.incidents`` (and the API's writer) and
``dashboards.boards.platform.FIELDS`` describe, since no API or stats writer runs in this test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from city.incidents import EVENT_MEASUREMENT, KPI_MEASUREMENT, NO_VILLAGE
from city.lineprotocol import FieldValue, encode_line
from city.topology import load_city
from dashboards.boards.platform import FIELDS, MEASUREMENT
from devstack.processes import InfluxServer, make_broker
from influxv1 import InfluxClient, QueryError
from tests.support.stack import REPO, IngesterProcess
from tests.support.waiting import wait_until

DEVICES = 300
SEED = 7
SPEED = 360.0
SIM_SPAN_S = 4 * 3600
SIM_START_AGO_S = 5 * 3600
SCENARIOS = (
    "lamp-outage:road=dezhou-dadao,count=3",
    "cover-open:device=mh-dongzhan-00000",
    "cover-tilt:device=mh-dongzhan-00001,deg=25",
    "gas-leak:device=mh-dongzhan-00002",
    "flood-crest:river=majiahe,duration=8h",
    "waterlogging:village=dongzhan,depth=0.35,duration=8h",
    "silent:device=pk-dongzhan-00003,after=1h",
)


@dataclass
class District:
    client: InfluxClient
    database: str
    start_ms: int
    end_ms: int  # the last river-station reading: "now" for the alert rules

    def query(self, q: str) -> list[dict[str, object]]:
        """Rows of every series of every statement, each with its series' tags."""
        rows: list[dict[str, object]] = []
        for statement in self.client.query(q):
            for series in statement:
                rows.extend({**series.tags, **row} for row in series.rows())
        return rows


def _count(client: InfluxClient) -> int:
    try:
        rows = client.rows('SELECT count("seq") FROM "streetlight","manhole","parking","water"')
    except QueryError:
        return 0
    return sum(int(r.get("count") or 0) for r in rows)


def _last_river_ms(client: InfluxClient) -> int:
    try:
        rows = client.rows('SELECT last("level_m") FROM "water" WHERE "site" = \'river\'')
    except QueryError:
        return 0
    return int(rows[0]["time"]) if rows else 0


def _line(measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], ms: int) -> str:
    return encode_line(measurement, tags, fields, ms)


def incident_lines(now_ms: int) -> list[str]:
    """A small incident history, one point per transition as the API writes it."""
    minute = 60_000
    history = [
        # (id, grade, rule, township, village, title, [(minutes ago, action, level, state)])
        (101, "III", "manhole-open", "yuanqiao", "dongzhan", "井盖开启 mh-dongzhan-00000",
         [(180, "raised", "township", "raised"), (170, "acknowledged", "township", "acknowledged"),
          (160, "dispatched", "township", "dispatched")]),
        (102, "IV", "lamp-failure", "yuanqiao", "dongzhan", "路灯故障 sl-dongzhan-00003",
         [(120, "raised", "village", "raised"), (100, "escalated", "township", "raised")]),
        (103, "IV", "road-waterlogging", "changhe", "tianqu", "道路积水 wt-tianqu-underpass",
         [(240, "raised", "village", "raised"), (230, "acknowledged", "village", "acknowledged"),
          (220, "dispatched", "village", "dispatched"), (150, "resolved", "village", "resolved"),
          (120, "verified", "village", "verified"), (60, "closed", "village", "closed")]),
        (104, "II", "river-above-guarantee", "zhaohu", "yangzhuang", "河道水位超保证 马颊河赵虎站",
         [(30, "raised", "district", "raised")]),
        (105, "II", "township-waterlogging", "yuanqiao", NO_VILLAGE, "镇街多点积水 袁桥镇",
         [(20, "raised", "district", "raised")]),
    ]  # fmt: skip
    lines = []
    for incident_id, grade, rule, township, village, title, steps in history:
        for ago, action, level, state in steps:
            tags = {
                "grade": grade,
                "level": level,
                "township": township,
                "village": village,
                "rule": rule,
                "event": action,
            }
            fields: dict[str, FieldValue] = {
                "incident_id": incident_id,
                "title": title,
                "state": state,
            }
            lines.append(_line(EVENT_MEASUREMENT, tags, fields, now_ms - ago * minute))
    return lines


def kpi_lines(now_ms: int) -> list[str]:
    """``incident_kpi`` every 10 minutes for three hours: district, townships, two villages."""
    city = load_city()
    areas = [("district", city.id)]
    areas += [("township", t.id) for t in city.townships]
    areas += [("village", "dongzhan"), ("village", "tianqu")]
    lines = []
    for step in range(18):
        ms = (now_ms - step * 600_000) // 60_000 * 60_000
        for scope, area in areas:
            for period in ("day", "30d"):
                fields: dict[str, FieldValue] = {
                    "raised": 5 + step,
                    "closed": 3 + step // 2,
                    "open": 2 + step % 3,
                    "escalations": 1,
                    "completion_rate": 0.6 + step / 100,
                    "on_time_rate": 0.9,
                    "mtta_s": 240.0,
                    "mttr_s": 5400.0,
                }
                tags = {"scope": scope, "area": area, "period": period}
                lines.append(_line(KPI_MEASUREMENT, tags, fields, ms))
    return lines


def platform_lines(now_ms: int) -> list[str]:
    """What each service writes every 10 s, for the last ten minutes (one ingester restarts)."""
    lines = []
    instances = {"ingest": ["ingest-0", "ingest-1"], "api": ["api-0"]}
    for service, names in instances.items():
        for instance in names:
            for step in range(60):
                ms = now_ms - (59 - step) * 10_000
                count = step if instance != "ingest-1" or step < 30 else step - 30  # restart
                fields: dict[str, FieldValue] = {}
                for name, (kind, _) in FIELDS[service].items():
                    if kind == "counter":
                        fields[name] = count * 100
                    elif kind == "gauge int":
                        fields[name] = 1 if name in {"mqtt_connected", "influx_up"} else step
                    else:
                        fields[name] = 0.01 * (step % 7 + 1)
                lines.append(
                    _line(MEASUREMENT, {"instance": instance, "service": service}, fields, ms)
                )
    return lines


@pytest.fixture(scope="module")
def district(influxd: InfluxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    state = tmp_path_factory.mktemp("dashboards-district")
    broker = make_broker(state / "broker")
    broker.start()
    ingester = IngesterProcess(broker, influxd, state / "ingest")
    sim: subprocess.Popen[bytes] | None = None
    log = (state / "sim.log").open("wb")
    try:
        ingester.start()
        wait_until(lambda: _ready(ingester), timeout=30, what=f"ingester ready\n{ingester.log()}")
        now = time.time()
        start = int(now - SIM_START_AGO_S)
        argv = [
            sys.executable, "-m", "simulators", "run",
            "--host", broker.host, "--port", str(broker.port),
            "--devices", str(DEVICES), "--seed", str(SEED), "--speed", str(SPEED),
            "--start", datetime.fromtimestamp(start, UTC).isoformat(),
            "--mode", "gateway", "--status-every", "5",
        ]  # fmt: skip
        for spec in SCENARIOS:
            argv += ["--scenario", spec]
        sim = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ}
        )
        client = ingester.influx_client()
        target_ms = (start + SIM_SPAN_S) * 1000
        wait_until(
            lambda: _last_river_ms(client) >= target_ms,
            timeout=SIM_SPAN_S / SPEED + 60,
            interval=1,
            what=f"four simulated hours\n{(state / 'sim.log').read_text()[-2000:]}",
        )
        # Killed, not stopped: a clean stop would mark every device offline.
        sim.send_signal(signal.SIGKILL)
        sim.wait(timeout=10)
        _settle(client)
        now_ms = int(time.time() * 1000)
        body = "\n".join(incident_lines(now_ms) + kpi_lines(now_ms) + platform_lines(now_ms))
        client.write(body.encode(), precision="ms")
        yield District(client, ingester.database, start * 1000, _last_river_ms(client))
        client.close()
    finally:
        if sim is not None and sim.poll() is None:
            sim.kill()
            sim.wait(timeout=10)
        log.close()
        ingester.stop()
        broker.stop()


def _ready(ingester: IngesterProcess) -> bool:
    try:
        return httpx.get(f"{ingester.health_url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _settle(client: InfluxClient) -> None:
    """Wait until the ingester has stored what the broker still held."""
    previous = -1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = _count(client)
        if current == previous:
            return
        previous = current
        time.sleep(1.0)
