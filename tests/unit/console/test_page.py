"""The console page: rendered in both languages from the code's vocabulary, served public with
a strict Content-Security-Policy, its assets versioned; it carries no area data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.console import page
from api.incidents.loop import COMMAND_ACTIONS
from api.routes import console
from city.incidents import TRANSITIONS
from city.rules import default_rules
from city.topology import default_city


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = FastAPI()
    app.state.city = default_city()
    app.state.incidents = SimpleNamespace(rules=default_rules())
    app.include_router(console.router)
    with TestClient(app) as client:
        yield client


def _embedded(html: str, element_id: str) -> object:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html)
    assert match, element_id
    return json.loads(match.group(1))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_renders_in_each_language(client: TestClient, lang: str) -> None:
    response = client.get("/console", params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert page.catalogue(lang)["app.title"] in html
    assert _embedded(html, "console-catalogue") == page.catalogue(lang)
    assert f'data-lang="{lang}"' in html
    assert f"/console/console.js?v={page.asset_version()}" in html


def test_the_language_defaults_to_chinese_unless_the_browser_prefers_english(
    client: TestClient,
) -> None:
    assert 'data-lang="zh"' in client.get("/console").text
    assert 'data-lang="zh"' in client.get("/console", params={"lang": "fr"}).text
    english = client.get("/console", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert 'data-lang="en"' in english.text


def test_the_page_is_locked_down(client: TestClient) -> None:
    headers = client.get("/console").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_the_buttons_follow_the_loop_of_the_code(client: TestClient) -> None:
    config = _embedded(client.get("/console").text, "console-config")
    assert isinstance(config, dict)
    assert config["commanding"] == sorted(a.value for a in COMMAND_ACTIONS)
    for action, (allowed, to) in TRANSITIONS.items():
        assert config["transitions"][action.value] == {
            "from": sorted(s.value for s in allowed),
            "to": to.value if to else None,
        }
    assert "status" in config["text_fields"]
    assert config["reminder_every_s"] == default_rules().escalation.reminder_every_s
    villages = sum(len(t["villages"]) for t in config["basemap"]["townships"])
    assert villages == sum(1 for _ in default_city().villages())


def test_the_base_map_is_geography_only() -> None:
    text = json.dumps(page.basemap(default_city()))
    assert "device" not in text and "incident" not in text
    township = page.basemap(default_city())["townships"][0]
    assert set(township) == {"id", "name", "lat", "lon", "villages"}
    assert set(township["villages"][0]) == {"id", "name", "lat", "lon"}


def test_embedded_json_cannot_close_its_script_element() -> None:
    text = page._json_for_script({"x": "</script><script>alert(1)</script>&"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"x": "</script><script>alert(1)</script>&"}


@pytest.mark.parametrize(("path", "kind"), [("/console/console.js", "text/javascript"),
                                            ("/console/console.css", "text/css")])  # fmt: skip
def test_assets_are_served_cacheable(client: TestClient, path: str, kind: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)
    assert "max-age" in response.headers["cache-control"]
    assert response.content == page.asset(path.rsplit("/", 1)[1])


def test_the_script_sets_text_never_markup() -> None:
    script = page.asset("console.js").decode()
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert risky not in script, risky
    assert "localStorage" not in script  # the token lives in this tab's sessionStorage only


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_script_parses() -> None:
    path = page.HERE / "static" / "console.js"
    result = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
