"""``GET /notifications`` and ``GET /notifications/{id}``: scoped, masked, with the attempt log.

The router is mounted on the real app here; the incidents work adds it to ``create_app``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.core.config import Settings
from api.crud import users
from api.main import create_app
from api.models.users import UserCreate
from api.notify import NotificationWorker
from api.notify.models import ChannelName, Recipient
from api.notify.settings import NotifySettings
from api.routes import notifications
from tests.integration.notify.conftest import Answer, Receiver, run_until
from tests.integration.notify.helpers import SECRET, add, all_settled, note, starter

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
PEOPLE = {
    "district": ("district", None, None),
    "township-yuanqiao": ("township", "yuanqiao", None),
    "village-a": ("village", "yuanqiao", "dongzhan"),
    "village-b": ("village", "yuanqiao", "datun"),
    "township-changhe": ("township", "changhe", None),
}


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def get(self, who: str, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, headers={"Authorization": f"Bearer {self.tokens[who]}"},
                               **kwargs)  # fmt: skip


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Api, Any]]:
    settings = Settings(
        secret_key="test-secret-" + "x" * 40, state_dir=tmp_path / "api",
        rate_limit="100000/minute", login_rate_limit="100000/minute",
        background_enabled=False,  # this test runs the worker itself, and counts its attempts
    )  # fmt: skip
    app = create_app(settings)
    app.include_router(notifications.router)
    with TestClient(app) as client:
        with app.state.database.session() as session:
            for name, (level, township, village) in PEOPLE.items():
                users.create(session, UserCreate(
                    username=name, display_name=name, password=PASSWORD, level=level,
                    township=township, village=village, role="viewer",
                ))  # fmt: skip
        tokens = {}
        for name in PEOPLE:
            response = client.post("/auth/login", data={"username": name, "password": PASSWORD})
            assert response.status_code == 200, response.text
            tokens[name] = response.json()["access_token"]
        yield Api(client, tokens), app.state.database


def test_deliveries_are_listed_by_area_masked_and_with_their_attempts(
    api: tuple[Api, Any], receiver: Receiver
) -> None:
    client, database = api
    receiver.script("/hook", Answer(503, {"error": "busy"}), Answer(200, {}))
    settings = NotifySettings(
        webhook_url=receiver.url("/hook"), webhook_secret=SecretStr(SECRET),
        sms_url=receiver.url("/sms"), poll_interval_s=0.05, backoff_base_s=0.05,
        dingtalk_url_prefixes=(receiver.url("/robot/send?"),),
    )  # fmt: skip
    robot = receiver.url("/robot/send?access_token=SECRET-TOKEN")
    captain = Recipient(name="王机长", phone="13812345678", dingtalk_webhook=robot)
    ours = add(database, note([captain]), settings)  # yuanqiao/dongzhan
    # Delivered alone first: the receiver's scripted 503-then-200 answers the first two
    # requests to /hook, whichever notification sends them.
    worker = NotificationWorker(database.sessions, settings)
    run_until(starter(worker), worker.stop, lambda: all_settled(database))
    sibling = add(
        database, note([], incident_id=50, village="datun", village_name="大屯"), settings
    )
    township = add(database, note([], incident_id=60, village=None, village_name=None), settings)
    other = add(database, note([], incident_id=70, township="changhe", village="hubin"), settings)
    worker = NotificationWorker(database.sessions, settings)
    run_until(starter(worker), worker.stop, lambda: all_settled(database))

    def listed(who: str, **params: Any) -> set[int]:
        response = client.get(who, "/notifications", params={"limit": 500, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return {item["id"] for item in body["items"]}

    everything = set(ours + sibling + township + other)
    assert listed("district") == everything
    assert listed("township-yuanqiao") == set(ours + sibling + township)
    assert listed("village-a") == set(ours)
    assert listed("village-b") == set(sibling)
    assert listed("township-changhe") == set(other)
    assert listed("district", incident_id=42) == set(ours)
    assert listed("district", channel="sms") == {ours[1]}  # webhook, sms, dingtalk
    assert listed("village-a", status="failed") == set()

    detail = {}
    for delivery_id in ours:
        response = client.get("village-a", f"/notifications/{delivery_id}")
        assert response.status_code == 200, response.text
        detail[response.json()["channel"]] = response.json()
    hook = detail[ChannelName.WEBHOOK]
    assert hook["status"] == "sent" and hook["attempts"] == 2
    assert [(a["number"], a["outcome"], a["status_code"]) for a in hook["attempt_log"]] == [
        (1, "retry", 503), (2, "sent", None),
    ]  # fmt: skip
    assert hook["attempt_log"][0]["error"] == 'HTTP 503: {"error": "busy"}'
    assert hook["title"] == "井下甲烷超标"
    # Personal data and robot tokens are masked; secrets never appear.
    assert detail[ChannelName.SMS]["target"] == "138****5678"
    shown = detail[ChannelName.DINGTALK]["target"]
    assert "SECRET-TOKEN" not in shown and shown.endswith("/robot/send?***")
    for who in ("village-b", "township-changhe"):
        assert client.get(who, f"/notifications/{ours[0]}").status_code == 404
    assert client.get("village-a", "/notifications/999999").status_code == 404
    assert client.get("village-a", f"/notifications/{township[0]}").status_code == 404
    assert client.get("township-yuanqiao", f"/notifications/{township[0]}").status_code == 200


def test_the_routes_take_the_area_scope(api: tuple[Api, Any]) -> None:
    from fastapi.routing import APIRoute

    from api.core.deps import current_scope

    def uses(dependant: Any) -> bool:
        return dependant.call is current_scope or any(uses(d) for d in dependant.dependencies)

    routes = [r for r in notifications.router.routes if isinstance(r, APIRoute)]
    assert len(routes) == 2
    assert all(uses(r.dependant) for r in routes)
    client, _ = api
    assert client.client.get("/notifications").status_code == 401
