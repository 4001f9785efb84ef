"""deploy/compose against the Compose Specification's JSON schema, and what it must wire up.

The schema is the compose-spec project's ``compose-spec.json`` as vendored (with its licence,
Apache-2.0, in ``vendor/licenses/LICENSE.compose-spec``) by the ``check-jsonschema`` package, a
dev dependency; its source is github.com/compose-spec/compose-spec, schema/compose-spec.json.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest

from devstack.deploy_render import (
    GRAFANA_DASHBOARDS_MOUNT,
    GRAFANA_IMAGE,
    GRAFANA_JSON_DIR,
    GRAFANA_PROVISIONING,
)
from tests.deploy.conftest import COMPOSE_DIR, REPO, env_example, load_yaml

PYTHON_SERVICES = ("ingest-1", "ingest-2", "api", "alerting")
LONG_RUNNING = ("influxdb", "broker", *PYTHON_SERVICES, "grafana")


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema: dict[str, Any] = json.loads(vendored.read_text(encoding="utf-8"))
    return schema


@pytest.mark.parametrize("name", ["compose.yaml", "compose.emqx.yaml"])
def test_file_is_valid_against_the_compose_spec(name: str) -> None:
    jsonschema.Draft202012Validator(compose_schema()).validate(load_yaml(COMPOSE_DIR / name))


def test_merged_emqx_variant_is_valid(compose_emqx: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(compose_schema()).validate(compose_emqx)


def test_the_schema_catches_a_mistake(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["restart_policy"] = "always"  # not a service key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(compose_schema()).validate(broken)


@pytest.mark.parametrize("variant", ["compose", "compose_emqx"])
def test_references_resolve(variant: str, request: pytest.FixtureRequest) -> None:
    doc = request.getfixturevalue(variant)
    services = doc["services"]
    declared = set(doc["volumes"])
    for name, service in services.items():
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                path = (COMPOSE_DIR / source).resolve()
                if "dashboards" not in source:  # written by the dashboards work
                    assert path.exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_ingesters_share_one_subscription_with_their_own_ids_and_spools(
    compose: dict[str, Any],
) -> None:
    ingesters = [compose["services"][n] for n in ("ingest-1", "ingest-2")]
    ids = {s["environment"]["TIANQU_INGEST_MQTT_CLIENT_ID"] for s in ingesters}
    groups = {s["environment"]["TIANQU_INGEST_MQTT_SHARE_GROUP"] for s in ingesters}
    spools = {m.split(":")[0] for s in ingesters for m in s["volumes"] if m.endswith("/ingest")}
    assert len(ids) == 2
    assert groups == {"ingest"}
    assert len(spools) == 2
    alerting = compose["services"]["alerting"]["environment"]
    assert "TIANQU_ALERTING_MQTT_SHARE_GROUP" not in alerting
    assert alerting["TIANQU_ALERTING_MQTT_CLIENT_ID"] not in ids


@pytest.mark.parametrize("variant", ["compose", "compose_emqx"])
def test_long_running_services_have_health_checks_and_restart(
    variant: str, request: pytest.FixtureRequest
) -> None:
    services = request.getfixturevalue(variant)["services"]
    for name in (*LONG_RUNNING, *(["emqx-auth"] if variant == "compose_emqx" else [])):
        service = services[name]
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name
    for name in PYTHON_SERVICES:
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert "/readyz" in probe, name
    for name in ("preflight", "influxdb-init", "broker-init"):
        assert services[name]["restart"] == "no"


def test_everything_waits_for_preflight(compose: dict[str, Any]) -> None:
    services = compose["services"]

    def upstream(name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            for dep in services[todo.pop()].get("depends_on", {}):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    for name in LONG_RUNNING:
        assert "preflight" in upstream(name), name


def test_emqx_variant_moves_platform_sessions_to_the_internal_listener(
    compose_emqx: dict[str, Any],
) -> None:
    services = compose_emqx["services"]
    assert services["broker"]["image"].startswith("emqx/emqx:5.8")
    for name in ("ingest-1", "ingest-2"):
        assert services[name]["environment"]["TIANQU_INGEST_MQTT_PORT"] == "1884"
    assert services["alerting"]["environment"]["TIANQU_ALERTING_MQTT_PORT"] == "1884"
    assert "EMQX_NODE_COOKIE" in services["preflight"]["environment"]


def test_images_are_pinned(compose_emqx: dict[str, Any]) -> None:
    for name, service in compose_emqx["services"].items():
        image = service["image"]
        if image.startswith("${TIANQU_IMAGE"):
            continue
        assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", image), f"{name}: {image} is not pinned"


def test_every_variable_is_in_env_example() -> None:
    example = env_example()
    for name in ("compose.yaml", "compose.emqx.yaml"):
        text = (COMPOSE_DIR / name).read_text()
        for var in re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text):
            assert var in example, f"{name} uses ${{{var}}}, missing from .env.example"


def test_grafana_mounts_the_dashboards_output(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    assert grafana["image"] == GRAFANA_IMAGE  # the same as in Kubernetes
    mounts = {m.split(":")[0]: m.split(":")[1] for m in grafana["volumes"]}
    for rel, sub in GRAFANA_PROVISIONING.values():
        assert mounts["../../" + rel] == f"/etc/grafana/provisioning/{sub}"
    assert mounts["../../" + GRAFANA_JSON_DIR] == GRAFANA_DASHBOARDS_MOUNT
    for source in mounts:
        if source.startswith("../../"):
            assert (COMPOSE_DIR / source).resolve() == (REPO / source[6:]).resolve()
