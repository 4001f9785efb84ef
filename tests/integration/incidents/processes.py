"""The API as a real process (uvicorn), its commands, and a webhook receiver for notifications.

Used by the gas-leak end-to-end test and the two-replica test: they run the API exactly as the
local platform does, so the scheduler, the notification worker and the clock are the real ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from devstack.ports import free_port
from devstack.processes import ManagedProcess
from tests.support.stack import REPO
from tests.support.waiting import wait_until

ADMIN = "admin"
ADMIN_PASSWORD = "incidents-e2e-admin-0123456789"
PASSWORD = "captain password 0123"


def run_command(args: list[str], env: dict[str, str]) -> str:
    """``python -m api …`` as an operator runs it; its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "api", *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"api {args[0]}: {result.stderr}"
    return result.stdout


@dataclass
class ApiProcess:
    """One API replica: ``uvicorn api.main:app`` on a free port."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        self.process = ManagedProcess(
            "api",
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            self.log_path,
            env=self.env,
            cwd=REPO,
        )  # fmt: skip
        self.process.start()
        wait_until(self._up, timeout=30, what=f"the API on {self.port}\n{self.log()}")
        return self

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int | None:
        return None if self.process is None else self.process.stop()

    def log(self) -> str:
        return "" if self.process is None else self.process.log_tail(40)


def api_env(state_dir: Path, influx_url: str, database: str, **extra: str) -> dict[str, str]:
    return {
        "TIANQU_API_ENVIRONMENT": "development",
        "TIANQU_API_SECRET_KEY": "incidents-e2e-" + "k" * 40,
        "TIANQU_API_STATE_DIR": str(state_dir),
        "TIANQU_API_INFLUX_URL": influx_url,
        "TIANQU_API_INFLUX_DATABASE": database,
        "TIANQU_API_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD,
        "TIANQU_API_SCHEDULER_INTERVAL_S": "0.2",
        "TIANQU_API_KPI_EVERY_S": "5",
        "TIANQU_API_RATE_LIMIT": "100000/minute",
        "TIANQU_API_LOGIN_RATE_LIMIT": "100000/minute",
        **extra,
    }


class Caller:
    """A person logged in to a running API."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.username = username
        self.http = httpx.Client(base_url=url, timeout=10)
        login = self.http.post("/auth/login", data={"username": username, "password": password})
        assert login.status_code == 200, login.text
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code < 300, f"{self.username} {method} {path}: {response.text}"
        return response.json() if response.content else None

    def close(self) -> None:
        self.http.close()


class WebhookReceiver:
    """The notification package's generic webhook lands here: every payload, in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.payloads: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.payloads.append(json.loads(body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self, incident_id: int) -> list[str]:
        with self._lock:
            return [p["event"] for p in self.payloads if p["incident_id"] == incident_id]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
