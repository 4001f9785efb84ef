from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from city.topology import DEFAULT_CITY_FILE, CityModelError, load_city, parse_city

TOWNSHIPS = ["长河街道", "宋官屯街道", "安德街道", "袁桥镇", "赵虎镇", "抬头寺镇", "边临镇"]


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CITY_FILE.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def test_the_shipped_roster_is_the_tianqu_district() -> None:
    city = load_city()
    assert city.name == "天衢新区"
    assert sorted(t.name for t in city.townships) == sorted(TOWNSHIPS)
    for township in city.townships:
        assert len(township.villages) >= 4, township.name
    for _, village in city.villages():
        assert 37.40 <= village.lat <= 37.52
        assert 116.30 <= village.lon <= 116.62
    assert sorted(r.name for r in city.rivers) == sorted(["岔河", "减河", "马颊河"])
    for _, station in city.stations():
        assert station.normal_level_m < station.warning_level_m < station.guarantee_level_m
        assert city.village(station.village) is not None


def test_lookups_answer_by_id() -> None:
    city = load_city()
    township, village = city.village("dongzhan") or (None, None)
    assert township is not None and township.id == "yuanqiao"
    assert village is not None and any(h.id == "dezhou-east-station" for h in village.hotspots)
    assert city.has_area("yuanqiao", "dongzhan")
    assert not city.has_area("changhe", "dongzhan")
    assert city.village("atlantis") is None


def test_a_wrong_field_is_reported_with_its_path_and_id(raw: dict[str, Any]) -> None:
    raw["townships"][2]["villages"][1]["lat"] = "north"
    with pytest.raises(CityModelError) as err:
        parse_city(raw, "roster.yaml")
    message = str(err.value)
    assert "roster.yaml" in message
    assert "townships[2] ande → villages[1] chongde: lat" in message
    assert "'north'" in message


def test_a_missing_field_is_named(raw: dict[str, Any]) -> None:
    del raw["townships"][0]["villages"][0]["name"]
    with pytest.raises(CityModelError) as err:
        parse_city(raw)
    assert "townships[0] changhe → villages[0] tianqu: name: field required" in str(err.value)


def test_every_problem_is_listed_not_just_the_first(raw: dict[str, Any]) -> None:
    raw["townships"][1]["villages"][0]["id"] = "tianqu"  # already used in changhe
    raw["townships"][3]["lon"] = 117.9  # outside the district
    raw["rivers"][0]["stations"][0]["warning_level_m"] = 9.9  # above the guarantee level
    raw["rivers"][1]["stations"][0]["village"] = "nowhere"
    with pytest.raises(CityModelError) as err:
        parse_city(raw)
    problems = err.value.problems
    assert len(problems) == 4
    assert any("id 'tianqu' is already used by townships[0] changhe" in p for p in problems)
    assert any(p.startswith("townships[3] yuanqiao:") and "outside" in p for p in problems)
    assert any("normal < warning < guarantee" in p for p in problems)
    assert any("village 'nowhere' is not in the roster" in p for p in problems)


def test_an_id_that_is_not_an_ascii_slug_is_refused(raw: dict[str, Any]) -> None:
    raw["townships"][0]["id"] = "长河"
    with pytest.raises(CityModelError) as err:
        parse_city(raw)
    assert "townships[0]" in str(err.value)
    assert "id" in str(err.value)


def test_unreadable_or_broken_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(CityModelError, match="cannot read"):
        load_city(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("townships: [\n", encoding="utf-8")
    with pytest.raises(CityModelError, match="not valid YAML"):
        load_city(broken)


def test_a_city_replaces_the_roster_through_the_environment(
    raw: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw["name"] = "另一个新区"
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("TIANQU_CITY_FILE", str(path))
    assert load_city().name == "另一个新区"
