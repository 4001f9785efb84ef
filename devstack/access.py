"""Who may talk to the local platform: broker logins, TLS certificates and demo people.

On the first start (no fleet credentials yet under the state directory) the local platform
provisions itself through the API's own commands, run as processes (devstack never imports a
service): a development CA and the broker's certificate, the simulated fleet registered from
the simulator's export (``tianqu-sim fleet``), the ingester's read-only broker login, and three
demo people, one per level of the 三级机长制. Later starts reuse all of it.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.configs import TlsFiles
from devstack.processes import ProcessError

DEMO_LOGINS = (
    ("district-admin", "新区 district administrator"),
    ("yuanqiao-captain", "袁桥镇 township captain"),
    ("dongzhan-captain", "东站社区 village captain"),
)


@dataclass(frozen=True)
class AccessFiles:
    """Where the local platform keeps its secrets and the broker's auth files."""

    state_dir: Path

    @property
    def broker_dir(self) -> Path:
        return self.state_dir / "broker"

    @property
    def password_file(self) -> Path:
        return self.broker_dir / "passwords"

    @property
    def acl_file(self) -> Path:
        return self.broker_dir / "acl"

    @property
    def pid_file(self) -> Path:
        return self.broker_dir / "mosquitto.pid"

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(
            self.pki_dir / "ca.crt", self.pki_dir / "server.crt", self.pki_dir / "server.key"
        )

    @property
    def credentials_dir(self) -> Path:
        return self.state_dir / "credentials"

    @property
    def fleet_credentials(self) -> Path:
        return self.credentials_dir / "fleet.json"

    @property
    def ingest_credentials(self) -> Path:
        return self.credentials_dir / "ingest.json"

    @property
    def alerting_credentials(self) -> Path:
        return self.credentials_dir / "alerting.json"

    @property
    def alerting_api_key_file(self) -> Path:
        return self.credentials_dir / "alerting-api-key.json"

    @property
    def demo_users(self) -> Path:
        return self.credentials_dir / "demo-users.json"

    @property
    def api_secret_file(self) -> Path:
        return self.credentials_dir / "api-secret"

    def api_secret(self) -> str:
        """The API's JWT secret, made once so tokens survive a restart."""
        if not self.api_secret_file.exists():
            self.credentials_dir.mkdir(parents=True, exist_ok=True)
            self.api_secret_file.write_text(secrets.token_urlsafe(48))
            self.api_secret_file.chmod(0o600)
        return self.api_secret_file.read_text().strip()

    def api_env(self, influx_url: str, database: str) -> dict[str, str]:
        return {
            "TIANQU_API_SECRET_KEY": self.api_secret(),
            "TIANQU_API_STATE_DIR": str(self.state_dir / "api"),
            "TIANQU_API_INFLUX_URL": influx_url,
            "TIANQU_API_INFLUX_DATABASE": database,
            "TIANQU_API_MQTT_PASSWORD_FILE": str(self.password_file),
            "TIANQU_API_MQTT_ACL_FILE": str(self.acl_file),
            "TIANQU_API_MQTT_RELOAD_PID_FILE": str(self.pid_file),
            "TIANQU_API_MQTT_CA_CERT": str(self.pki_dir / "ca.crt"),
            "TIANQU_API_MQTT_CA_KEY": str(self.pki_dir / "ca.key"),
        }

    def ingest_login(self) -> tuple[str, str]:
        login = json.loads(self.ingest_credentials.read_text())
        return str(login["username"]), str(login["password"])

    def alerting_login(self) -> tuple[str, str]:
        login = json.loads(self.alerting_credentials.read_text())
        return str(login["username"]), str(login["password"])

    def demo_passwords(self) -> dict[str, str]:
        if not self.demo_users.exists():
            return {}
        passwords: dict[str, str] = json.loads(self.demo_users.read_text())
        return passwords


