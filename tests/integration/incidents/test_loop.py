"""The closed loop through the API: every step, the 409s that name the state, who may act."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.incidents.conftest import Desk

pytestmark = pytest.mark.integration


def test_the_whole_loop_sets_every_milestone_and_audits_every_step(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    handler = desk.user_ids["village-a"]
    steps: list[tuple[str, str, dict[str, Any], str]] = [
        ("village-a", "acknowledge", {"comment": "去现场看看"}, "acknowledged"),
        ("village-a", "dispatch", {"assignee_user_id": handler, "team": "井盖维修队"},
         "dispatched"),
        ("village-a", "notes", {"comment": "到达现场，已设警戒"}, "in_progress"),
        ("village-a", "resolve", {"comment": "井盖复位"}, "resolved"),
        ("township-yuanqiao", "verify", {"comment": "现场核查无误"}, "verified"),
        ("village-a", "close", {}, "closed"),
    ]  # fmt: skip
    for who, action, body, state in steps:
        response = desk.step(who, incident_id, action, **body)
        assert response.status_code == 200, f"{action}: {response.text}"
        assert response.json()["state"] == state
    incident = desk.incident(incident_id)
    for milestone in ("raised_at", "acknowledged_at", "dispatched_at", "resolved_at",
                      "verified_at", "closed_at"):  # fmt: skip
        assert incident[milestone] is not None, milestone
    assert incident["open"] is False
    assert incident["assignee"]["username"] == "village-a"
    assert incident["team"] == "井盖维修队"
    assert incident["deadline_at"] is not None
    trail = [(e["action"], e["from_state"], e["to_state"], e["actor_name"], e["actor_level"])
             for e in incident["audit"]]  # fmt: skip
    assert trail == [
        ("raised", None, "raised", "alerting", "district"),
        ("acknowledged", "raised", "acknowledged", "village-a", "village"),
        ("dispatched", "acknowledged", "dispatched", "village-a", "village"),
        ("note", "dispatched", "in_progress", "village-a", "village"),
        ("resolved", "in_progress", "resolved", "village-a", "village"),
        ("verified", "resolved", "verified", "township-yuanqiao", "township"),
        ("closed", "verified", "closed", "village-a", "village"),
    ]
    assert incident["audit"][1]["comment"] == "去现场看看"


@pytest.mark.parametrize(
    ("action", "body", "state"),
    [
        ("dispatch", {"team": "t"}, "raised"),
        ("resolve", {}, "raised"),
        ("verify", {}, "raised"),
        ("close", {}, "raised"),
        ("reopen", {"comment": "x"}, "raised"),
    ],
)
def test_a_step_the_loop_does_not_allow_is_409_naming_the_state(
    desk: Desk, action: str, body: dict[str, object], state: str
) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    response = desk.step("village-a", incident_id, action, **body)
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert f"cannot {action} an incident that is {state}" in detail
    assert desk.actions(incident_id) == ["raised"]


def test_acknowledging_twice_and_closing_twice_are_409(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    assert desk.step("village-a", incident_id, "acknowledge", comment="a").status_code == 200
    again = desk.step("village-a", incident_id, "acknowledge", comment="b")
    assert again.status_code == 409
    assert "is acknowledged (立案)" in again.json()["detail"]


def test_verification_must_be_by_someone_other_than_the_resolver(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    for action, body in [("acknowledge", {"comment": "a"}), ("dispatch", {"team": "t"}),
                         ("resolve", {})]:  # fmt: skip
        assert desk.step("village-a", incident_id, action, **body).status_code == 200
    response = desk.step("village-a", incident_id, "verify")
    assert response.status_code == 409
    assert "someone other than the resolver" in response.json()["detail"]
    assert "village-a resolved" in response.json()["detail"]
    assert desk.incident(incident_id)["state"] == "resolved"
    assert desk.step("township-yuanqiao", incident_id, "verify").status_code == 200


def test_commands_belong_to_the_level_holding_the_incident(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="III")  # held by the township
    response = desk.step("village-a", incident_id, "acknowledge", comment="mine?")
    assert response.status_code == 403
    assert "held at the township level" in response.json()["detail"]
    # A note is fine: the village tells the township what it sees.
    assert desk.step("village-a", incident_id, "notes", comment="气味明显").status_code == 200
    assert (
        desk.step("township-yuanqiao", incident_id, "acknowledge", comment="ok").status_code == 200
    )
    # The district may always act.
    assert desk.step("district", incident_id, "dispatch", team="燃气抢修队").status_code == 200


def test_viewers_read_but_do_not_act(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    assert desk.get("viewer-a", f"/incidents/{incident_id}").status_code == 200
    response = desk.step("viewer-a", incident_id, "acknowledge", comment="x")
    assert response.status_code == 403


def test_dispatch_needs_someone_who_can_see_the_incident(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    assert desk.step("district", incident_id, "acknowledge", comment="a").status_code == 200
    for user in ("village-b", "township-changhe", "viewer-a"):
        response = desk.step("district", incident_id, "dispatch",
                             assignee_user_id=desk.user_ids[user])  # fmt: skip
        assert response.status_code == 422, user
        assert response.json()["detail"][0]["loc"] == ["body", "assignee_user_id"]
    assert desk.step("district", incident_id, "dispatch").status_code == 422  # nobody
    response = desk.step("district", incident_id, "dispatch",
                         assignee_user_id=desk.user_ids["township-yuanqiao"])  # fmt: skip
    assert response.status_code == 200
    assert response.json()["assignee"]["username"] == "township-yuanqiao"


def test_reopen_goes_back_to_acknowledged_and_clears_the_outcome(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    for who, action, body in [("village-a", "acknowledge", {"comment": "a"}),
                              ("village-a", "dispatch", {"team": "t"}),
                              ("village-a", "resolve", {})]:  # fmt: skip
        assert desk.step(who, incident_id, action, **body).status_code == 200
    assert desk.step("village-a", incident_id, "reopen").status_code == 422  # reason required
    response = desk.step("village-a", incident_id, "reopen", comment="仍有异味")
    assert response.status_code == 200
    incident = response.json()
    assert (incident["state"], incident["resolved_at"], incident["reopened"]) == (
        "acknowledged", None, 1,
    )  # fmt: skip
    # The same person may resolve again, and now someone else verifies.
    assert desk.step("village-a", incident_id, "dispatch", team="t").status_code == 200
    assert desk.step("village-a", incident_id, "resolve").status_code == 200


def test_acknowledgement_needs_a_comment(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    for body in ({}, {"comment": ""}, {"comment": "   "}):
        response = desk.post("village-a", f"/incidents/{incident_id}/acknowledge", json=body)
        assert response.status_code == 422, body
    assert desk.incident(incident_id)["state"] == "raised"


def test_lists_are_gravest_then_newest_and_filter(desk: Desk) -> None:
    ids = {g: desk.raise_incident("A", grade=g) for g in ("IV", "II", "III")}
    newer_iv = desk.raise_incident("A", grade="IV")
    listed = desk.get("district", "/incidents").json()
    assert [i["id"] for i in listed["items"]] == [ids["II"], ids["III"], newer_iv, ids["IV"]]
    assert listed["items"][0]["grade_label"] == "Ⅱ级 重大"
    assert desk.step("village-a", ids["IV"], "acknowledge", comment="a").status_code == 200

    def listed_ids(**params: object) -> list[int]:
        return [i["id"] for i in desk.get("district", "/incidents", params=params).json()["items"]]

    assert listed_ids(state="acknowledged") == [ids["IV"]]
    assert listed_ids(grade="III") == [ids["III"]]
    assert listed_ids(level="district") == [ids["II"]]
    assert listed_ids(open="false") == []
    assert listed_ids(village="datun") == []
    # The village sees what is held in its village, whatever the level.
    assert len(desk.get("village-a", "/incidents").json()["items"]) == 4
    assert desk.get("village-b", "/incidents").json()["total"] == 0


def test_a_step_on_a_stale_incident_is_a_409_not_a_double_transition(desk: Desk) -> None:
    """Two captains acknowledge at once: the version check lets exactly one through."""
    from api.incidents import loop
    from api.incidents.audit import Actor
    from api.incidents.loop import Step
    from api.models.incident_tables import Incident
    from city.incidents import Action

    incident_id = desk.raise_incident("A", grade="IV")
    database = desk.app.state.database
    ctx = desk.app.state.incidents
    first, second = database.sessions(), database.sessions()
    try:
        mine, theirs = first.get(Incident, incident_id), second.get(Incident, incident_id)
        assert mine is not None and theirs is not None
        loop.take(first, ctx, mine, Step(Action.ACKNOWLEDGE, "a"), Actor("user", 1, "a", "village"))
        first.commit()
        from sqlalchemy.orm.exc import StaleDataError

        with pytest.raises(StaleDataError):
            loop.take(second, ctx, theirs, Step(Action.ACKNOWLEDGE, "b"),
                      Actor("user", 2, "b", "village"))  # fmt: skip
            second.commit()
    finally:
        first.close()
        second.close()
    assert desk.actions(incident_id) == ["raised", "acknowledged"]
