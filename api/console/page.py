"""The console page: its catalogues, its configuration taken from the code, its assets.

Nothing here reads the registry or InfluxDB: the page is public like any static file. What it
carries besides text is the domain's vocabulary (grades, states, which step follows which and
who may command, from ``city.grades``, ``city.incidents`` and ``api.incidents.loop``, so the
buttons follow the same rules as the API) and the base map — the roster's townships and
villages with their positions, public geography that stands in for map tiles, which cannot be
reached offline. Devices and incidents come only from the scoped JSON routes.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.incidents.loop import COMMAND_ACTIONS
from api.readings.fields import FIELDS
from city.grades import Grade, Level
from city.incidents import TRANSITIONS, State
from city.rules import RuleBook
from city.topology import City

HERE = Path(__file__).resolve().parent
LANGUAGES: Final = ("zh", "en")
Language = Literal["zh", "en"]
ASSETS: Final = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@cache
def catalogue(lang: Language) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((HERE / "i18n" / f"{lang}.json").read_text("utf-8"))
    return loaded


@cache
def asset(name: str) -> bytes:
    return (HERE / "static" / name).read_bytes()


@cache
def asset_version() -> str:
    """A short hash of the assets: their URLs change when they do, so caches never go stale."""
    digest = hashlib.sha256()
    for name in sorted(ASSETS):
        digest.update(asset(name))
    return digest.hexdigest()[:12]


def basemap(city: City) -> dict[str, Any]:
    return {
        "name": city.name,
        "bounds": city.bounds.model_dump(),
        "townships": [
            {
                "id": t.id,
                "name": t.name,
                "lat": t.lat,
                "lon": t.lon,
                "villages": [
                    {"id": v.id, "name": v.name, "lat": v.lat, "lon": v.lon} for v in t.villages
                ],
            }
            for t in city.townships
        ],
    }


def config(city: City, rules: RuleBook) -> dict[str, Any]:
    """What the page's script knows besides text: the rules of the loop and the base map."""
    return {
        "reminder_every_s": rules.escalation.reminder_every_s,
        "grades": {
            g.value: {
                "numeral": g.numeral,
                "colour": g.colour,
                "severity": g.severity,
                "responsible": g.responsible_level.value,
            }
            for g in Grade
        },
        "states": [s.value for s in State],
        "transitions": {
            a.value: {"from": sorted(s.value for s in allowed), "to": to.value if to else None}
            for a, (allowed, to) in TRANSITIONS.items()
        },
        "commanding": sorted(a.value for a in COMMAND_ACTIONS),
        "levels": {lv.value: {"rank": rank} for rank, lv in enumerate(Level)},
        # Text readings (a lamp's status) have no curve to draw.
        "text_fields": sorted(
            {n for f in FIELDS.values() for n, kind in f.items() if kind == "string"}
        ),
        "basemap": basemap(city),
    }


def _json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>`` can close it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a key missing from a catalogue fails, never renders empty
        auto_reload=False,
    )


def render(city: City, rules: RuleBook, lang: Language) -> str:
    strings = catalogue(lang)
    return (
        _environment()
        .get_template("console.html")
        .render(
            lang=lang,
            languages=LANGUAGES,
            t=strings,
            version=asset_version(),
            catalogue_json=_json_for_script(strings),
            config_json=_json_for_script(config(city, rules)),
        )
    )
