"""EMQX's login service, answered from the broker files the API already renders for mosquitto.

``python -m devstack.emqx_auth`` serves EMQX 5's HTTP authentication (``POST /authn``):
the password is checked against mosquitto's password file (``$7$`` PBKDF2-SHA512 lines) and
the answer carries the client's ACL from mosquitto's ACL file (``user`` blocks, ``topic
read|write|readwrite|deny`` lines, ``pattern`` lines with ``%u``/``%c``), which EMQX (5.8+)
then enforces itself without a call per publish. A client-certificate login (the ``certs``
listener, CN = username) is admitted when the ACL knows that username, as mosquitto's
``use_identity_as_username`` does. So mosquitto and EMQX enforce the same registry, and the
API needs no EMQX-specific code: it keeps writing the two files.

EMQX's built-in database cannot import mosquitto's hashes (their 12-byte salts are raw bytes,
EMQX takes the salt as text), which is why the check is done here. The files are re-read when
they change (checked at most once a second). Revoked devices lose their password line and ACL
block at once; an already connected client keeps its ACL until it reconnects (see
docs/scaling.md, "Open points").
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from servicekit.mqtt_passwords import mosquitto_verify

log = logging.getLogger(__name__)

RELOAD_CHECK_S = 1.0
_ACTIONS = {"read": "subscribe", "write": "publish", "readwrite": "all"}


@dataclass(frozen=True, slots=True)
class AclRule:
    permission: str  # allow | deny
    action: str  # publish | subscribe | all
    topic: str

    def as_emqx(self, username: str, clientid: str) -> dict[str, str]:
        topic = self.topic.replace("%u", username).replace("%c", clientid)
        return {"permission": self.permission, "action": self.action, "topic": topic}


@dataclass(frozen=True, slots=True)
class BrokerAccounts:
    """What the two files say: password hashes, per-user rules and pattern rules."""

    hashes: dict[str, str] = field(default_factory=dict)
    users: dict[str, tuple[AclRule, ...]] = field(default_factory=dict)
    patterns: tuple[AclRule, ...] = ()

    def acl(self, username: str, clientid: str) -> list[dict[str, str]]:
        rules = [*self.users.get(username, ()), *self.patterns]
        # mosquitto checks deny lines first; EMQX takes the first rule that matches.
        ordered = [r for r in rules if r.permission == "deny"] + [
            r for r in rules if r.permission == "allow"
        ]
        return [r.as_emqx(username, clientid) for r in ordered]


def _rule(words: list[str]) -> AclRule | None:
    """``topic [read|write|readwrite|deny] <topic>`` (the topic may contain spaces)."""
    if len(words) >= 3 and words[1] in (*_ACTIONS, "deny"):
        access, topic = words[1], " ".join(words[2:])
    elif len(words) >= 2:
        access, topic = "readwrite", " ".join(words[1:])
    else:
        return None
    if access == "deny":
        return AclRule("deny", "all", topic)
    return AclRule("allow", _ACTIONS[access], topic)


def parse_acl(text: str) -> tuple[dict[str, tuple[AclRule, ...]], tuple[AclRule, ...]]:
    users: dict[str, list[AclRule]] = {}
    patterns: list[AclRule] = []
    current: str | None = None  # lines before the first ``user`` are for anonymous clients
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] == "user" and len(words) >= 2:
            current = " ".join(words[1:])
            users.setdefault(current, [])
        elif words[0] == "topic" and current is not None:
            rule = _rule(words)
            if rule is not None:
                users[current].append(rule)
        elif words[0] == "pattern":
            rule = _rule(words)
            if rule is not None:
                patterns.append(rule)
    return {u: tuple(r) for u, r in users.items()}, tuple(patterns)


def parse_passwords(text: str) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        username, _, stored = line.partition(":")
        hashes[username] = stored
    return hashes


class BrokerFilesView:
    """The two files, parsed, re-read when their identity or size or mtime changes."""

    def __init__(self, password_file: Path, acl_file: Path) -> None:
        self.password_file = password_file
        self.acl_file = acl_file
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[int, int, int], ...] | None = None
        self._checked = 0.0
        self._accounts = BrokerAccounts()

    def _file_stamp(self) -> tuple[tuple[int, int, int], ...]:
        stamps = []
        for path in (self.password_file, self.acl_file):
            try:
                st = path.stat()
                stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                stamps.append((0, 0, 0))
        return tuple(stamps)

    def accounts(self) -> BrokerAccounts:
        now = time.monotonic()
        with self._lock:
            if self._stamp is not None and now - self._checked < RELOAD_CHECK_S:
                return self._accounts
            self._checked = now
            stamp = self._file_stamp()
            if stamp != self._stamp:
                self._accounts = self._load()
                self._stamp = stamp
                log.info(
                    "broker files loaded: %d logins, %d ACL users",
                    len(self._accounts.hashes),
                    len(self._accounts.users),
                )
            return self._accounts

    def _load(self) -> BrokerAccounts:
        def read(path: Path) -> str:
            try:
                return path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return ""

        users, patterns = parse_acl(read(self.acl_file))
        return BrokerAccounts(parse_passwords(read(self.password_file)), users, patterns)


def decide(
    accounts: BrokerAccounts, username: str, password: str, clientid: str, cert_cn: str
) -> dict[str, Any]:
    """EMQX's HTTP authentication answer for one CONNECT."""
    deny: dict[str, Any] = {"result": "deny"}
    if not username:
        return deny
    if password:
        stored = accounts.hashes.get(username)
        if stored is None or not mosquitto_verify(stored, password):
            return deny
    elif not (cert_cn and cert_cn == username and username in accounts.users):
        return deny
    return {"result": "allow", "is_superuser": False, "acl": accounts.acl(username, clientid)}


def create_app(view: BrokerFilesView) -> Starlette:
    async def authn(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"result": "deny"})
        if not isinstance(body, dict):
            return JSONResponse({"result": "deny"})

        def text(key: str) -> str:
            value = body.get(key)
            # EMQX sends the literal placeholder when a value is absent (no certificate).
            return value if isinstance(value, str) and not value.startswith("${") else ""

        answer = decide(
            view.accounts(),
            text("username"),
            text("password"),
            text("clientid"),
            text("cert_common_name"),
        )
        return JSONResponse(answer)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ready = view.password_file.exists() and view.acl_file.exists()
        return JSONResponse(
            {"status": "ok" if ready else "broker files missing"},
            status_code=200 if ready else 503,
        )

    return Starlette(
        routes=[
            Route("/authn", authn, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m devstack.emqx_auth", description=__doc__)
    p.add_argument("--password-file", type=Path, default=env("TIANQU_EMQX_AUTH_PASSWORD_FILE"))
    p.add_argument("--acl-file", type=Path, default=env("TIANQU_EMQX_AUTH_ACL_FILE"))
    p.add_argument("--host", default=env("TIANQU_EMQX_AUTH_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("TIANQU_EMQX_AUTH_PORT", "8090")))
    args = p.parse_args(argv)
    if args.password_file is None or args.acl_file is None:
        p.error("--password-file and --acl-file (or TIANQU_EMQX_AUTH_*_FILE) are required")
    import uvicorn  # noqa: PLC0415 - only serving needs it

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = create_app(BrokerFilesView(args.password_file, args.acl_file))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
