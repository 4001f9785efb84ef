"""A tiny HTTP control endpoint on loopback, to steer a running simulator.

    POST   /scenarios        {"spec": "gas-leak:device=mh-…"} or {"name": "gas-leak", "device": …}
    GET    /scenarios        the scenarios pending or running
    DELETE /scenarios/<id>   clear one (same as POST {"spec": "clear:id=<id>"})
    GET    /status           counters: devices, connections, messages sent/acked, rate, scenarios

The server runs in its own thread (stdlib ``http.server``); every request is handed to the
simulator's event loop through ``dispatch`` so that scenarios and devices are only ever touched
from that one thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from simulators.scenarios import ScenarioError, Spec, spec_from_json

Dispatch = Callable[[Callable[[], Any]], Any]
MAX_BODY = 64 * 1024


class Controls:
    """What the endpoint can do; the runner supplies these."""

    def __init__(
        self,
        inject: Callable[[Spec], list[dict[str, Any]]],
        scenarios: Callable[[], list[dict[str, Any]]],
        status: Callable[[], dict[str, Any]],
    ) -> None:
        self.inject = inject
        self.scenarios = scenarios
        self.status = status


class ControlServer:
    def __init__(
        self, controls: Controls, dispatch: Dispatch, port: int, host: str = "127.0.0.1"
    ) -> None:
        handler = _handler_for(controls, dispatch)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="tianqu-sim-control",
            daemon=True,
        )

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_for(controls: Controls, dispatch: Dispatch) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "tianqu-sim"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the progress line says what matters; no access log on stderr

        def _reply(self, status: HTTPStatus, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/status":
                self._reply(HTTPStatus.OK, dispatch(controls.status))
            elif self.path == "/scenarios":
                self._reply(HTTPStatus.OK, dispatch(controls.scenarios))
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such resource {self.path}"})

        def do_POST(self) -> None:
            if self.path != "/scenarios":
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such resource {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return
            try:
                spec = spec_from_json(json.loads(self.rfile.read(length) or b"null"))
            except (ValueError, ScenarioError) as exc:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            self._run(spec)

        def do_DELETE(self) -> None:
            prefix = "/scenarios/"
            if not self.path.startswith(prefix) or len(self.path) == len(prefix):
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such resource {self.path}"})
                return
            self._run(Spec("clear", {"id": self.path[len(prefix) :]}))

        def _run(self, spec: Spec) -> None:
            try:
                result = dispatch(lambda: controls.inject(spec))
            except ScenarioError as exc:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            except Exception as exc:  # noqa: BLE001 - a bug must answer 500, not kill the thread
                self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": repr(exc)})
                return
            self._reply(HTTPStatus.CREATED, {"scenarios": result})

    return Handler


def post_scenario(spec: str, port: int, host: str = "127.0.0.1") -> dict[str, Any]:
    """What ``tianqu-sim inject`` does: send one spec to a running simulator."""
    response = httpx.post(f"http://{host}:{port}/scenarios", json={"spec": spec}, timeout=10)
    body: dict[str, Any] = response.json()
    if response.status_code >= 400:
        raise ScenarioError(body.get("error", f"HTTP {response.status_code}"))
    return body


def get_status(port: int, host: str = "127.0.0.1") -> dict[str, Any]:
    response = httpx.get(f"http://{host}:{port}/status", timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
