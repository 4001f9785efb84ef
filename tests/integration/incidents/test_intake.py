"""Alert events in: routed by grade and area, deduplicated per fingerprint, cleared, refused."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import alert_event
from tests.integration.incidents.conftest import Desk

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("grade", "level", "captain"),
    [
        ("IV", "village", "village-a"),
        ("III", "township", "township-yuanqiao"),
        ("II", "district", "district"),
        ("I", "district", "district"),
    ],
)
def test_each_grade_goes_to_the_level_that_answers_for_it(
    desk: Desk, grade: str, level: str, captain: str
) -> None:
    incident = desk.incident(desk.raise_incident("A", grade=grade))
    assert (incident["state"], incident["level"]) == ("raised", level)
    # No roster yet: the area's own captains/administrators at that level answer.
    assert incident["duty_captain"]["username"] == captain
    [raised] = incident["audit"]
    assert (raised["action"], raised["actor_kind"], raised["actor_name"]) == (
        "raised", "alerting", "alerting",
    )  # fmt: skip


def test_a_township_wide_grade_iv_goes_to_the_township(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV", village=None, subject="袁桥镇")
    incident = desk.incident(incident_id)
    assert (incident["level"], incident["village"]) == ("township", None)
    # …and no village sees it: it is not any one village's.
    assert desk.get("village-a", f"/incidents/{incident_id}").status_code == 404


def test_the_levels_below_are_informed(desk: Desk) -> None:
    incident = desk.incident(desk.raise_incident("A", grade="II"))
    assert incident["audit"][0]["details"]["notified"] == [
        "district", "township-yuanqiao", "village-a",
    ]  # fmt: skip


def test_a_repeated_firing_is_counted_on_the_open_incident(desk: Desk) -> None:
    event = alert_event("A", value=11.0)
    first, second, third = desk.report(event, {**event, "value": 14.5}, {**event, "value": 17.0})
    assert [first["status"], second["status"], third["status"]] == [
        "created", "deduplicated", "deduplicated",
    ]  # fmt: skip
    assert first["incident_id"] == second["incident_id"] == third["incident_id"]
    incident = desk.incident(first["incident_id"])
    assert (incident["occurrences"], incident["first_value"], incident["last_value"]) == (
        3, 11.0, 17.0,
    )  # fmt: skip
    assert desk.actions(first["incident_id"]) == ["raised"]  # repeats are counted, not audited
    listed = desk.get("district", "/incidents", params={"rule_id": "manhole-ch4-high"}).json()
    assert listed["total"] == 1


def test_resolved_clears_the_condition_but_the_loop_goes_on(desk: Desk) -> None:
    event = alert_event("A")
    [created] = desk.report(event)
    [cleared] = desk.report({**event, "status": "resolved"})
    assert (cleared["status"], cleared["incident_id"]) == ("cleared", created["incident_id"])
    incident = desk.incident(created["incident_id"])
    assert incident["condition_cleared"] is True
    assert incident["state"] == "raised"  # still to be acknowledged, handled, closed
    cleared_entry = incident["audit"][-1]
    assert (cleared_entry["action"], cleared_entry["actor_kind"]) == ("cleared", "alerting")
    # Firing again while still open: the same incident, marked firing again.
    [again] = desk.report(event)
    assert (again["status"], again["incident_id"]) == ("deduplicated", created["incident_id"])
    assert desk.incident(created["incident_id"])["condition_cleared"] is False
    assert desk.actions(created["incident_id"]) == ["raised", "cleared", "refired"]


def test_after_closing_the_same_fingerprint_opens_a_new_incident(desk: Desk) -> None:
    event = alert_event("A", grade="IV")
    [first] = desk.report(event)
    incident_id = first["incident_id"]
    for who, action, body in [
        ("village-a", "acknowledge", {"comment": "taken"}),
        ("village-a", "dispatch", {"team": "井盖维修队"}),
        ("village-a", "resolve", {}),
        ("district", "verify", {}),
        ("village-a", "close", {}),
    ]:
        assert desk.step(who, incident_id, action, **body).status_code == 200
    [second] = desk.report(event)
    assert second["status"] == "created" and second["incident_id"] != incident_id
    # Reopening the old one would make two open incidents for one alert: refused.
    response = desk.step("village-a", incident_id, "reopen", comment="again?")
    assert response.status_code == 409
    assert f"incident {second['incident_id']} is open" in response.json()["detail"]


def test_events_that_cannot_be_routed_are_ignored_with_the_reason(desk: Desk) -> None:
    results = desk.report(
        alert_event("A", status="resolved"),
        alert_event("A", township="nowhere"),
        alert_event("A", village="hubin"),
    )
    assert [r["status"] for r in results] == ["ignored"] * 3
    assert [r["reason"] for r in results] == [
        "no open incident for this fingerprint",
        "township 'nowhere' is not in the roster",
        "village 'hubin' is not in township 'yuanqiao'",
    ]
    assert desk.get("district", "/incidents").json()["total"] == 0


def test_a_key_reports_only_inside_its_area(desk: Desk) -> None:
    body = {"name": "datun-gateway", "level": "village", "township": "yuanqiao",
            "village": "datun", "role": "service"}  # fmt: skip
    key = desk.post("district", "/api-keys", json=body).json()["key"]
    response = desk.client.post(
        "/alerts/events",
        json={"events": [alert_event("B"), alert_event("A")]},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 200, response.text
    ours, theirs = response.json()["results"]
    assert ours["status"] == "created"
    assert (theirs["status"], theirs["reason"]) == (
        "ignored", "outside the reporting key's area (village yuanqiao/datun)",
    )  # fmt: skip


def test_only_keys_allowed_to_report_may_post_events(desk: Desk) -> None:
    event = alert_event("A")
    captain_key = desk.post(
        "district", "/api-keys", json={"name": "c", "level": "district", "role": "captain"}
    ).json()["key"]
    for headers in ({"X-API-Key": captain_key}, desk.headers("viewer-a")):
        response = desk.client.post("/alerts/events", json={"events": [event]}, headers=headers)
        assert response.status_code == 403, response.text
        assert "may not report alerts" in response.json()["detail"]
    assert desk.client.post("/alerts/events", json={"events": [event]}).status_code == 401
    # A person cannot be given the service role.
    body = {"username": "svc-person", "display_name": "s", "password": "x" * 12,
            "level": "district", "role": "service"}  # fmt: skip
    response = desk.post("district", "/users", json=body)
    assert response.status_code == 422
    assert "service role is for API keys" in response.text


def test_malformed_batches_are_422_naming_the_event_and_field(desk: Desk) -> None:
    def post(events: object) -> dict[tuple[object, ...], str]:
        response = desk.client.post(
            "/alerts/events", json={"events": events}, headers={"X-API-Key": desk.service_key}
        )
        assert response.status_code == 422, response.text
        return {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}

    errors = post([alert_event("A"), alert_event("A", grade="V")])
    assert ("body", "events", 1, "grade") in errors
    assert ("body", "events") in post([])
    assert ("body", "events") in post([alert_event("A")] * 501)
    errors = post([alert_event("A", fingerprint="has spaces")])
    assert ("body", "events", 0, "fingerprint") in errors
    assert desk.get("district", "/incidents").json()["total"] == 0  # all or nothing
