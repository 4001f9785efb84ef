"""The README's first command, as a newcomer runs it: the whole platform comes up on free ports,
readings of every kind reach InfluxDB, the API answers the demo login, and Ctrl-C (SIGINT)
stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from city.kinds import Kind
from devstack.ports import free_port, port_open
from influxv1 import InfluxClient, InfluxTarget
from influxv1.errors import InfluxError

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PORT_OPTIONS = (
    "--mqtt-port", "--mqtt-tls-port", "--mqtt-cert-port", "--influx-port", "--influx-rpc-port",
    "--api-port", "--ingest-health-port", "--sim-control-port", "--alerting-health-port",
)  # fmt: skip


def _kinds_stored(influx_port: int) -> set[str]:
    client = InfluxClient(InfluxTarget(f"http://127.0.0.1:{influx_port}", "tianqu"))
    try:
        rows = client.rows("SHOW MEASUREMENTS")
    except InfluxError:  # not up yet, or the database not created yet
        return set()
    finally:
        client.close()
    return {row["name"] for row in rows} & {k.value for k in Kind}


def test_scripts_run_brings_the_district_up_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    ports = {option: free_port() for option in PORT_OPTIONS}
    argv = [sys.executable, "-m", "devstack.run", "--state-dir", str(tmp_path / "state"),
            "--devices", "300"]  # fmt: skip
    for option, port in ports.items():
        argv += [option, str(port)]
    log = (tmp_path / "run.log").open("w")
    run = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    influx_port, api_port = ports["--influx-port"], ports["--api-port"]
    try:
        deadline = time.monotonic() + 120
        kinds: set[str] = set()
        while time.monotonic() < deadline and kinds != {k.value for k in Kind}:
            assert run.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(2)
            kinds = _kinds_stored(influx_port)
        assert kinds == {k.value for k in Kind}, (tmp_path / "run.log").read_text()[-3000:]

        logins = json.loads((tmp_path / "state/credentials/demo-users.json").read_text())
        banner = (tmp_path / "run.log").read_text()
        assert f"http://127.0.0.1:{api_port}/console" in banner
        assert all(password in banner for password in logins.values())
        answer = httpx.post(f"http://127.0.0.1:{api_port}/auth/login",
                            data={"username": "dongzhan-captain",
                                  "password": logins["dongzhan-captain"]})  # fmt: skip
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        devices = httpx.get(f"http://127.0.0.1:{api_port}/devices?limit=500",
                            headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
        assert devices["total"] > 0
        assert {d["village"] for d in devices["items"]} == {"dongzhan"}
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=60)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
        finally:
            log.close()
    time.sleep(0.5)
    still_open = [option for option, port in ports.items() if port_open("127.0.0.1", port)]
    assert still_open == [], f"still listening after Ctrl-C: {still_open}"
    assert _processes_naming(tmp_path) == [], "processes left behind after Ctrl-C"


def _processes_naming(path: Path) -> list[str]:
    """Command lines of live processes that mention ``path`` (mosquitto's and influxd's do)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        if str(path) in text:
            found.append(text)
    return found
