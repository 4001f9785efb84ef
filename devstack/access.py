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
