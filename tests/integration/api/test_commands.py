"""The operator's commands and the service's start, as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import REPO

pytestmark = pytest.mark.integration


def _run(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        input=stdin,
    )


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "TIANQU_API_STATE_DIR": str(tmp_path / "api"),
        "TIANQU_API_MQTT_PASSWORD_FILE": str(tmp_path / "broker" / "passwords"),
        "TIANQU_API_MQTT_ACL_FILE": str(tmp_path / "broker" / "acl"),
    }


def test_bootstrap_creates_the_first_district_administrator_once(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "TIANQU_API_BOOTSTRAP_PASSWORD": "first admin password"}
    first = _run(["-m", "api.bootstrap", "--username", "root-admin"], env)
    assert first.returncode == 0, first.stderr
    assert "created district administrator root-admin" in first.stdout
    again = _run(["-m", "api.bootstrap", "--username", "root-admin"], env)
    assert again.returncode == 0 and "already exists" in again.stdout

    from fastapi.testclient import TestClient

    from api.core.config import Settings
    from api.main import create_app

    app = create_app(Settings(state_dir=tmp_path / "api", influx_url="http://127.0.0.1:9"))
    with TestClient(app) as client:
        login = client.post(
            "/auth/login", data={"username": "root-admin", "password": "first admin password"}
        )
        assert login.status_code == 200, login.text
        me = client.get(
            "/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert (me.json()["level"], me.json()["role"]) == ("district", "admin")


def test_bootstrap_without_a_password_says_how_to_give_one(tmp_path: Path) -> None:
    result = _run(["-m", "api.bootstrap"], _env(tmp_path), stdin="")
    assert result.returncode == 2
    assert "TIANQU_API_BOOTSTRAP_PASSWORD" in result.stderr


def test_provision_fleet_writes_the_simulators_credentials_and_the_broker_files(
    tmp_path: Path,
) -> None:
    fleet = tmp_path / "fleet.csv"
    fleet.write_text(
        "device_id,kind,township,village,road,river,station,site,lat,lon\n"
        "sl-dongzhan-00000,streetlight,yuanqiao,dongzhan,dezhou-dadao,,,,37.431,116.415\n"
        "wt-majiadao,water,taitousi,majiahe-cun,,majiahe,majiadao,river,37.48,116.55\n"
    )
    out = tmp_path / "credentials.json"
    result = _run(
        ["-m", "api", "provision-fleet", "--file", str(fleet), "--credentials-out", str(out),
         "--gateways", "2"],
        _env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    credentials = json.loads(out.read_text())
    assert set(credentials["devices"]) == {"sl-dongzhan-00000", "wt-majiadao"}
    assert [g["client_id"] for g in credentials["gateways"]] == ["gw-00", "gw-01"]
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    passwords = (tmp_path / "broker" / "passwords").read_text().splitlines()
    assert sorted(line.split(":")[0] for line in passwords) == [
        "gw-00", "gw-01", "sl-dongzhan-00000", "wt-majiadao",
    ]  # fmt: skip
    acl = (tmp_path / "broker" / "acl").read_text()
    assert "topic write tianqu/v1/taitousi/majiahe-cun/water/wt-majiadao/status" in acl
    # Run twice: the devices exist, nothing half-registered, a clear message.
    again = _run(
        ["-m", "api", "provision-fleet", "--file", str(fleet), "--credentials-out", str(out)],
        _env(tmp_path),
    )
    assert again.returncode == 2
    assert "already registered" in again.stderr


@pytest.mark.parametrize("secret", ["", "changeme", "too-short"])
def test_production_refuses_to_start_with_a_placeholder_secret(tmp_path: Path, secret: str) -> None:
    env = {
        **_env(tmp_path),
        "TIANQU_API_ENVIRONMENT": "production",
        "TIANQU_API_SECRET_KEY": secret,
    }
    result = _run(["-c", "import api.main"], env)
    assert result.returncode != 0
    assert "TIANQU_API_SECRET_KEY is a placeholder" in result.stderr


def test_production_starts_with_a_real_secret(tmp_path: Path) -> None:
    env = {
        **_env(tmp_path),
        "TIANQU_API_ENVIRONMENT": "production",
        "TIANQU_API_SECRET_KEY": "k9" * 30,
    }
    result = _run(["-c", "import api.main; print(api.main.app.title)"], env)
    assert result.returncode == 0, result.stderr
    assert "Tianqu City Cockpit API" in result.stdout
