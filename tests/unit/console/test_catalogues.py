"""The console's two catalogues: the same keys, every key the page uses, and the Chinese names
the same as the code's (grades, states, levels), so the console and the API never disagree."""

from __future__ import annotations

import re

import pytest

from api.console.page import HERE, LANGUAGES, catalogue
from api.core.principal import Role
from api.incidents.kpis import PERIOD_S
from api.incidents.loop import PAST
from city.grades import Grade, Level
from city.incidents import Action, State
from city.rules import default_rules

SCRIPT = (HERE / "static" / "console.js").read_text("utf-8")
TEMPLATE = (HERE / "templates" / "console.html").read_text("utf-8")
# Audit entries the intake and the timers write besides the captains' steps (PAST).
SYSTEM_ACTIONS = ("raised", "refired", "cleared", "escalated", "reminder")


def test_both_languages_have_the_same_keys_and_no_empty_string() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    for lang in LANGUAGES:
        assert all(isinstance(v, str) and v.strip() for v in catalogue(lang).values()), lang


def test_placeholders_agree_between_languages() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def _dynamic_keys() -> set[str]:
    keys = {f"state.{s.value}" for s in State}
    keys |= {f"grade.{g.value}" for g in Grade} | {f"grade.short.{g.value}" for g in Grade}
    keys |= {f"level.{lv.value}" for lv in Level}
    keys |= {f"action.{a.value}" for a in Action}
    keys |= {f"audit.{a}" for a in (*PAST.values(), *SYSTEM_ACTIONS)}
    keys |= {f"role.{r.value}" for r in Role}
    keys |= {f"period.{p}" for p in PERIOD_S}
    keys |= {f"live.{s}" for s in ("off", "connecting", "live")}
    keys |= {f"lang.{lang}" for lang in LANGUAGES}
    keys |= {f"quantity.{r.quantity}" for r in default_rules().rules}
    return keys


def test_every_key_the_page_uses_is_in_the_catalogue() -> None:
    used = set(re.findall(r"\bt\(\s*\"([a-z0-9_.]+)\"", SCRIPT))
    used |= set(re.findall(r"\bt\[\s*[\"']([a-z0-9_.]+)[\"']\s*\]", TEMPLATE))
    assert len(used) > 60
    missing = (used | _dynamic_keys()) - set(catalogue("zh"))
    assert missing == set()


def test_dynamic_key_prefixes_in_the_script_are_covered() -> None:
    prefixes = set(re.findall(r"\bt\(\s*`([a-z_.]+)\$\{", SCRIPT))
    assert len(prefixes) >= 6, prefixes
    known = {k.rsplit(".", 1)[0] + "." for k in _dynamic_keys()}
    assert prefixes <= known, prefixes - known


@pytest.mark.parametrize(
    ("key", "value"),
    [
        *((f"state.{s.value}", s.display_name) for s in State),
        *((f"grade.{g.value}", g.display_name) for g in Grade),
        *((f"grade.short.{g.value}", g.colour_name) for g in Grade),
        *((f"level.{lv.value}", lv.display_name) for lv in Level),
    ],
)
def test_chinese_names_are_the_codes(key: str, value: str) -> None:
    assert catalogue("zh")[key] == value
