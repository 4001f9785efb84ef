"""A real HTTP receiver standing in for the API, and the evaluator as a real process."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from devstack.ports import free_port
from devstack.processes import Broker, ManagedProcess
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Received:
    event: dict[str, Any]
    arrived: float  # time.time()
    api_key: str | None


class Receiver:
    """``POST /alerts/events`` that records every event; stop() closes the port for real."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                now = time.time()
                if self.path != "/alerts/events":
                    self.send_response(404)
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.requests += 1
                    receiver.received.extend(
                        Received(e, now, self.headers.get("x-api-key")) for e in body["events"]
                    )
                answer = json.dumps(
                    {"results": [{"status": "created"} for _ in body["events"]]}
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.received]

    def firing(self, rule_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["rule_id"] == rule_id and e["status"] == "firing"]


@dataclass
class AlertingProcess:
    broker: Broker
    state_dir: Path
    api_url: str
    client_id: str = field(default_factory=lambda: f"alerting-{uuid.uuid4().hex[:8]}")
    health_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: ManagedProcess | None = None

    def env(self) -> dict[str, str]:
        return {
            "TIANQU_ALERTING_MQTT_HOST": self.broker.host,
            "TIANQU_ALERTING_MQTT_PORT": str(self.broker.port),
            "TIANQU_ALERTING_MQTT_CLIENT_ID": self.client_id,
            "TIANQU_ALERTING_MQTT_KEEPALIVE_S": "5",
            "TIANQU_ALERTING_MQTT_SESSION_EXPIRY_S": "300",
            "TIANQU_ALERTING_API_URL": self.api_url,
            "TIANQU_ALERTING_API_KEY": "tqk_test_key",
            "TIANQU_ALERTING_STATE_DIR": str(self.state_dir),
            "TIANQU_ALERTING_HEALTH_PORT": str(self.health_port),
            "TIANQU_ALERTING_CHECK_INTERVAL_S": "0.5",
            **self.extra_env,
        }

    def start(self, *, wait_ready: bool = True) -> AlertingProcess:
        self.process = ManagedProcess(
            "alerting",
            [sys.executable, "-m", "alerting"],
            self.state_dir / "alerting.log",
            env=self.env(),
            cwd=REPO,
        )
        self.process.start()
        if wait_ready:
            wait_until(self.ready, timeout=20, what=f"alerting ready\n{self.log()}")
        return self

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    def readiness(self) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = httpx.get(f"{self.health_url}/readyz", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            return {"ready": False}
        return answer

    def ready(self) -> bool:
        return bool(self.readiness().get("ready"))

    def metrics(self) -> str:
        return httpx.get(f"{self.health_url}/metrics", timeout=2).text

    def metric(self, name: str) -> float:
        """The sum of a metric's samples (all label sets)."""
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def stop(self) -> int | None:
        return None if self.process is None else self.process.stop()

    def log(self) -> str:
        return "" if self.process is None else self.process.log_tail(60)
