"""API fixtures: the app on a temporary SQLite registry, the shared real influxd, real brokers.

``world`` builds the same small district for every test that needs one: three areas (A =
袁桥镇/东站社区, B = 袁桥镇/大屯 — a sibling village, C = 长河街道/湖滨社区 — another township),
an administrator at each level, a device per area with points in InfluxDB, a service key that
reports alerts (district), and a client that logs in as any of them.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast, overload

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.config import Settings
from api.core.principal import Role
from api.core.scope import Level
from api.crud import apikeys, users
from api.main import create_app
from api.models.apikeys import ApiKeyCreate
from api.models.users import UserCreate
from api.mqtt.pki import DevPki, ensure_dev_pki
from city.kinds import Kind
from city.schema import reading_line, status_line
from city.telemetry import DeviceStatus
from devstack.processes import InfluxServer
from influxv1 import InfluxClient, InfluxTarget
from tests.support import readings

PASSWORD = "correct horse battery"
AREAS = {
    "A": ("yuanqiao", "dongzhan"),
    "B": ("yuanqiao", "datun"),
    "C": ("changhe", "hubin"),
}
# username → (level, township, village, role)
PEOPLE: dict[str, tuple[str, str | None, str | None, str]] = {
    "district": ("district", None, None, "admin"),
    "township-yuanqiao": ("township", "yuanqiao", None, "admin"),
    "township-changhe": ("township", "changhe", None, "admin"),
    "village-a": ("village", "yuanqiao", "dongzhan", "admin"),
    "village-b": ("village", "yuanqiao", "datun", "admin"),
    "village-c": ("village", "changhe", "hubin", "admin"),
    "viewer-a": ("village", "yuanqiao", "dongzhan", "viewer"),
}


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("pki"))


def make_settings(tmp: Path, influxd: InfluxServer, pki: DevPki, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_key": "test-secret-" + "x" * 40,
        "state_dir": tmp / "api",
        "influx_url": influxd.url,
        "influx_database": f"api_{uuid.uuid4().hex[:10]}",
        "mqtt_password_file": tmp / "broker" / "passwords",
        "mqtt_acl_file": tmp / "broker" / "acl",
        "mqtt_ca_cert": pki.ca_cert,
        "mqtt_ca_key": pki.ca_key,
        "rate_limit": "100000/minute",
        "login_rate_limit": "100000/minute",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class World:
    app: FastAPI
    client: TestClient
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)  # area → device id
    passwords: dict[str, str] = field(default_factory=dict)  # device id → MQTT password
    service_key: str = ""  # role service, district: POST /alerts/events
    user_ids: dict[str, int] = field(default_factory=dict)  # username → id

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.get(url, headers=headers, **kwargs)

    def post(self, who: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.post(url, headers=headers, **kwargs)

    def patch(self, who: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.patch(url, headers=headers, **kwargs)

    def delete(self, who: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.delete(url, headers=headers, **kwargs)

    def report(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        """POST /alerts/events with the service key; the per-event results."""
        response = self.client.post(
            "/alerts/events", json={"events": list(events)}, headers={"X-API-Key": self.service_key}
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def raise_incident(self, area: str = "A", grade: str = "IV", **overrides: Any) -> int:
        """A new incident in an area (a fresh fingerprint); its id."""
        [result] = self.report(alert_event(area, grade=grade, **overrides))
        assert result["status"] == "created", result
        incident_id: int = result["incident_id"]
        return incident_id

    def influx(self) -> InfluxClient:
        s = self.settings
        return InfluxClient(InfluxTarget(s.influx_url, s.influx_database))

    def register(self, area: str, device_id: str, kind: Kind = Kind.PARKING) -> dict[str, Any]:
        township, village = AREAS[area]
        body: dict[str, Any] = {
            "device_id": device_id, "kind": kind.value, "township": township, "village": village,
            "lat": 37.45, "lon": 116.4,
        }  # fmt: skip
        if kind is Kind.WATER:
            body["site"] = "drain"
        response = self.post("district", "/devices", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        self.passwords[device_id] = result["credentials"]["password"]
        return result


W = TypeVar("W", bound=World)
_fingerprints = itertools.count(1)


def alert_event(area: str = "A", **overrides: Any) -> dict[str, Any]:
    """An AlertEvent as the rule evaluator sends it (CH4 in a manhole), with a new fingerprint."""
    township, village = AREAS[area]
    device = f"mh-{village}-{next(_fingerprints):05d}"
    event: dict[str, Any] = {
        "status": "firing", "rule_id": "manhole-ch4-high", "rule_name": "井下甲烷超标",
        "grade": "III", "fingerprint": f"manhole-ch4-high:{device}", "township": township,
        "village": village, "device_id": device, "kind": "manhole", "subject": device,
        "value": 12.5, "threshold": "> 10", "observed_ms": int(time.time() * 1000),
        "summary": "CH4 12.5 %LEL",
    }  # fmt: skip
    event.update(overrides)
    return event


@overload
def build_world(settings: Settings) -> Iterator[World]: ...
@overload
def build_world(settings: Settings, kind: type[W]) -> Iterator[W]: ...
def build_world(settings: Settings, kind: type[W] | None = None) -> Iterator[W]:
    """The district on these settings, as a ``kind`` of World (tests add their own verbs)."""
    app = create_app(settings)
    with TestClient(app) as client:
        world = cast(W, (kind or World)(app, client, settings))
        with app.state.database.session() as session:
            # Straight to the registry: the rate-limit tests count every request people make.
            _, world.service_key = apikeys.create(
                session,
                ApiKeyCreate(name="alerting", level=Level.DISTRICT, role=Role.SERVICE),
                created_by=None,
            )
            for name, (level, township, village, role) in PEOPLE.items():
                world.user_ids[name] = users.create(
                    session,
                    UserCreate(
                        username=name,
                        display_name=name,
                        password=PASSWORD,
                        level=level,
                        township=township,
                        village=village,
                        role=role,
                    ),
                ).id
        for name in PEOPLE:
            response = client.post("/auth/login", data={"username": name, "password": PASSWORD})
            assert response.status_code == 200, response.text
            world.tokens[name] = response.json()["access_token"]
        influx = world.influx()
        influx.create_database()
        lines = []
        for area, (township, village) in AREAS.items():
            device_id = f"pk-{village}-00001"
            world.register(area, device_id)
            world.devices[area] = device_id
            # Area A's bay is occupied, the others free: an aggregate that leaked another
            # area's points would not be 1.0 for A.
            reading = readings.parking(device_id, seq=1)
            reading = reading.model_copy(update={"occupied": area == "A"})
            lines.append(reading_line(reading, township, village))
            status = DeviceStatus(online=area != "C", ts=reading.ts)
            lines.append(
                status_line(
                    status,
                    device_id=device_id,
                    kind=Kind.PARKING,
                    township=township,
                    village=village,
                    ts=reading.ts,
                )
            )
        influx.write("\n".join(lines).encode(), precision="ms")
        influx.close()
        yield world


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, influxd: InfluxServer, dev_pki: DevPki
) -> Iterator[World]:
    """One district per test module (read-mostly tests share it)."""
    yield from build_world(make_settings(tmp_path_factory.mktemp("world"), influxd, dev_pki))


@pytest.fixture
def fresh_world(tmp_path: Path, influxd: InfluxServer, dev_pki: DevPki) -> Iterator[World]:
    """A district of its own, for tests that change it."""
    yield from build_world(make_settings(tmp_path, influxd, dev_pki))
