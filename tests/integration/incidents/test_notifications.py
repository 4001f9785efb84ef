"""Each step hands api.notify the right people with their contacts, in the step's transaction.

The SMS channel is configured (its gateway is never reached: the notification worker is off
with the rest of the background work), so the outbox rows show who would be texted, for which
event. People's phones are set through ``PATCH /users/{id}``, as an administrator would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api.mqtt.pki import DevPki
from api.notify import NotifySettings
from api.notify.tables import OutboxRow
from devstack.processes import InfluxServer
from tests.integration.api.conftest import build_world
from tests.integration.incidents.conftest import Desk, desk_settings

pytestmark = pytest.mark.integration

PHONES = {"district": "13800000001", "township-yuanqiao": "13800000002", "village-a": "13800000003"}


@pytest.fixture
def texting(tmp_path: Path, influxd: InfluxServer, dev_pki: DevPki) -> Iterator[Desk]:
    notify = NotifySettings(sms_url="http://127.0.0.1:9/sms")
    for desk in build_world(desk_settings(tmp_path, influxd, dev_pki, notify=notify), Desk):
        for name, phone in PHONES.items():
            response = desk.patch(
                "district", f"/users/{desk.user_ids[name]}", json={"phone": phone}
            )
            assert response.status_code == 200 and response.json()["phone"] == phone
        yield desk


def _texts(desk: Desk, incident_id: int) -> list[tuple[str, str]]:
    with desk.app.state.database.session() as session:
        rows = session.scalars(
            select(OutboxRow)
            .where(OutboxRow.incident_id == incident_id, OutboxRow.channel == "sms")
            .order_by(OutboxRow.id)
        )
        return [(row.event, row.target) for row in rows]


def test_raise_escalate_and_the_loop_text_the_right_people(texting: Desk) -> None:
    incident_id = texting.raise_incident("A", grade="III")
    assert _texts(texting, incident_id) == [
        ("raised", PHONES["township-yuanqiao"]),  # the captain on duty
        ("informed", PHONES["village-a"]),  # the level below
    ]
    texting.advance(601)
    texting.tick()
    assert _texts(texting, incident_id)[2:] == [
        ("reminder", PHONES["township-yuanqiao"]),
        ("escalated", PHONES["district"]),
        ("escalated", PHONES["township-yuanqiao"]),
        ("escalated", PHONES["village-a"]),
    ]
    handler = texting.user_ids["village-a"]
    assert texting.step("district", incident_id, "acknowledge", comment="ok").status_code == 200
    assert (
        texting.step("district", incident_id, "dispatch", assignee_user_id=handler).status_code
        == 200
    )
    assert _texts(texting, incident_id)[6:] == [
        ("acknowledged", PHONES["township-yuanqiao"]),
        ("acknowledged", PHONES["village-a"]),
        ("dispatched", PHONES["village-a"]),
    ]


def test_a_step_that_fails_notifies_nobody(texting: Desk) -> None:
    incident_id = texting.raise_incident("A", grade="III")
    before = _texts(texting, incident_id)
    refused = texting.step("village-a", incident_id, "acknowledge", comment="not mine")
    assert refused.status_code == 403
    assert texting.step("district", incident_id, "resolve").status_code == 409
    assert _texts(texting, incident_id) == before


def test_contacts_are_checked_when_people_are_saved(texting: Desk) -> None:
    plain_http_robot = "http://oapi.dingtalk.com/robot/send?access_token=x"
    for body in ({"phone": "138-0000"}, {"email": "not an address"},
                 {"dingtalk_webhook": plain_http_robot}):  # fmt: skip
        response = texting.patch("district", f"/users/{texting.user_ids['village-a']}", json=body)
        assert response.status_code == 422, body
    cleared = texting.patch("district", f"/users/{texting.user_ids['village-a']}",
                            json={"phone": None})  # fmt: skip
    assert cleared.json()["phone"] is None
