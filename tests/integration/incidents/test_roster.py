"""The duty roster: shifts per level and area decide who an incident goes to; /duty/now shows
the chain an incident climbs; shifts are scoped and checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.incidents.conftest import Desk

pytestmark = pytest.mark.integration


def _person(desk: Desk, name: str, level: str, township: str | None, village: str | None) -> int:
    body = {"username": name, "display_name": name, "password": "x" * 12, "level": level,
            "township": township, "village": village, "role": "captain",
            "phone": "13912345678", "email": f"{name}@tianqu.example"}  # fmt: skip
    response = desk.post("district", "/users", json=body)
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id


def _shift(desk: Desk, who: str = "district", hours: tuple[float, float] = (-1, 8),
           **body: Any) -> Any:  # fmt: skip
    now = datetime.now(UTC)
    payload = {"starts_at": (now + timedelta(hours=hours[0])).isoformat(),
               "ends_at": (now + timedelta(hours=hours[1])).isoformat(), **body}  # fmt: skip
    return desk.post(who, "/duty/shifts", json=payload)


def test_the_rostered_captain_gets_the_incident_not_the_first_account(desk: Desk) -> None:
    night = _person(desk, "yq-night", "township", "yuanqiao", None)
    deputy = _person(desk, "yq-deputy", "township", "yuanqiao", None)
    response = _shift(desk, level="township", township="yuanqiao", captain_user_id=night,
                      deputy_user_ids=[deputy], note="夜班")  # fmt: skip
    assert response.status_code == 201, response.text
    shift = response.json()
    assert shift["captain"]["username"] == "yq-night"
    assert [d["username"] for d in shift["deputies"]] == ["yq-deputy"]

    incident = desk.incident(desk.raise_incident("A", grade="III"))
    assert incident["duty_captain"]["username"] == "yq-night"
    assert incident["duty_captain"]["phone"] == "13912345678"

    now = desk.get("village-a", "/duty/now").json()
    chain = [(lv["level"], lv["source"], lv["captain"]["username"]) for lv in now["levels"]]
    assert chain == [
        ("village", "accounts", "village-a"),
        ("township", "roster", "yq-night"),
        ("district", "accounts", "district"),
    ]
    assert now["levels"][1]["shift_id"] == shift["id"]


def test_outside_its_hours_a_shift_does_not_answer(desk: Desk) -> None:
    # The district's own administrator stands in for 袁桥镇 from two hours on.
    assert _shift(desk, hours=(2, 10), level="township", township="yuanqiao",
                  captain_user_id=desk.user_ids["district"]).status_code == 201  # fmt: skip
    first = desk.incident(desk.raise_incident("A", grade="III"))
    assert first["duty_captain"]["username"] == "township-yuanqiao"
    desk.advance(3 * 3600)  # the controlled clock: now the shift runs
    second = desk.incident(desk.raise_incident("A", grade="III"))
    assert second["duty_captain"]["username"] == "district"
    township = desk.get("township-yuanqiao", "/duty/now").json()["levels"][0]
    assert (township["level"], township["source"]) == ("township", "roster")


def test_an_inactive_captain_is_replaced_by_the_first_active_deputy(desk: Desk) -> None:
    gone = _person(desk, "dz-gone", "village", "yuanqiao", "dongzhan")
    deputy = _person(desk, "dz-deputy", "village", "yuanqiao", "dongzhan")
    assert _shift(desk, level="village", township="yuanqiao", village="dongzhan",
                  captain_user_id=gone, deputy_user_ids=[deputy]).status_code == 201  # fmt: skip
    assert desk.delete("district", f"/users/{gone}").status_code == 200
    incident = desk.incident(desk.raise_incident("A", grade="IV"))
    assert incident["duty_captain"]["username"] == "dz-deputy"


def test_shifts_need_people_who_can_act_in_the_area(desk: Desk) -> None:
    datun = _person(desk, "datun-captain", "village", "yuanqiao", "datun")
    dongzhan = {"level": "village", "township": "yuanqiao", "village": "dongzhan"}
    cases: dict[str, dict[str, Any]] = {
        # A village captain of 大屯 cannot hold 东站社区's duty.
        "captain_user_id": {**dongzhan, "captain_user_id": datun},
        # A viewer cannot act at all.
        "viewer": {**dongzhan, "captain_user_id": desk.user_ids["viewer-a"]},
        # Another township's person is not even visible to a 袁桥镇 caller.
        "deputy": {"level": "township", "township": "yuanqiao",
                   "captain_user_id": desk.user_ids["township-yuanqiao"],
                   "deputy_user_ids": [desk.user_ids["township-changhe"]]},
    }  # fmt: skip
    for name, body in cases.items():
        who = "township-yuanqiao" if name == "deputy" else "district"
        response = _shift(desk, who=who, **body)
        assert response.status_code == 422, (name, response.text)
    response = _shift(desk, who="township-yuanqiao", **cases["deputy"])
    assert "not found in your area" in response.json()["detail"][0]["msg"]


def test_bad_shift_windows_are_422(desk: Desk) -> None:
    base: dict[str, Any] = {"level": "village", "township": "yuanqiao", "village": "dongzhan",
                            "captain_user_id": desk.user_ids["village-a"]}  # fmt: skip
    for hours in ((5, 1), (0, 24 * 40)):
        assert _shift(desk, hours=hours, **base).status_code == 422, hours
    naive = {**base, "starts_at": "2026-01-01T08:00:00", "ends_at": "2026-01-01T20:00:00"}
    assert desk.post("district", "/duty/shifts", json=naive).status_code == 422
    same = {**base, "deputy_user_ids": [desk.user_ids["village-a"]]}
    assert _shift(desk, **same).status_code == 422


def test_shifts_are_scoped_and_managed_within_the_area(desk: Desk) -> None:
    made = _shift(desk, who="village-a", level="village", township="yuanqiao",
                  village="dongzhan", captain_user_id=desk.user_ids["village-a"])  # fmt: skip
    assert made.status_code == 201, made.text
    shift_id = made.json()["id"]
    # A village cannot roster its township or a sibling.
    assert _shift(desk, who="village-a", level="township", township="yuanqiao",
                  captain_user_id=desk.user_ids["village-a"]).status_code == 403  # fmt: skip
    for outsider in ("village-b", "township-changhe"):
        assert desk.get(outsider, f"/duty/shifts/{shift_id}").status_code == 404
        assert desk.get(outsider, "/duty/shifts").json()["total"] == 0
    assert desk.get("township-yuanqiao", "/duty/shifts").json()["total"] == 1
    changed = desk.patch("village-a", f"/duty/shifts/{shift_id}", json={"note": "白班"})
    assert changed.status_code == 200 and changed.json()["note"] == "白班"
    assert desk.delete("village-a", f"/duty/shifts/{shift_id}").status_code == 204
    assert desk.get("village-a", f"/duty/shifts/{shift_id}").status_code == 404


def test_duty_now_for_an_area_outside_yours_is_404(desk: Desk) -> None:
    assert desk.get("village-a", "/duty/now", params={"village": "datun"}).status_code == 404
    assert desk.get("village-a", "/duty/now", params={"township": "changhe"}).status_code == 404
    assert desk.get("village-a", "/duty/now", params={"township": "yuanqiao"}).status_code == 404
    own = desk.get("township-yuanqiao", "/duty/now", params={"village": "datun"})
    assert own.status_code == 200
    assert [lv["level"] for lv in own.json()["levels"]] == ["village", "township", "district"]
    assert own.json()["levels"][0]["captain"]["username"] == "village-b"
    unknown = desk.get("district", "/duty/now", params={"township": "nowhere"})
    assert unknown.status_code == 422
    district = desk.get("district", "/duty/now").json()
    assert [lv["level"] for lv in district["levels"]] == ["district"]
