"""Start, stop, pause and kill the real mosquitto and influxd processes, and our own services.

Each process gets its own session (``start_new_session``) so a Ctrl-C in the terminal reaches only
the supervisor, which then stops everything in order: simulators, ingester and API first, so they
can drain, then the broker and the database.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from devstack.configs import (
    BrokerConfig,
    InfluxConfig,
    TlsFiles,
    render_influxd,
    render_mosquitto,
)
from devstack.ports import free_port, port_open, wait_for_port


class ProcessError(RuntimeError):
    pass


def find_binary(name: str, *extra_dirs: str) -> str:
    for candidate in (shutil.which(name), *(str(Path(d) / name) for d in extra_dirs)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ProcessError(
        f"{name} is not installed; run scripts/bootstrap (it installs the Debian packages "
        "mosquitto and influxdb) or install it yourself"
    )


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        if self.alive:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        env = {**os.environ, **(self.env or {})}
        self._proc = subprocess.Popen(  # noqa: S603 - argv is built by this module, not a user
            list(self.argv),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise ProcessError(f"{self.name} was never started")
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def signal(self, sig: signal.Signals) -> None:
        if self.alive:
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self._proc is None:
            return None
        if self.alive:
            self.signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
            self.signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                self.signal(signal.SIGKILL)
                self.wait(5)
        self._close_log()
        return self._proc.returncode

    def kill(self) -> None:
        if self.alive:
            self.signal(signal.SIGKILL)
            self.wait(5)
        self._close_log()

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Broker:
    """A mosquitto on loopback with the project's configuration."""

    config: BrokerConfig
    process: ManagedProcess
    # Written on start so that another process (the API) can SIGHUP the broker after it
    # rewrites the password and ACL files; mosquitto writes its own only when daemonised.
    pid_file: Path | None = None

    @property
    def host(self) -> str:
        return self.config.bind

    @property
    def port(self) -> int:
        return self.config.port

    def start(self, timeout: float = 10.0) -> None:
        self.process.start()
        ports = [self.port, self.config.tls_port, self.config.cert_port]
        for port in (p for p in ports if p is not None):
            if not wait_for_port(self.host, port, timeout):
                self.process.kill()
                raise ProcessError(
                    f"mosquitto did not listen on {port}:\n{self.process.log_tail()}"
                )
        if self.pid_file is not None:
            self.pid_file.write_text(f"{self.process.pid}\n")

    def stop(self) -> None:
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)
        self.process.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def reload(self) -> None:
        """SIGHUP: mosquitto rereads its password and ACL files."""
        self.process.signal(signal.SIGHUP)


def make_broker(
    state_dir: Path,
    port: int | None = None,
    *,
    allow_anonymous: bool = True,
    password_file: Path | None = None,
    acl_file: Path | None = None,
    autosave_interval_s: int = 10,
    tls: TlsFiles | None = None,
    tls_port: int | None = None,
    cert_port: int | None = None,
    pid_file: Path | None = None,
) -> Broker:
    data_dir = state_dir / "mosquitto"
    data_dir.mkdir(parents=True, exist_ok=True)
    config = BrokerConfig(
        port=port or free_port(),
        data_dir=data_dir,
        allow_anonymous=allow_anonymous,
        password_file=password_file,
        acl_file=acl_file,
        autosave_interval_s=autosave_interval_s,
        log_file=data_dir / "mosquitto.log",
        run_as_user=getpass.getuser(),
        tls=tls,
        tls_port=tls_port,
        cert_port=cert_port,
    )
    conf_path = data_dir / "mosquitto.conf"
    conf_path.write_text(render_mosquitto(config))
    argv = [find_binary("mosquitto", "/usr/sbin"), "-c", str(conf_path)]
    process = ManagedProcess("mosquitto", argv, data_dir / "stdout.log")
    return Broker(config, process, pid_file=pid_file)


@dataclass
class InfluxServer:
    """An influxd (1.x) on loopback with its data under the state directory."""

    config: InfluxConfig
    process: ManagedProcess

    @property
    def url(self) -> str:
        return f"http://{self.config.bind}:{self.config.http_port}"

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 30.0) -> None:
        self.process.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return
            if not self.process.alive:
                break
            time.sleep(0.1)
        self.process.kill()
        raise ProcessError(f"influxd did not answer /ping:\n{self.process.log_tail()}")

    def stop(self) -> None:
        self.process.stop()


def make_influxd(
    state_dir: Path, port: int | None = None, rpc_port: int | None = None
) -> InfluxServer:
    data_dir = state_dir / "influxdb"
    data_dir.mkdir(parents=True, exist_ok=True)
    http_port = port or free_port()
    rpc = rpc_port or free_port()
    while rpc == http_port:
        rpc = free_port()
    config = InfluxConfig(http_port=http_port, rpc_port=rpc, data_dir=data_dir)
    conf_path = data_dir / "influxdb.conf"
    conf_path.write_text(render_influxd(config))
    argv = [find_binary("influxd", "/usr/bin"), "-config", str(conf_path)]
    return InfluxServer(config, ManagedProcess("influxd", argv, data_dir / "influxd.log"))


def assert_port_free(host: str, port: int, what: str) -> None:
    if port_open(host, port):
        raise ProcessError(f"{what}: {host}:{port} is already in use; choose another port")
