"""Grafana alerts in, through the API: the signature when a secret is set, then the same
incidents under the same routing as the rule evaluator's."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.mqtt.pki import DevPki
from devstack.processes import InfluxServer
from tests.integration.api.conftest import build_world
from tests.integration.incidents.conftest import Desk, desk_settings

pytestmark = pytest.mark.integration

SECRET = "grafana-webhook-secret-0123456789abcdef"


@pytest.fixture
def signed(tmp_path: Path, influxd: InfluxServer, dev_pki: DevPki) -> Iterator[Desk]:
    yield from build_world(
        desk_settings(tmp_path, influxd, dev_pki, grafana_webhook_secret=SECRET), Desk
    )


def _body(status: str = "firing", fingerprint: str = "9c1d2e3f4a5b6c7d", **labels: str) -> bytes:
    alert = {
        "status": status,
        "labels": {"alertname": "道路积水", "rule_id": "drain-waterlogging", "grade": "III",
                   "township": "yuanqiao", "village": "dongzhan", **labels},
        "annotations": {"summary": "东站北广场下穿积水 0.32 m"},
        "startsAt": "2026-11-30T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint, "values": {"B": 0.32},
    }  # fmt: skip
    return orjson.dumps({"receiver": "tianqu", "status": status, "alerts": [alert]})


def _post(desk: Desk, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return desk.client.post(
        "/alerts/grafana",
        content=body,
        # Grafana 11/12 send the key as "Authorization: Bearer …" (its credentials setting).
        headers={"Authorization": f"Bearer {desk.service_key}",
                 "Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip


def _signature(body: bytes, timestamp: str | None = None) -> str:
    message = body if timestamp is None else timestamp.encode() + b":" + body
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def test_a_signed_alert_raises_an_incident_routed_like_any_other(signed: Desk) -> None:
    body = _body()
    response = _post(signed, body, {"X-Grafana-Alerting-Signature": _signature(body)})
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert (result["status"], result["fingerprint"]) == ("created", "grafana:9c1d2e3f4a5b6c7d")
    incident = signed.incident(result["incident_id"])
    assert (incident["source"], incident["level"], incident["grade"]) == (
        "grafana", "township", "III",
    )  # fmt: skip
    assert incident["duty_captain"]["username"] == "township-yuanqiao"
    assert incident["audit"][0]["actor_kind"] == "grafana"
    # Grafana repeats a firing alert: the same incident, counted.
    stamp = str(int(time.time()))
    again = _post(signed, body, {"X-Grafana-Alerting-Signature": _signature(body, stamp),
                                 "X-Grafana-Alerting-Signature-Timestamp": stamp})  # fmt: skip
    assert again.json()["results"][0]["status"] == "deduplicated"
    resolved = _body("resolved")
    cleared = _post(signed, resolved, {"X-Grafana-Alerting-Signature": _signature(resolved)})
    assert cleared.json()["results"][0]["status"] == "cleared"
    assert signed.incident(result["incident_id"])["occurrences"] == 2


@pytest.mark.parametrize("how", ["missing", "wrong", "tampered", "replayed"])
def test_a_missing_or_bad_signature_is_401_and_raises_nothing(signed: Desk, how: str) -> None:
    body = _body()
    headers: dict[str, str] = {}
    if how == "wrong":
        headers["X-Grafana-Alerting-Signature"] = "0" * 64
    elif how == "tampered":
        headers["X-Grafana-Alerting-Signature"] = _signature(body.replace(b"III", b"IV"))
    elif how == "replayed":
        stamp = str(int(time.time()) - 3600)
        headers["X-Grafana-Alerting-Signature"] = _signature(body, stamp)
        headers["X-Grafana-Alerting-Signature-Timestamp"] = stamp
    response = _post(signed, body, headers)
    assert response.status_code == 401, response.text
    assert "signature" in response.json()["detail"]
    assert signed.get("district", "/incidents").json()["total"] == 0


def test_without_a_secret_no_signature_is_needed(desk: Desk) -> None:
    response = _post(desk, _body())
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "created"


def test_missing_labels_are_422_naming_them(desk: Desk) -> None:
    body = orjson.dumps({"alerts": [{"status": "firing", "labels": {"grade": "III"}}]})
    response = _post(desk, body)
    assert response.status_code == 422
    assert sorted(tuple(e["loc"]) for e in response.json()["detail"]) == [
        ("body", "alerts", 0, "labels", "rule_id"),
        ("body", "alerts", 0, "labels", "township"),
    ]


def test_only_reporting_keys_may_call_it(desk: Desk) -> None:
    response = desk.client.post(
        "/alerts/grafana", content=_body(), headers=desk.headers("viewer-a")
    )
    assert response.status_code == 403
    assert desk.client.post("/alerts/grafana", content=_body()).status_code == 401
