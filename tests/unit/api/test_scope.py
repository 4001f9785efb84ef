"""The one scope helper: what each level contains, in SQL and in InfluxQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.core.scope import Level, Scope
from api.models.tables import Device

DISTRICT = Scope.district()
YUANQIAO = Scope(Level.TOWNSHIP, "yuanqiao")
DONGZHAN = Scope(Level.VILLAGE, "yuanqiao", "dongzhan")


@pytest.mark.parametrize(
    ("scope", "area", "inside"),
    [
        (DISTRICT, ("changhe", "hubin"), True),
        (DISTRICT, (None, None), True),
        (YUANQIAO, ("yuanqiao", "datun"), True),
        (YUANQIAO, ("yuanqiao", None), True),
        (YUANQIAO, ("changhe", "hubin"), False),
        (YUANQIAO, (None, None), False),
        (DONGZHAN, ("yuanqiao", "dongzhan"), True),
        (DONGZHAN, ("yuanqiao", "datun"), False),
        (DONGZHAN, ("yuanqiao", None), False),
        (DONGZHAN, ("changhe", "dongzhan"), False),
    ],
)
def test_contains(scope: Scope, area: tuple[str | None, str | None], inside: bool) -> None:
    assert scope.contains(*area) is inside


def test_covers_is_about_whole_areas() -> None:
    assert DISTRICT.covers(YUANQIAO) and YUANQIAO.covers(DONGZHAN)
    assert not DONGZHAN.covers(YUANQIAO)
    assert not YUANQIAO.covers(DISTRICT)
    assert not YUANQIAO.covers(Scope(Level.TOWNSHIP, "changhe"))


def test_narrow_takes_the_deeper_area_or_nothing() -> None:
    assert DISTRICT.narrow("yuanqiao", None) == YUANQIAO
    assert YUANQIAO.narrow("yuanqiao", "dongzhan") == DONGZHAN
    assert DONGZHAN.narrow("yuanqiao", None) == DONGZHAN
    assert DONGZHAN.narrow(None, None) == DONGZHAN
    assert DONGZHAN.narrow("yuanqiao", "datun") is None
    assert YUANQIAO.narrow("changhe", None) is None


def test_a_scope_must_match_its_level() -> None:
    with pytest.raises(ValueError, match="village scope"):
        Scope(Level.VILLAGE, "yuanqiao")
    with pytest.raises(ValueError, match="district scope"):
        Scope(Level.DISTRICT, "yuanqiao")


def test_filter_sql_adds_one_condition_per_level() -> None:
    stmt = select(Device.id)
    assert DISTRICT.filter_sql(stmt, Device.township, Device.village).whereclause is None
    village = str(DONGZHAN.filter_sql(stmt, Device.township, Device.village).whereclause)
    assert village == "devices.township = :township_1 AND devices.village = :village_1"


def test_influx_filter_binds_values() -> None:
    assert DISTRICT.influx_filter() == ("", {})
    text, params = DONGZHAN.influx_filter()
    assert text == '"township" = $scope_township AND "village" = $scope_village'
    assert params == {"scope_township": "yuanqiao", "scope_village": "dongzhan"}
    assert "yuanqiao" not in text
