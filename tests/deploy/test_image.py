"""The Dockerfile and the scripts the containers run (no Docker engine here: the scripts run
under the machine's own sh, the Dockerfile is checked for what the image must contain)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from tests.deploy.conftest import COMPOSE_DIR, REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_multi_stage_non_root_with_tini() -> None:
    stages = re.findall(r"^FROM \S+ AS (\w+)", DOCKERFILE, flags=re.M)
    assert stages == ["build", "runtime"]
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    assert re.search(r"^USER 10001:10001$", runtime, flags=re.M)
    assert "build-essential" not in runtime
    assert '"/usr/bin/tini", "--"' in runtime
    for package in ("tini", "tzdata", "sqlite3", "ca-certificates"):
        assert package in runtime


def test_every_python_package_is_copied_into_the_image() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in include}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE, flags=re.M))
    present = {p for p in packages if (REPO / p).is_dir()}
    assert present <= copied, f"not copied: {present - copied}"
    missing = {p for p in copied if not (REPO / p).is_dir()}
    assert not missing, f"COPY of directories that do not exist: {missing}"
    dockerignore = (REPO / ".dockerignore").read_text().splitlines()
    for package in copied:
        assert f"!{package}/" in dockerignore


def test_entrypoint_reads_file_secrets(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cr3t value")
    env = {"PATH": os.environ["PATH"], "TIANQU_INGEST_MQTT_PASSWORD_FROM_FILE": str(secret),
           "TIANQU_API_MQTT_PASSWORD_FILE": "/broker/passwords",  # a path setting, kept
           "OTHER_FROM_FILE": "/nonexistent"}  # fmt: skip
    out = subprocess.run(
        ["sh", str(REPO / "deploy/docker/entrypoint.sh"), "env"],
        env=env, capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    lines = out.splitlines()
    assert "TIANQU_INGEST_MQTT_PASSWORD=s3cr3t value" in lines
    assert not any(line.startswith("TIANQU_INGEST_MQTT_PASSWORD_FROM_FILE=") for line in lines)
    assert "TIANQU_API_MQTT_PASSWORD_FILE=/broker/passwords" in lines
    assert "OTHER_FROM_FILE=/nonexistent" in lines  # only TIANQU_* variables are expanded


def test_entrypoint_refuses_an_unreadable_secret(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "TIANQU_API_SECRET_KEY_FROM_FILE": str(tmp_path / "none")}
    result = subprocess.run(
        ["sh", str(REPO / "deploy/docker/entrypoint.sh"), "true"],
        env=env, capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "TIANQU_API_SECRET_KEY_FROM_FILE" in result.stderr


def test_broker_wrapper_reloads_mosquitto_when_the_api_rewrites_its_files(
    tmp_path: Path,
) -> None:
    """The API replaces the files (temporary file + rename); the wrapper sends SIGHUP."""
    auth = tmp_path / "auth"
    auth.mkdir()
    for name in ("passwords", "acl"):
        (auth / name).write_text("# empty\n")
    hups = tmp_path / "hups"
    fake_broker = f'trap "echo hup >> {hups}" HUP; trap "exit 0" TERM; while :; do sleep 0.1; done'
    proc = subprocess.Popen(
        ["sh", str(COMPOSE_DIR / "mosquitto/entrypoint.sh"), "sh", "-c", fake_broker],
        env={"PATH": os.environ["PATH"], "AUTH_DIR": str(auth)},
        start_new_session=True,
    )
    try:
        time.sleep(0.5)
        tmp = auth / ".acl.tmp"
        tmp.write_text("user device-1\ntopic write tianqu/v1/x\n")
        tmp.replace(auth / "acl")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not hups.exists():
            time.sleep(0.2)
        assert hups.exists(), "no SIGHUP within 10 s of the change"
        assert hups.read_text().count("hup") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("the wrapper did not stop on SIGTERM")
    assert proc.returncode == 0


def test_broker_init_is_idempotent_about_service_logins() -> None:
    script = (REPO / "deploy/docker/broker-init.sh").read_text()
    assert 'if [ ! -s "$secrets/$account-mqtt-password" ]' in script
    assert "for account in ingest alerting" in script
    assert script.rstrip().endswith("python -m api sync-broker")


def test_broker_init_makes_pki_logins_and_files_once(tmp_path: Path) -> None:
    """The one-shot broker-init, run here as a process on a temporary state (as in its
    container, with the API's production settings): a CA and server certificate readable by
    the broker's group, the ingesters' and the evaluator's logins, the broker files; a second
    run changes no password."""
    import secrets
    import sys

    state = tmp_path / "state"
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "TIANQU_PKI_DIR": str(state / "pki"),
        "TIANQU_SECRETS_DIR": str(state / "secrets"),
        "MQTT_PUBLIC_HOST": "mqtt.example.gov.cn",
        "TIANQU_API_ENVIRONMENT": "production",
        "TIANQU_API_SECRET_KEY": secrets.token_urlsafe(48),
        "TIANQU_API_STATE_DIR": str(state / "api"),
        "TIANQU_API_MQTT_PASSWORD_FILE": str(state / "broker-auth/passwords"),
        "TIANQU_API_MQTT_ACL_FILE": str(state / "broker-auth/acl"),
    }
    (state / "secrets").mkdir(parents=True)

    def run() -> None:
        result = subprocess.run(
            ["sh", str(REPO / "deploy/docker/broker-init.sh")],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr

    run()
    pki = state / "pki"
    assert (pki / "server.key").stat().st_mode & 0o777 == 0o640
    assert (pki / "ca.key").stat().st_mode & 0o777 == 0o600  # only the API signs with it
    passwords = {
        name: (state / f"secrets/{name}-mqtt-password").read_text()
        for name in ("ingest", "alerting")
    }
    assert all(len(p) >= 16 for p in passwords.values())
    acl = (state / "broker-auth/acl").read_text()
    assert "user ingest\ntopic read tianqu/v1/#" in acl
    assert "user alerting\n" in acl
    hashes = (state / "broker-auth/passwords").read_text()
    assert hashes.startswith(("ingest:$7$", "alerting:$7$"))
    assert not list((state / "secrets").glob("*.json"))  # the JSON with the password is gone
    run()
    again = {n: (state / f"secrets/{n}-mqtt-password").read_text() for n in passwords}
    assert again == passwords
