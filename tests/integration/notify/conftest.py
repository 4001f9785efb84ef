"""Real receivers for the notification tests: an HTTP server, an SMTP server, mosquitto.

``Receiver`` is a threaded HTTP server that records every request and answers from a per-path
script: a status (with headers and a JSON body), or "hang" (hold the request until the test
ends). ``Mailbox`` is aiosmtpd's server collecting messages (and refusing chosen recipients).
The worker runs on an event loop of the test's own (``run_until``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from api.core.db import Database
from devstack.ports import free_port

OK_ROBOT = {"errcode": 0, "errmsg": "ok"}


@dataclass
class Request:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    finished: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: OK_ROBOT)
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.scripts: dict[str, list[Answer]] = {}
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                path, _, query = self.path.partition("?")
                request = Request(
                    path, query, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with receiver._lock:
                    receiver.requests.append(request)
                    script = receiver.scripts.get(path)
                    answer = script.pop(0) if script else Answer()
                if answer.hang:
                    receiver.release.wait(120)
                    request.finished = True
                    return  # close without an answer
                data = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                request.finished = True

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def script(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self.scripts[path] = list(answers)

    def at(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"


@dataclass
class SmtpServer:
    mailbox: Mailbox
    controller: Controller

    @property
    def port(self) -> int:
        return int(self.controller.port)


def start_smtp(**kwargs: Any) -> SmtpServer:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return SmtpServer(mailbox, controller)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = start_smtp()
    yield server
    server.controller.stop()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'api.db'}")
    db.init()
    yield db
    db.close()


def run_until(
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    done: Callable[[], bool],
    *,
    timeout: float = 30.0,
    what: str = "the deliveries",
) -> None:
    """Start the workers on a fresh event loop, poll ``done`` (a blocking probe run in a
    thread), then stop them whatever happened."""

    async def main() -> None:
        await start()
        try:
            deadline = time.monotonic() + timeout
            while not await asyncio.to_thread(done):
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
                await asyncio.sleep(0.05)
        finally:
            await stop()

    asyncio.run(main())
