"""The fields the captain's console counts down and charts by: ``escalates_at`` (the escalation
timer's due time) and ``quantity``/``unit`` (what the incident's rule watches)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from city.grades import Level
from city.rules import default_rules
from tests.integration.incidents.conftest import Desk

pytestmark = pytest.mark.integration

RULES = default_rules().escalation


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_escalates_at_follows_the_timer_up_the_levels_and_ends_when_acknowledged(
    desk: Desk,
) -> None:
    incident_id = desk.raise_incident("A", grade="IV")
    incident = desk.incident(incident_id)
    village_s = RULES.ack_timeout_s[Level.VILLAGE]
    assert _at(incident["escalates_at"]) - _at(incident["raised_at"]) == timedelta(
        seconds=village_s
    )
    [listed] = [i for i in desk.get("village-a", "/incidents").json()["items"]
                if i["id"] == incident_id]  # fmt: skip
    assert listed["escalates_at"] == incident["escalates_at"]

    desk.advance(village_s + 1)
    desk.tick()
    incident = desk.incident(incident_id)
    assert incident["level"] == "township"
    assert _at(incident["escalates_at"]) - _at(incident["level_since"]) == timedelta(
        seconds=RULES.ack_timeout_s[Level.TOWNSHIP]
    )
    desk.advance(RULES.ack_timeout_s[Level.TOWNSHIP] + 1)
    desk.tick()
    incident = desk.incident(incident_id)
    assert (incident["level"], incident["escalates_at"]) == ("district", None)  # nowhere higher

    other = desk.raise_incident("A", grade="IV")
    assert desk.step("village-a", other, "acknowledge", comment="收到").status_code == 200
    assert desk.incident(other)["escalates_at"] is None


def test_quantity_and_unit_come_from_the_rule(desk: Desk) -> None:
    incident = desk.incident(desk.raise_incident("A", grade="III"))  # manhole-ch4-high
    assert (incident["quantity"], incident["unit"]) == ("ch4_lel_pct", "%LEL")
    unknown = desk.raise_incident("A", grade="IV", rule_id="no-such-rule", rule_name="外部告警")
    assert (desk.incident(unknown)["quantity"], desk.incident(unknown)["unit"]) == (None, None)
