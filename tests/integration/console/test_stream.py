"""``GET /incidents/stream`` beyond scoping (the scoping matrix covers that): who may keep a
ticket, and an open stream never holding up the API's shutdown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from devstack.processes import InfluxServer
from tests.integration.api.conftest import World
from tests.integration.incidents.processes import (
    ADMIN,
    ADMIN_PASSWORD,
    ApiProcess,
    Caller,
    api_env,
    run_command,
)

pytestmark = pytest.mark.integration


def test_a_ticket_dies_with_its_account(fresh_world: World) -> None:
    world = fresh_world
    ticket = world.post("village-a", "/incidents/stream/ticket").json()["ticket"]
    params = {"ticket": ticket, "follow": "false"}
    assert world.client.get("/incidents/stream", params=params).status_code == 200
    user_id = world.user_ids["village-a"]
    assert world.delete("district", f"/users/{user_id}").status_code == 200
    refused = world.client.get("/incidents/stream", params=params)
    assert refused.status_code == 401
    assert "no longer valid" in refused.json()["detail"]


def test_a_machine_holds_a_ticket_while_its_key_is_valid(fresh_world: World) -> None:
    world = fresh_world
    body = {"name": "village screen", "level": "village", "township": "yuanqiao",
            "village": "dongzhan", "role": "viewer"}  # fmt: skip
    created = world.post("district", "/api-keys", json=body).json()
    issued = world.client.post("/incidents/stream/ticket", headers={"X-API-Key": created["key"]})
    assert issued.status_code == 200, issued.text
    params = {"ticket": issued.json()["ticket"], "follow": "false"}
    assert world.client.get("/incidents/stream", params=params).status_code == 200
    assert world.delete("district", f"/api-keys/{created['id']}").status_code == 200
    assert world.client.get("/incidents/stream", params=params).status_code == 401


def test_a_viewer_may_watch_the_stream(fresh_world: World) -> None:
    ticket = fresh_world.post("viewer-a", "/incidents/stream/ticket")
    assert ticket.status_code == 200
    response = fresh_world.client.get(
        "/incidents/stream", params={"ticket": ticket.json()["ticket"], "follow": "false"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert [line for line in response.text.splitlines() if line.startswith("event:")] == [
        "event: hello", "event: snapshot", "event: bye",
    ]  # fmt: skip


def test_an_open_stream_ends_when_the_api_stops(tmp_path: Path, influxd: InfluxServer) -> None:
    env = api_env(tmp_path / "api", influxd.url, "console_stream")
    run_command(["bootstrap", "--username", ADMIN], env)
    api = ApiProcess(env, tmp_path / "api.log").start()
    lines: list[str] = []
    try:
        admin = Caller(api.url, ADMIN, ADMIN_PASSWORD)
        url = api.url + admin.ok("POST", "/incidents/stream/ticket")["url"]
        admin.close()

        def read() -> None:
            with httpx.stream("GET", url, timeout=httpx.Timeout(5.0, read=30.0)) as response:
                lines.extend(response.iter_lines())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while "event: snapshot" not in lines:
            assert time.monotonic() < deadline, lines
            time.sleep(0.05)
        started = time.monotonic()
        api.stop()  # SIGTERM; uvicorn would wait for the open stream without the feed's hook
        stopped_s = time.monotonic() - started
        reader.join(timeout=5)
    finally:
        api.stop()
    assert stopped_s < 5, f"the API took {stopped_s:.1f} s to stop with a stream open"
    assert 'data: {"reason": "stopping"}' in lines
