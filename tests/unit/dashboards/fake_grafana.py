"""A small fake of Grafana's HTTP API: the endpoints ``dashboards.sync`` uses, with Grafana's
shapes and habits (ids and versions added to stored dashboards, secrets never returned, secret
contact-point settings redacted, a 404 ``{"message"}`` for what does not exist, a default
notification policy), recording every call. It runs on a real socket so that the test drives
grafana-client end to end."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "glsa_test_token"
SECRET_SETTINGS = {"password", "authorization_credentials", "secret"}


class NotFound(Exception):
    pass


class BadRequest(Exception):
    pass


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "[REDACTED]" if k in SECRET_SETTINGS else _redact(v) for k, v in value.items()}
    return value


@dataclass
class FakeGrafana:
    version: str = "12.0.0"
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    group_intervals: dict[tuple[str, str], int] = field(default_factory=dict)
    contact_points: dict[str, dict[str, Any]] = field(default_factory=dict)
    policy: dict[str, Any] = field(
        default_factory=lambda: {
            "receiver": "grafana-default-email",
            "group_by": ["grafana_folder", "alertname"],
        }
    )
    calls: list[tuple[str, str]] = field(default_factory=list)
    _next_id: int = 1

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "GET"]

    # --- routing --------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", r"/api/frontend/settings", lambda: {"buildInfo": {"version": self.version}}),
            # grafana-client 3.x reads the version from the health endpoint, as Grafana serves it
            ("GET", r"/api/health", lambda: {"database": "ok", "version": self.version}),
            ("GET", r"/api/folders/([^/]+)", self.get_folder),
            ("POST", r"/api/folders", lambda: self.create_folder(body)),
            ("PUT", r"/api/folders/([^/]+)", lambda uid: self.update_folder(uid, body)),
            ("GET", r"/api/datasources/uid/([^/]+)", self.get_datasource),
            ("POST", r"/api/datasources", lambda: self.put_datasource(None, body)),
            ("PUT", r"/api/datasources/uid/([^/]+)", lambda uid: self.put_datasource(uid, body)),
            ("GET", r"/api/dashboards/uid/([^/]+)", self.get_dashboard),
            ("POST", r"/api/dashboards/db", lambda: self.save_dashboard(body)),
            ("GET", r"/api/v1/provisioning/alert-rules", lambda: list(self.rules.values())),
            ("GET", r"/api/v1/provisioning/alert-rules/([^/]+)", self.get_rule),
            ("POST", r"/api/v1/provisioning/alert-rules", lambda: self.put_rule(None, body)),
            (
                "PUT",
                r"/api/v1/provisioning/alert-rules/([^/]+)",
                lambda uid: self.put_rule(uid, body),
            ),
            ("DELETE", r"/api/v1/provisioning/alert-rules/([^/]+)", self.delete_rule),
            ("GET", r"/api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)", self.get_group),
            (
                "PUT",
                r"/api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)",
                lambda f, g: self.put_group(f, g, body),
            ),
            (
                "GET",
                r"/api/v1/provisioning/contact-points",
                lambda: [
                    _redact(copy.deepcopy(p))
                    for p in self.contact_points.values()
                    if not query.get("name") or p["name"] == query["name"][0]
                ],
            ),
            ("POST", r"/api/v1/provisioning/contact-points", lambda: self.put_contact(None, body)),
            (
                "PUT",
                r"/api/v1/provisioning/contact-points/([^/]+)",
                lambda uid: self.put_contact(uid, body),
            ),
            ("GET", r"/api/v1/provisioning/policies", lambda: copy.deepcopy(self.policy)),
            ("PUT", r"/api/v1/provisioning/policies", lambda: self.put_policy(body)),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return handler(*match.groups())
        raise NotFound(f"no route {method} {path}")

    # --- folders, data sources, dashboards ------------------------------------------------

    def get_folder(self, uid: str) -> dict[str, Any]:
        if uid not in self.folders:
            raise NotFound("folder not found")
        return copy.deepcopy(self.folders[uid])

    def create_folder(self, body: dict[str, Any]) -> dict[str, Any]:
        uid = body["uid"]
        if uid in self.folders:
            raise BadRequest("a folder with the same uid already exists")
        if any(f["title"] == body["title"] for f in self.folders.values()):
            raise BadRequest("a folder with the same name already exists")
        self.folders[uid] = {"id": self._id(), "uid": uid, "title": body["title"], "version": 1}
        return copy.deepcopy(self.folders[uid])

    def update_folder(self, uid: str, body: dict[str, Any]) -> dict[str, Any]:
        folder = self.folders[uid]
        folder.update(title=body["title"], version=folder["version"] + 1)
        return copy.deepcopy(folder)

    def get_datasource(self, uid: str) -> dict[str, Any]:
        if uid not in self.datasources:
            raise NotFound("Data source not found")
        return copy.deepcopy(self.datasources[uid])

    def put_datasource(self, uid: str | None, body: dict[str, Any]) -> dict[str, Any]:
        uid = uid or body["uid"]
        stored = {k: v for k, v in body.items() if k != "secureJsonData"}
        self.secrets[uid] = dict(body.get("secureJsonData") or {})
        stored.update(
            id=self.datasources.get(uid, {}).get("id") or self._id(),
            orgId=1,
            basicAuth=False,
            readOnly=False,
            secureJsonFields=dict.fromkeys(self.secrets[uid], True),
        )
        self.datasources[uid] = stored
        return {"datasource": stored, "message": "Datasource added"}

    def get_dashboard(self, uid: str) -> dict[str, Any]:
        if uid not in self.dashboards:
            raise NotFound("Dashboard not found")
        return copy.deepcopy(self.dashboards[uid])

    def save_dashboard(self, body: dict[str, Any]) -> dict[str, Any]:
        dashboard = dict(body["dashboard"])
        uid = dashboard["uid"]
        if body.get("folderUid") not in self.folders:
            raise BadRequest("folder not found")
        previous = self.dashboards.get(uid)
        if previous and not body.get("overwrite"):
            raise BadRequest("version-mismatch")
        version = previous["dashboard"]["version"] + 1 if previous else 1
        dashboard.update(
            id=previous["dashboard"]["id"] if previous else self._id(), version=version
        )
        self.dashboards[uid] = {
            "dashboard": dashboard,
            "meta": {"folderUid": body["folderUid"], "provisioned": False, "slug": uid},
        }
        return {"uid": uid, "version": version, "status": "success"}

    # --- alerting ---------------------------------------------------------------------------

    def get_rule(self, uid: str) -> dict[str, Any]:
        if uid not in self.rules:
            raise NotFound("rule not found")
        return copy.deepcopy(self.rules[uid])

    def put_rule(self, uid: str | None, body: dict[str, Any]) -> dict[str, Any]:
        uid = uid or body["uid"]
        if body["folderUID"] not in self.folders:
            raise BadRequest("folder does not exist")
        for other in self.rules.values():
            if (
                other["uid"] != uid
                and other["title"] == body["title"]
                and other["folderUID"] == body["folderUID"]
            ):
                raise BadRequest("a rule with this title already exists in the folder")
        key = (body["folderUID"], body["ruleGroup"])
        self.group_intervals.setdefault(key, 60)
        stored = {
            **copy.deepcopy(body),
            "id": self._id(),
            "provenance": "api",
            "updated": "2026-01-01T00:00:00Z",
        }
        self.rules[uid] = stored
        return copy.deepcopy(stored)

    def delete_rule(self, uid: str) -> None:
        if uid not in self.rules:
            raise NotFound("rule not found")
        del self.rules[uid]

    def get_group(self, folder: str, group: str) -> dict[str, Any]:
        if (folder, group) not in self.group_intervals:
            raise NotFound("rule group not found")
        return {
            "title": group,
            "folderUid": folder,
            "interval": self.group_intervals[(folder, group)],
            "rules": [
                copy.deepcopy(r)
                for r in self.rules.values()
                if r["folderUID"] == folder and r["ruleGroup"] == group
            ],
        }

    def put_group(self, folder: str, group: str, body: dict[str, Any]) -> dict[str, Any]:
        self.group_intervals[(folder, group)] = int(body["interval"])
        for rule in body["rules"]:
            self.rules[rule["uid"]] = copy.deepcopy(rule)
        return self.get_group(folder, group)

    def put_contact(self, uid: str | None, body: dict[str, Any]) -> dict[str, Any]:
        uid = uid or body["uid"]
        self.contact_points[uid] = copy.deepcopy(body)
        redacted: dict[str, Any] = _redact(copy.deepcopy(body))
        return redacted

    def put_policy(self, body: dict[str, Any]) -> dict[str, Any]:
        self.policy = copy.deepcopy(body)
        return {"message": "policies updated"}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGrafana

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self, method: str) -> None:
        parsed = urlparse(self.path)
        self.fake.calls.append((method, parsed.path))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, {"message": "Unauthorized"})
            return
        try:
            result = self.fake.handle(
                method, parsed.path, parse_qs(parsed.query), json.loads(raw) if raw else None
            )
        except NotFound as exc:
            self._reply(404, {"message": str(exc)})
        except BadRequest as exc:
            self._reply(400, {"message": str(exc)})
        else:
            self._reply(200, result if result is not None else {"message": "ok"})

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


class FakeGrafanaServer:
    def __init__(self, fake: FakeGrafana) -> None:
        handler = type("Handler", (_Handler,), {"fake": fake})
        self.fake = fake
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeGrafanaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
