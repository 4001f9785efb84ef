"""Bad input and abuse: 413 for big bodies, 429 with Retry-After, 422s that name the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.mqtt.pki import DevPki
from devstack.processes import InfluxServer
from tests.integration.api.conftest import World, build_world, make_settings

pytestmark = pytest.mark.integration

HEADER = "device_id,kind,township,village,road,river,station,site,lat,lon\n"


@pytest.fixture
def limited(tmp_path: Path, influxd: InfluxServer, dev_pki: DevPki) -> Iterator[World]:
    settings = make_settings(
        tmp_path, influxd, dev_pki, rate_limit="5/minute", login_rate_limit="100/minute",
        max_body_bytes=4096,
    )  # fmt: skip
    yield from build_world(settings)


def test_a_body_over_the_limit_is_413(limited: World) -> None:
    big = HEADER + "pk-x-00001,parking,yuanqiao,dongzhan,,,,,37.4,116.4\n" * 200
    response = limited.post(
        "district", "/devices/import", content=big, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 413, response.text


def test_a_chunked_body_over_the_limit_is_413(limited: World) -> None:
    def chunks() -> Iterator[bytes]:
        yield HEADER.encode()
        for _ in range(200):
            yield b"pk-x-00001,parking,yuanqiao,dongzhan,,,,,37.4,116.4\n"

    response = limited.client.post(
        "/devices/import",
        content=chunks(),
        headers={**limited.headers("district"), "content-type": "text/csv"},
    )
    assert response.status_code == 413, response.text


def test_the_rate_limit_is_per_caller_and_says_when_to_retry(limited: World) -> None:
    statuses = [limited.get("village-a", "/auth/me").status_code for _ in range(6)]
    assert statuses[:4] == [200] * 4  # build_world used none of village-a's budget
    response = limited.get("village-a", "/auth/me")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "rate limit" in response.json()["detail"]
    assert limited.get("village-b", "/auth/me").status_code == 200


def test_logins_are_rate_limited(tmp_path: Path, influxd: InfluxServer, dev_pki: DevPki) -> None:
    settings = make_settings(tmp_path, influxd, dev_pki, login_rate_limit="3/minute")
    # Per client and username: build_world logged "district" in once.
    for world in build_world(settings):
        codes = [
            world.client.post(
                "/auth/login", data={"username": "district", "password": "x"}
            ).status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 429]


def _import_errors(world: World, rows: str) -> dict[tuple[object, ...], str]:
    response = world.post(
        "district", "/devices/import", content=HEADER + rows, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}


def test_import_shape_problems_name_row_and_field(world: World) -> None:
    errors = _import_errors(
        world,
        "pk-good-00001,parking,yuanqiao,dongzhan,,,,,37.4,116.4\n"
        "pk-bad-00002,water,yuanqiao,dongzhan,,,,,37.4,116.4\n"
        "pk-bad-00003,parking,yuanqiao,dongzhan,,,,,95,116.4\n"
        "PK BAD,parking,yuanqiao,dongzhan,,,,,37.4,116.4\n",
    )
    assert "site is required" in errors[("body", "devices", 1)]
    assert "less than or equal to 90" in errors[("body", "devices", 2, "lat")]
    assert "pattern" in errors[("body", "devices", 3, "device_id")]
    assert len(errors) == 3


def test_import_registry_problems_name_row_and_field(world: World) -> None:
    errors = _import_errors(
        world,
        "pk-good-00001,parking,yuanqiao,dongzhan,,,,,37.4,116.4\n"
        "pk-bad-00002,parking,nowhere,dongzhan,,,,,37.4,116.4\n"
        "pk-bad-00003,parking,yuanqiao,hubin,,,,,37.4,116.4\n"
        f"{world.devices['C']},parking,yuanqiao,dongzhan,,,,,37.4,116.4\n"
        "pk-good-00001,parking,yuanqiao,dongzhan,,,,,37.4,116.4\n",
    )
    assert "not in the roster" in errors[("body", "devices", 1, "township")]
    assert "not in township" in errors[("body", "devices", 2, "village")]
    assert "already registered" in errors[("body", "devices", 3, "device_id")]
    assert "twice" in errors[("body", "devices", 4, "device_id")]
    # All or nothing: the good row was not registered either.
    assert world.get("district", "/devices/pk-good-00001").status_code == 404


def test_a_village_cannot_import_into_another_village(world: World) -> None:
    rows = HEADER + "pk-else-00001,parking,yuanqiao,datun,,,,,37.4,116.4\n"
    response = world.post(
        "village-a", "/devices/import", content=rows, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "devices", 0, "village"]
    assert "outside your area" in error["msg"]


def test_registering_a_taken_id_is_409_naming_the_field(world: World) -> None:
    body = {"device_id": world.devices["C"], "kind": "parking", "township": "yuanqiao",
            "village": "dongzhan", "lat": 37.4, "lon": 116.4}  # fmt: skip
    response = world.post("village-a", "/devices", json=body)
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["body", "device_id"]


def test_json_import_accepts_the_simulator_export_shape(fresh_world: World) -> None:
    w = fresh_world
    body = {"seed": 1, "devices": [
        {"device_id": "wt-json-00001", "kind": "water", "township": "taitousi",
         "village": "majiahe-cun", "road": "", "river": "majiahe", "station": "majiadao",
         "site": "river", "lat": 37.48, "lon": 116.55, "hotspot": "ignored"},
    ]}  # fmt: skip
    response = w.post("district", "/devices/import", json=body)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["registered"] == 1
    assert set(result["credentials"]["devices"]) == {"wt-json-00001"}


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[1, 2]", b'{"devices": "all"}', b"\xff\xfe", HEADER.encode(), b"a,b\n1,2\n"],
)
def test_malformed_fleet_files_are_422(world: World, body: bytes) -> None:
    for media in ("text/csv", "application/json"):
        response = world.post(
            "district", "/devices/import", content=body, headers={"content-type": media}
        )
        assert response.status_code == 422, f"{media} {body!r}: {response.text}"
        assert response.json()["detail"][0]["loc"][0] == "body"
