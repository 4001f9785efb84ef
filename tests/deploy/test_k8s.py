"""deploy/k8s rendered (our small kustomize) and validated offline against the Kubernetes
OpenAPI-derived JSON schemas that the ``kubernetes-validate`` package bundles (strict: unknown
fields fail). Where kubectl is installed, its kustomize must render the same objects."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from devstack.deploy_render import kustomize
from tests.deploy.conftest import K8S_DIR, REPO, load_yaml_all

KUBERNETES_VERSION = "1.30"
TREES = ["base", "overlays/pilot", "overlays/city-1m"]


def render(tree: str) -> list[dict[str, Any]]:
    return kustomize(K8S_DIR / tree)


def by_name(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for d in docs
        if d["kind"] in {"Deployment", "StatefulSet", "Job"}
    ]


@pytest.mark.parametrize("tree", TREES)
def test_manifests_validate_against_kubernetes_schemas(tree: str) -> None:
    for doc in render(tree):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_wrong_field_fails_validation() -> None:
    api = by_name(render("base"), "Deployment", "api")
    api["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("tree", TREES)
def test_kubectl_kustomize_renders_the_same(tree: str) -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S_DIR / tree)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    theirs = sorted(json.dumps(d, sort_keys=True) for d in load_yaml_all_text(out))
    ours = sorted(json.dumps(d, sort_keys=True) for d in render(tree))
    assert ours == theirs


def load_yaml_all_text(text: str) -> list[Any]:
    import yaml

    return [d for d in yaml.safe_load_all(text) if d]


@pytest.mark.parametrize("tree", TREES)
def test_every_container_has_requests_and_limits(tree: str) -> None:
    for name, spec in pod_specs(render(tree)):
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            if "resources" not in container and container["name"] == "broker-files":
                continue  # a short init step in the API pod
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert {"cpu", "memory"} <= set(resources["limits"]), name


def test_ingesters_scale_with_own_spools_and_client_ids() -> None:
    ingest = by_name(render("overlays/city-1m"), "StatefulSet", "ingest")
    assert ingest["spec"]["replicas"] == 3
    assert ingest["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "spool"
    env = {e["name"]: e for e in ingest["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "$(POD_NAME)" in env["TIANQU_INGEST_MQTT_CLIENT_ID"]["value"]
    assert env["TIANQU_INGEST_MQTT_SHARE_GROUP"]["value"] == "ingest"
    assert env["TIANQU_INGEST_MQTT_PORT"]["value"] == "1884"
    assert env["TIANQU_INGEST_INFLUX_CREATE_DATABASE"]["value"] == "false"


def test_api_has_readiness_and_liveness_probes() -> None:
    api = by_name(render("base"), "Deployment", "api")
    for container in api["spec"]["template"]["spec"]["containers"]:
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_emqx_clusters_by_dns_srv_through_the_headless_service() -> None:
    docs = render("overlays/pilot")
    emqx = by_name(docs, "StatefulSet", "emqx")
    headless = by_name(docs, "Service", "emqx-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert emqx["spec"]["serviceName"] == "emqx-headless"
    env = {
        e["name"]: e.get("value") for e in emqx["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["EMQX_CLUSTER__DISCOVERY_STRATEGY"] == "dns"
    assert env["EMQX_CLUSTER__DNS__RECORD_TYPE"] == "srv"
    assert env["EMQX_NODE__NAME"].startswith("emqx@$(POD_NAME).emqx-headless.")
    assert by_name(docs, "Service", "emqx")["spec"]["type"] == "LoadBalancer"
    assert all(d["metadata"].get("namespace") == "tianqu" for d in docs if d["kind"] != "Namespace")


def test_references_resolve_and_secrets_are_documented() -> None:
    docs = render("base")
    configmaps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    readme = (K8S_DIR / "README.md").read_text()
    text = json.dumps(docs)
    for name, spec in pod_specs(docs):
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps, name
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, name
    for key in set(re.findall(r'"key": "([a-z0-9-]+)", "name": "tianqu-[a-z-]+"', text)):
        assert f"--from-literal={key}=" in readme, f"README misses secret key {key}"
    for secret in set(re.findall(r'"secretName": "([a-z0-9-]+)"', text)):
        assert secret in readme, f"README misses secret {secret}"


def test_images_are_pinned_and_ours_is_set_by_the_overlays() -> None:
    for tree in ("overlays/pilot", "overlays/city-1m"):
        for name, spec in pod_specs(render(tree)):
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                image = container["image"]
                assert not image.endswith(":latest"), f"{tree} {name}: {image}"


def test_generated_configmaps_are_in_the_base() -> None:
    generated = {p.name for p in (K8S_DIR / "base/generated").iterdir()}
    kustomization = (K8S_DIR / "base/kustomization.yaml").read_text()
    for name in generated:
        assert f"generated/{name}" in kustomization
    assert all(load_yaml_all(K8S_DIR / "base/generated" / n) for n in generated)
    assert Path(REPO / "deploy/k8s/README.md").exists()
