from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from city.grades import Grade, Level
from city.rules import DEFAULT_RULES_FILE, RulesError, load_rules, parse_rules


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def _rule(raw: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in raw["rules"] if r["id"] == rule_id)


def test_the_shipped_rules_cover_what_the_district_watches() -> None:
    book = load_rules()
    ids = book.all_ids()
    for expected in (
        "manhole-tilt",
        "manhole-open",
        "manhole-ch4-high",
        "manhole-ch4-critical",
        "manhole-h2s-high",
        "manhole-h2s-critical",
        "river-above-warning",
        "river-above-guarantee",
        "road-waterlogging",
        "lamp-failure",
        "parking-silent",
        "road-lamp-outage",
        "township-waterlogging",
    ):
        assert expected in ids
    ch4 = {r.id: r for r in book.rules}
    assert ch4["manhole-ch4-high"].grade is Grade.III
    assert ch4["manhole-ch4-critical"].grade is Grade.II
    assert ch4["manhole-tilt"].for_s == 30
    parking = next(r for r in book.no_data if r.id == "parking-silent")
    assert parking.silence_s() == 3600


def test_overrides_apply_to_their_area_only() -> None:
    book = load_rules()
    tilt = next(r for r in book.rules if r.id == "manhole-tilt")
    assert book.effective(tilt, "yuanqiao", "dongzhan", "mh-x").condition.above == 5
    assert book.effective(tilt, "changhe", "hubin", "mh-y").condition.above == 10


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda raw: _rule(raw, "manhole-tilt").update(quantity="tilt"),
            "rules[0] manhole-tilt: quantity 'tilt' is not one of",
        ),
        (
            lambda raw: _rule(raw, "manhole-open").update(condition={"above": 1}),
            "rules[1] manhole-open: condition: cover_open is not a number; use equals",
        ),
        (
            lambda raw: _rule(raw, "manhole-ch4-high").update(condition={"above": 1, "below": 2}),
            "rules[2] manhole-ch4-high: condition: a condition needs exactly one",
        ),
        (lambda raw: _rule(raw, "manhole-tilt").update(grade="V"), "rules[0] manhole-tilt: grade"),
        (
            lambda raw: _rule(raw, "road-waterlogging").update(
                condition={"above": "station.warning_level_m"}
            ),
            "station thresholds apply to river stations only",
        ),
        (
            lambda raw: raw["correlations"][0].update(of=["no-such-rule"]),
            "correlations[0] road-lamp-outage: unknown rule 'no-such-rule'",
        ),
        (lambda raw: raw["overrides"][0].update(rule="nope"), "overrides[0]: unknown rule 'nope'"),
        (
            lambda raw: raw["rules"].append(dict(_rule(raw, "manhole-tilt"))),
            "manhole-tilt: id already used",
        ),
        (
            lambda raw: raw["escalation"]["ack_timeout_s"].pop("township"),
            "ack_timeout_s needs every level",
        ),
        (lambda raw: raw["deadlines_s"].pop("I"), "deadlines_s: needs every grade"),
    ],
)
def test_a_wrong_rule_is_named_in_the_error(
    raw: dict[str, Any], mutate: Any, expected: str
) -> None:
    mutate(raw)
    with pytest.raises(RulesError) as err:
        parse_rules(raw, "rules.yaml")
    assert expected in str(err.value), str(err.value)


def test_grades_route_to_their_level_and_escalate_upwards() -> None:
    assert Grade.IV.responsible_level is Level.VILLAGE
    assert Grade.III.responsible_level is Level.TOWNSHIP
    assert Grade.II.responsible_level is Level.DISTRICT
    assert Grade.I.responsible_level is Level.DISTRICT
    assert Level.VILLAGE.above is Level.TOWNSHIP
    assert Level.TOWNSHIP.above is Level.DISTRICT
    assert Level.DISTRICT.above is None
    assert Grade.III.label == "Ⅲ级 较大"
    assert Grade.III.raised() is Grade.II and Grade.I.raised() is Grade.I
    assert sorted(Grade, key=lambda g: -g.severity)[0] is Grade.I


def test_the_closed_loop_allows_only_its_own_steps() -> None:
    from city.incidents import Action, State, next_state

    state = State.RAISED
    for action, expected in [
        (Action.ACKNOWLEDGE, State.ACKNOWLEDGED),
        (Action.DISPATCH, State.DISPATCHED),
        (Action.NOTE, State.IN_PROGRESS),
        (Action.NOTE, State.IN_PROGRESS),
        (Action.RESOLVE, State.RESOLVED),
        (Action.VERIFY, State.VERIFIED),
        (Action.CLOSE, State.CLOSED),
        (Action.REOPEN, State.ACKNOWLEDGED),
    ]:
        state = next_state(state, action)
        assert state is expected
    with pytest.raises(ValueError, match="cannot close an incident that is raised"):
        next_state(State.RAISED, Action.CLOSE)
    with pytest.raises(ValueError, match="cannot resolve"):
        next_state(State.ACKNOWLEDGED, Action.RESOLVE)
    assert State.CLOSED.display_name == "结案"
