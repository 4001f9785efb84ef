"""The Chinese names operators read, for the slugs and codes stored in InfluxDB.

Tags hold stable ASCII ids (``yuanqiao``, ``dongzhan``, ``III``, ``township``); panels map them
to 袁桥镇, 东站社区, Ⅲ级 较大, 乡镇/街道 with value mappings built from the roster and the domain
enums, so a renamed village in the roster is one ``python -m dashboards generate`` away.
"""

from __future__ import annotations

from grafana_foundation_sdk.models import dashboard as dm

from city.grades import Grade, Level
from city.incidents import State
from city.kinds import Kind
from city.topology import City
from dashboards.panels import value_map

KIND_NAMES = {kind.value: kind.display_name for kind in Kind}
GRADE_LABELS = {grade.value: grade.label for grade in Grade}
LEVEL_NAMES = {level.value: level.display_name for level in Level}
STATE_NAMES = {state.value: state.display_name for state in State}
LAMP_STATUS_NAMES = {
    "ok": "正常",
    "brokenLantern": "灯具损坏",
    "defectiveLamp": "光源故障",
    "columnIssue": "灯杆异常",
}


def township_names(city: City) -> dict[str, str]:
    return {t.id: t.name for t in city.townships}


def village_names(city: City) -> dict[str, str]:
    return {v.id: v.name for _, v in city.villages()}


def names(city: City) -> dict[str, str]:
    """Every id a panel may show, to its Chinese name (roster ids are unique across levels)."""
    return {
        **township_names(city),
        **village_names(city),
        **KIND_NAMES,
        **GRADE_LABELS,
        **LEVEL_NAMES,
        **STATE_NAMES,
        **LAMP_STATUS_NAMES,
    }


def mappings(city: City) -> list[dm.ValueMapping]:
    return [value_map(names(city))]
