"""Silences and maintenance windows: matching events are answered silenced, recorded, and raise
no incident; the rest go through. Scoped like every other object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.models.incident_tables import SilencedEvent
from tests.integration.api.conftest import alert_event
from tests.integration.incidents.conftest import Desk

pytestmark = pytest.mark.integration


def _silence(desk: Desk, who: str = "district", **body: Any) -> dict[str, Any]:
    payload = {"level": "village", "township": "yuanqiao", "village": "dongzhan",
               "duration_s": 3600, "comment": "井盖更换施工", **body}  # fmt: skip
    response = desk.post(who, "/silences", json=payload)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_device_in_maintenance_raises_nothing_and_the_event_is_recorded(desk: Desk) -> None:
    desk.register("A", "mh-dongzhan-00777")
    silence = _silence(desk, device_id="mh-dongzhan-00777")
    assert silence["active"] is True
    [swallowed, other] = desk.report(
        alert_event("A", device_id="mh-dongzhan-00777"), alert_event("A")
    )
    assert (swallowed["status"], swallowed["silence_id"], swallowed["reason"]) == (
        "silenced", silence["id"], "井盖更换施工",
    )  # fmt: skip
    assert swallowed["incident_id"] is None
    assert other["status"] == "created"  # another device of the same village
    assert desk.get("district", "/incidents").json()["total"] == 1
    assert desk.get("district", f"/silences/{silence['id']}").json()["matched"] == 1
    with desk.app.state.database.session() as session:
        [record] = session.scalars(select(SilencedEvent)).all()
        assert (record.silence_id, record.device_id, record.status) == (
            silence["id"], "mh-dongzhan-00777", "firing",
        )  # fmt: skip


def test_a_kind_silence_covers_its_area_and_nothing_else(desk: Desk) -> None:
    _silence(desk, kind="manhole")
    results = desk.report(
        alert_event("A"),  # manhole in 东站社区: silenced
        alert_event("A", kind="water", rule_id="drain-waterlogging"),  # another kind
        alert_event("B"),  # a manhole in the sibling village
        alert_event("A", village=None),  # township-wide: a village silence does not cover it
    )
    assert [r["status"] for r in results] == ["silenced", "created", "created", "created"]


def test_a_township_window_covers_its_villages(desk: Desk) -> None:
    _silence(desk, level="township", village=None, rule_id="manhole-ch4-high")
    results = desk.report(
        alert_event("A"), alert_event("B"), alert_event("C"),
        alert_event("A", rule_id="manhole-open", fingerprint="manhole-open:x1"),
    )  # fmt: skip
    assert [r["status"] for r in results] == ["silenced", "silenced", "created", "created"]


def test_a_window_only_holds_between_its_start_and_its_end(desk: Desk) -> None:
    now = datetime.now(UTC)
    _silence(
        desk, duration_s=None, starts_at=(now + timedelta(hours=1)).isoformat(),
        ends_at=(now + timedelta(hours=2)).isoformat(), kind="manhole",
    )  # fmt: skip
    assert desk.report(alert_event("A"))[0]["status"] == "created"
    desk.advance(3700)
    assert desk.report(alert_event("A"))[0]["status"] == "silenced"
    desk.advance(3700)
    assert desk.report(alert_event("A"))[0]["status"] == "created"


def test_ending_a_silence_lets_events_through_again(desk: Desk) -> None:
    silence = _silence(desk, kind="manhole")
    assert desk.report(alert_event("A"))[0]["status"] == "silenced"
    ended = desk.delete("district", f"/silences/{silence['id']}")
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert desk.report(alert_event("A"))[0]["status"] == "created"
    listed = desk.get("district", "/silences", params={"active": "true"}).json()
    assert listed["total"] == 0
    assert desk.get("district", "/silences").json()["total"] == 1  # kept, with its count


def test_silences_are_scoped(desk: Desk) -> None:
    ours = _silence(desk, who="village-a", kind="manhole")
    township = _silence(desk, who="township-yuanqiao", level="township", village=None)
    assert desk.get("village-b", f"/silences/{ours['id']}").status_code == 404
    assert desk.get("township-changhe", f"/silences/{ours['id']}").status_code == 404
    # A village does not see (or end) a silence of its whole township.
    assert desk.get("village-a", f"/silences/{township['id']}").status_code == 404
    assert desk.delete("village-a", f"/silences/{township['id']}").status_code == 404
    assert [s["id"] for s in desk.get("village-a", "/silences").json()["items"]] == [ours["id"]]
    # …nor silences its township or a sibling.
    for body in ({"level": "township", "village": None}, {"village": "datun"}):
        payload = {"level": "village", "township": "yuanqiao", "village": "dongzhan",
                   "duration_s": 3600, "comment": "x", **body}  # fmt: skip
        assert desk.post("village-a", "/silences", json=payload).status_code == 403


def test_bad_silences_are_422_naming_the_field(desk: Desk) -> None:
    base = {"level": "village", "township": "yuanqiao", "village": "dongzhan", "comment": "x"}
    cases = [
        ({**base}, ("body",)),  # neither ends_at nor duration_s
        ({**base, "duration_s": 10}, ("body", "duration_s")),
        ({**base, "duration_s": 3600, "village": "hubin"}, ("body", "village")),
        ({**base, "duration_s": 3600, "device_id": "mh-nowhere-1"}, ("body", "device_id")),
        ({**base, "ends_at": "2020-01-01T00:00:00Z"}, ("body", "ends_at")),
        ({**base, "duration_s": 3600, "comment": ""}, ("body", "comment")),
    ]
    for body, loc in cases:
        response = desk.post("district", "/silences", json=body)
        assert response.status_code == 422, body
        locs = [tuple(e["loc"]) for e in response.json()["detail"]]
        assert any(found[: len(loc)] == loc for found in locs), (body, locs)
