"""The provisioning files parse, and every reference in them resolves; the committed files are
what a fresh generation writes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from dashboards import generate, walk
from dashboards.__main__ import main
from dashboards.names import (
    ALERTS_FOLDER,
    BOARD_FOLDERS,
    CONTACT_POINT_NAME,
    DATASOURCE_UID,
    GRAFANA_DASHBOARDS_DIR,
)

ROOT = generate.PACKAGE_DIR
PROVISIONING = ROOT / "provisioning"
ENV_REF = re.compile(r"\$\{([A-Z0-9_]+)\}")


def _load(relative: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((PROVISIONING / relative).read_text(encoding="utf-8"))
    return document


def test_every_yaml_file_parses_as_provisioning_v1() -> None:
    files = sorted(PROVISIONING.rglob("*.yaml"))
    assert {f.relative_to(PROVISIONING).as_posix() for f in files} == {
        "alerting/tianqu-contact-points.yaml",
        "alerting/tianqu-policies.yaml",
        "alerting/tianqu-rules.yaml",
        "dashboards/tianqu.yaml",
        "datasources/tianqu-influxdb.yaml",
        "variants/contact-points-grafana11.yaml",
        "variants/datasource-influxdb-2x-3x.yaml",
    }
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert document["apiVersion"] == 1, path


def test_datasource_variants() -> None:
    (v1,) = _load("datasources/tianqu-influxdb.yaml")["datasources"]
    (v2,) = _load("variants/datasource-influxdb-2x-3x.yaml")["datasources"]
    for source in (v1, v2):
        assert source["uid"] == DATASOURCE_UID
        assert source["type"] == "influxdb"
        assert source["access"] == "proxy"
        assert source["url"] == "${TIANQU_INFLUX_URL}"
        assert source["jsonData"]["version"] == "InfluxQL"
        assert source["jsonData"]["dbName"] == "tianqu"
    assert v1["user"] == "${TIANQU_INFLUX_USER}"
    assert v1["secureJsonData"] == {"password": "${TIANQU_INFLUX_PASSWORD}"}
    assert "httpHeaderName1" not in v1["jsonData"]
    assert v2["jsonData"]["httpHeaderName1"] == "Authorization"
    assert v2["secureJsonData"] == {"httpHeaderValue1": "Token ${TIANQU_INFLUX_TOKEN}"}
    assert "user" not in v2


def test_dashboard_providers_point_at_the_generated_boards() -> None:
    providers = _load("dashboards/tianqu.yaml")["providers"]
    assert [(p["folder"], p["folderUid"]) for p in providers] == [
        (f.title, f.uid) for f in BOARD_FOLDERS
    ]
    assert [p["folder"] for p in providers] == ["新区", "乡镇街道", "村居", "设备", "平台"]
    seen = set()
    for provider in providers:
        assert provider["type"] == "file"
        path = provider["options"]["path"]
        assert path.startswith(GRAFANA_DASHBOARDS_DIR + "/")
        local = ROOT / generate.JSON_DIR / Path(path).relative_to(GRAFANA_DASHBOARDS_DIR)
        boards = sorted(local.glob("*.json"))
        assert boards, f"{path} holds no board"
        for board in boards:
            document = json.loads(board.read_text(encoding="utf-8"))
            assert board.stem == document["uid"]
            seen.add(document["uid"])
            for target in walk.targets(document):
                assert DATASOURCE_UID in json.dumps(document), target
    assert len(seen) == 8


def test_every_datasource_reference_resolves() -> None:
    uids = {_load("datasources/tianqu-influxdb.yaml")["datasources"][0]["uid"], "__expr__"}
    for board in (ROOT / generate.JSON_DIR).rglob("*.json"):
        text = board.read_text(encoding="utf-8")
        for ref in re.findall(r'"datasource": \{\s*"type": "[^"]+",\s*"uid": "([^"]+)"', text):
            assert ref in uids, (board, ref)
    for group in _load("alerting/tianqu-rules.yaml")["groups"]:
        for rule in group["rules"]:
            for query in rule["data"]:
                assert query["datasourceUid"] in uids
                assert query["model"]["datasource"]["uid"] in uids
            if "dashboardUid" in rule:
                board = next((ROOT / generate.JSON_DIR).rglob(f"{rule['dashboardUid']}.json"))
                ids = {p["id"] for p in walk.panels(json.loads(board.read_text(encoding="utf-8")))}
                assert rule["panelId"] in ids


def test_alerting_contact_point_and_policy() -> None:
    (point,) = _load("alerting/tianqu-contact-points.yaml")["contactPoints"]
    assert point["name"] == CONTACT_POINT_NAME
    (receiver,) = point["receivers"]
    assert receiver["type"] == "webhook"
    settings = receiver["settings"]
    assert settings["url"] == "${TIANQU_API_URL}/alerts/grafana"
    assert settings["httpMethod"] == "POST"
    assert settings["hmacConfig"] == {
        "secret": "${TIANQU_GRAFANA_WEBHOOK_SECRET}",
        "header": "X-Grafana-Alerting-Signature",
        "timestampHeader": "X-Grafana-Alerting-Signature-Timestamp",
    }
    # The API also wants its service key on every call, signed or not.
    assert settings["authorization_scheme"] == "Bearer"
    assert settings["authorization_credentials"] == "${TIANQU_GRAFANA_API_KEY}"
    (eleven,) = _load("variants/contact-points-grafana11.yaml")["contactPoints"]
    settings11 = eleven["receivers"][0]["settings"]
    assert settings11["authorization_scheme"] == "Bearer"
    assert settings11["authorization_credentials"] == "${TIANQU_GRAFANA_API_KEY}"
    assert "hmacConfig" not in settings11
    (policy,) = _load("alerting/tianqu-policies.yaml")["policies"]
    assert policy["receiver"] == CONTACT_POINT_NAME
    assert "routes" not in policy, "everything goes to the API"
    for group in _load("alerting/tianqu-rules.yaml")["groups"]:
        assert group["folder"] == ALERTS_FOLDER.title
        assert group["folder"] not in {f.title for f in BOARD_FOLDERS}


def test_secrets_are_environment_references_only() -> None:
    names = set()
    for path in PROVISIONING.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        names |= set(ENV_REF.findall(text))
        # Rules carry Grafana's own $timeFilter and {{ $labels }}, never an env reference.
        if "rules" in path.name:
            assert not ENV_REF.search(text)
    assert names == {
        "TIANQU_INFLUX_URL",
        "TIANQU_INFLUX_USER",
        "TIANQU_INFLUX_PASSWORD",
        "TIANQU_INFLUX_TOKEN",
        "TIANQU_API_URL",
        "TIANQU_GRAFANA_WEBHOOK_SECRET",
        "TIANQU_GRAFANA_API_KEY",
    }


def test_committed_files_equal_a_fresh_generation() -> None:
    stale = generate.stale()
    assert not stale, f"run `python -m dashboards generate`; stale: {stale}"


def test_check_and_generate_commands(tmp_path: Path) -> None:
    assert main(["check"]) == 0
    files = generate.render(*generate.default_inputs())
    assert generate.write(tmp_path, files) == list(files)
    assert generate.write(tmp_path, files) == []
    assert generate.stale(tmp_path, files) == []
    (tmp_path / "json/district/left-over.json").write_text("{}", encoding="utf-8")
    changed = next(iter(files))
    (tmp_path / changed).write_text("edited", encoding="utf-8")
    assert generate.stale(tmp_path, files) == [changed, "json/district/left-over.json"]


def test_each_folder_fits_one_kubernetes_config_map() -> None:
    """deploy/k8s mounts each folder from one ConfigMap; client-side `kubectl apply` keeps a
    copy in a 256 KiB annotation."""
    for folder in (ROOT / generate.JSON_DIR).iterdir():
        size = sum(p.stat().st_size for p in folder.glob("*.json"))
        assert size < 200 * 1024, (folder.name, size)
