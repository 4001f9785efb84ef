from __future__ import annotations

import pytest

from alerting.engine.conditions import describe, format_value, holds
from city.rules import Condition
from city.topology import default_city


def _station(river: str, village: str):  # type: ignore[no-untyped-def]
    return next(s for r, s in default_city().stations() if r.id == river and s.village == village)


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ({"above": 10}, 10.5, True),
        ({"above": 10}, 10, False),  # strictly above
        ({"below": 15}, 14, True),
        ({"below": 15}, 15, False),
        ({"outside": [6.0, 9.0]}, 5.9, True),
        ({"outside": [6.0, 9.0]}, 9.1, True),
        ({"outside": [6.0, 9.0]}, 7.0, False),
        ({"outside": [6.0, 9.0]}, 6.0, False),  # the band's edges are inside
        ({"equals": True}, True, True),
        ({"equals": True}, False, False),
        ({"equals": "defectiveLamp"}, "defectiveLamp", True),
        ({"equals": "defectiveLamp"}, "ok", False),
    ],
)
def test_each_condition(condition: dict[str, object], value: object, expected: bool) -> None:
    assert holds(Condition.model_validate(condition), value) is expected  # type: ignore[arg-type]


def test_wrong_types_cannot_be_judged() -> None:
    assert holds(Condition(above=10), "high") is None
    assert holds(Condition(above=10), True) is None  # a bool is not a number here
    assert holds(Condition(equals=True), 1) is None


def test_station_levels_come_from_the_station_on_majiahe() -> None:
    zhaohu = _station("majiahe", "yangzhuang")  # warning 7.5, guarantee 8.6
    majiadao = _station("majiahe", "majiahe-cun")  # warning 7.2
    warning = Condition(above="station.warning_level_m")
    assert holds(warning, 7.4, zhaohu) is False
    assert holds(warning, 7.4, majiadao) is True
    assert holds(warning, 7.6, zhaohu) is True
    assert holds(warning, 7.6, None) is None  # no station: cannot say
    assert describe(warning, zhaohu) == "> 7.5 警戒水位"
    assert describe(Condition(below="station.guarantee_level_m"), majiadao) == "< 8.3 保证水位"


def test_descriptions_and_values_read_as_operators_write_them() -> None:
    assert describe(Condition(above=10)) == "> 10"
    assert describe(Condition(below=2.5)) == "< 2.5"
    assert describe(Condition(outside=(6.0, 9.0))) == "outside [6, 9]"
    assert describe(Condition(equals="columnIssue")) == "= columnIssue"
    assert format_value(12.345) == "12.35"
    assert format_value(12.0) == "12"
    assert format_value(True) == "是"