def _run(argv: list[str], env: dict[str, str], cwd: Path, what: str) -> None:
    import os  # noqa: PLC0415 - only the environment of the child is built here

    result = subprocess.run(  # noqa: S603 - argv is built here from fixed module names
        argv, env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ProcessError(f"{what} failed ({result.returncode}):\n{result.stderr[-2000:]}")


def provision(
    files: AccessFiles, env: dict[str, str], cwd: Path, *, devices: int, seed: int
) -> bool:
    """First start only: certificates, fleet, ingester login, demo people. True if it ran."""
    if files.fleet_credentials.exists() and files.ingest_credentials.exists():
        return False
    py = sys.executable
    files.broker_dir.mkdir(parents=True, exist_ok=True)
    _run([py, "-m", "api", "dev-pki", "--dir", str(files.pki_dir)], env, cwd, "dev PKI")
    fleet_file = files.state_dir / "fleet.csv"
    _run(
        [py, "-m", "simulators", "fleet", "--devices", str(devices), "--seed", str(seed),
         "--format", "csv", "--output", str(fleet_file)],
        env, cwd, "fleet export",
    )  # fmt: skip
    _run(
        [py, "-m", "api", "provision-fleet", "--file", str(fleet_file),
         "--credentials-out", str(files.fleet_credentials)],
        env, cwd, "fleet provisioning",
    )  # fmt: skip
    _run(
        [py, "-m", "api", "service-account", "--username", "ingest",
         "--out", str(files.ingest_credentials)],
        env, cwd, "ingester login",
    )  # fmt: skip
    _run([py, "-m", "api", "demo-users", "--out", str(files.demo_users)], env, cwd, "demo users")
    return True


def provision_alerting_login(files: AccessFiles, env: dict[str, str], cwd: Path) -> bool:
    """The rule evaluator's read-only broker login (also for state made before it existed)."""
    if files.alerting_credentials.exists():
        return False
    _run(
        [sys.executable, "-m", "api", "service-account", "--username", "alerting",
         "--out", str(files.alerting_credentials)],
        env, cwd, "alerting login",
    )  # fmt: skip
    return True


def provision_alerting_key(files: AccessFiles, env: dict[str, str], cwd: Path) -> bool:
    """The rule evaluator's district ``service`` API key, made once with the API's command
    (``tianqu-api service-key alerting``). False when that command is not there (an API
    without it): :func:`alerting_api_key` then asks the running API instead."""
    if files.alerting_api_key_file.exists():
        return True
    try:
        _run(
            [sys.executable, "-m", "api", "service-key", "alerting", "--expires-in-days", "3650",
             "--out", str(files.alerting_api_key_file)],
            env, cwd, "alerting API key",
        )  # fmt: skip
    except ProcessError as exc:
        if "invalid choice" in str(exc):
            return False
        raise
    return True


def alerting_api_key(files: AccessFiles, api_url: str, timeout_s: float = 30.0) -> str:
    """The evaluator's API key: the one made on first start, or else one made once through
    the running API (``POST /api-keys``, role ``service``, as the demo district administrator)
    for an API whose CLI has no ``service-key`` command."""
    if files.alerting_api_key_file.exists():
        return str(json.loads(files.alerting_api_key_file.read_text())["key"])
    import os  # noqa: PLC0415 - as in _run

    import httpx  # noqa: PLC0415 - only this step talks to the API

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{api_url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise ProcessError(f"the API at {api_url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.2)
    password = files.demo_passwords().get("district-admin")
    if password is None:
        raise ProcessError("no demo district administrator to create the alerting API key with")
    login = httpx.post(
        f"{api_url}/auth/login",
        data={"username": "district-admin", "password": password},
        timeout=10,
    )
    if login.status_code != 200:
        raise ProcessError(f"logging in as district-admin failed: {login.status_code}")
    created = httpx.post(
        f"{api_url}/api-keys",
        json={"name": "alerting", "level": "district", "role": "service",
              "expires_in_days": 3650},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=10,
    )  # fmt: skip
    if created.status_code != 201:
        raise ProcessError(
            f"creating the alerting API key failed: {created.status_code} {created.text[:300]}"
        )
    key = str(created.json()["key"])
    files.credentials_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(files.alerting_api_key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"name": "alerting", "key": key}, handle)
    return key
