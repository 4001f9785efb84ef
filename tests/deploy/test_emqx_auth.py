"""EMQX's login service answers from the same files mosquitto reads, as mosquitto would."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.mqtt.acl import DeviceAccount, GatewayAccount, ServiceAccountEntry, render_acl
from api.mqtt.acl import render_passwords as render_password_file
from city.kinds import Kind
from devstack import emqx_auth
from devstack.emqx_auth import BrokerFilesView, create_app, decide, parse_acl
from servicekit.mqtt_passwords import mosquitto_hash

DEVICE = DeviceAccount("mh-dongzhan-00001", Kind.MANHOLE, "yuanqiao", "dongzhan", None)
CERT_DEVICE = DeviceAccount("sl-dongzhan-00002", Kind.STREETLIGHT, "yuanqiao", "dongzhan", None)


@pytest.fixture
def files(tmp_path: Path) -> BrokerFilesView:
    device = DeviceAccount(
        DEVICE.device_id, DEVICE.kind, DEVICE.township, DEVICE.village, mosquitto_hash("dev-pw")
    )
    gateway = GatewayAccount("gw-00", mosquitto_hash("gw-pw"), "yuanqiao", None, "area")
    service = ServiceAccountEntry("ingest", mosquitto_hash("ingest-pw"), "ingest")
    (tmp_path / "passwords").write_text(render_password_file([device], [gateway], [service]))
    (tmp_path / "acl").write_text(render_acl([device, CERT_DEVICE], [gateway], [service]))
    return BrokerFilesView(tmp_path / "passwords", tmp_path / "acl")


def test_device_login_gets_exactly_its_two_topics(files: BrokerFilesView) -> None:
    answer = decide(files.accounts(), DEVICE.device_id, "dev-pw", DEVICE.device_id, "")
    assert answer["result"] == "allow"
    assert answer["is_superuser"] is False
    telemetry, status = DEVICE.topics()
    assert answer["acl"] == [
        {"permission": "allow", "action": "publish", "topic": telemetry},
        {"permission": "allow", "action": "publish", "topic": status},
    ]


@pytest.mark.parametrize(
    ("username", "password"),
    [("mh-dongzhan-00001", "wrong"), ("nobody", "dev-pw"), ("", "dev-pw"), ("ingest", "")],
)
def test_bad_logins_are_denied(files: BrokerFilesView, username: str, password: str) -> None:
    assert decide(files.accounts(), username, password, "c", "")["result"] == "deny"


def test_service_and_gateway_rules(files: BrokerFilesView) -> None:
    ingest = decide(files.accounts(), "ingest", "ingest-pw", "tianqu-ingest-0", "")
    assert ingest["acl"] == [{"permission": "allow", "action": "subscribe", "topic": "tianqu/v1/#"}]
    gateway = decide(files.accounts(), "gw-00", "gw-pw", "gw-00", "")
    assert gateway["acl"] == [
        {"permission": "allow", "action": "publish", "topic": "tianqu/v1/yuanqiao/#"}
    ]


def test_certificate_login_needs_a_known_device(files: BrokerFilesView) -> None:
    known = CERT_DEVICE.device_id
    assert decide(files.accounts(), known, "", known, known)["result"] == "allow"
    assert decide(files.accounts(), "stranger", "", "stranger", "stranger")["result"] == "deny"
    # a CN that is not the username (the password listener never sets one) is not a login
    assert decide(files.accounts(), known, "", known, "other")["result"] == "deny"


def test_mosquitto_acl_forms() -> None:
    users, patterns = parse_acl(
        "topic read $SYS/#\n"  # before any user: anonymous, ignored
        "user a\ntopic x/#\ntopic deny x/secret\ntopic readwrite y\n"
        "pattern write dev/%u/%c/#\n"
    )
    assert [r.permission for r in users["a"]] == ["allow", "deny", "allow"]
    assert [r.action for r in users["a"]] == ["all", "all", "all"]
    accounts = emqx_auth.BrokerAccounts({"a": mosquitto_hash("p")}, users, patterns)
    acl = accounts.acl("a", "c1")
    assert acl[0] == {"permission": "deny", "action": "all", "topic": "x/secret"}
    assert {"permission": "allow", "action": "publish", "topic": "dev/a/c1/#"} in acl


def test_files_are_reread_after_the_api_replaces_them(
    files: BrokerFilesView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emqx_auth, "RELOAD_CHECK_S", 0.0)
    assert decide(files.accounts(), "late", "late-pw", "late", "")["result"] == "deny"
    tmp = files.password_file.with_name(".passwords.tmp")
    tmp.write_text(files.password_file.read_text() + f"late:{mosquitto_hash('late-pw')}\n")
    tmp.replace(files.password_file)  # what api.mqtt.brokerfiles does
    time.sleep(0.01)
    assert decide(files.accounts(), "late", "late-pw", "late", "")["result"] == "allow"


def test_http_interface(files: BrokerFilesView) -> None:
    client = TestClient(create_app(files))
    body = {"username": DEVICE.device_id, "password": "dev-pw", "clientid": DEVICE.device_id,
            "cert_common_name": "${cert_common_name}"}  # fmt: skip
    answer = client.post("/authn", json=body)
    assert answer.status_code == 200
    assert answer.json()["result"] == "allow"
    assert client.post("/authn", content=b"not json").json() == {"result": "deny"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
