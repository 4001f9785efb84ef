from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from city.topology import City
from simulators.control import Controls, ControlServer, get_status, post_scenario
from simulators.engine import Engine
from simulators.fleet import Fleet
from simulators.scenarios import ScenarioBook, ScenarioError
from tests.unit.simulators.sim_testkit import SUMMER_AFTERNOON


@pytest.fixture
def served(city: City, fleet_1000: Fleet) -> Iterator[tuple[ControlServer, ScenarioBook]]:
    book = ScenarioBook(Engine(fleet_1000, city, SUMMER_AFTERNOON))

    def status() -> dict[str, Any]:
        return {"devices": len(book.engine), "scenarios": book.describe()}

    def direct(fn: Any) -> Any:
        return fn()

    server = ControlServer(Controls(book.inject, book.describe, status), direct, port=0)
    server.start()
    try:
        yield server, book
    finally:
        server.close()


def test_inject_list_status_and_clear_over_http(served: tuple[ControlServer, ScenarioBook]) -> None:
    server, book = served
    answer = post_scenario("gas-leak:village=dongzhan", server.port)
    (scenario,) = answer["scenarios"]
    assert scenario["name"] == "gas-leak" and scenario["active"]
    assert scenario["id"] in book.scenarios

    base = f"http://127.0.0.1:{server.port}"
    body = httpx.post(f"{base}/scenarios", json={"name": "cover-tilt", "device": "mh-hubin-00000"})
    assert body.status_code == 201
    assert [s["name"] for s in httpx.get(f"{base}/scenarios").json()] == ["gas-leak", "cover-tilt"]
    status = get_status(server.port)
    assert status["devices"] == 1000 and len(status["scenarios"]) == 2

    deleted = httpx.delete(f"{base}/scenarios/{scenario['id']}")
    assert deleted.status_code == 201
    assert [s["name"] for s in book.describe()] == ["cover-tilt"]


def test_bad_requests_get_a_reason(served: tuple[ControlServer, ScenarioBook]) -> None:
    server, book = served
    with pytest.raises(ScenarioError, match="unknown scenario"):
        post_scenario("earthquake:village=dongzhan", server.port)
    base = f"http://127.0.0.1:{server.port}"
    not_json = httpx.post(f"{base}/scenarios", content=b"{oops")
    assert not_json.status_code == 400 and "error" in not_json.json()
    assert httpx.get(f"{base}/nothing").status_code == 404
    assert httpx.delete(f"{base}/scenarios/gas-leak-99").status_code == 400
    assert not book.scenarios
