"""The files under deploy/ are what devstack renders now, from the constants the tests use."""

from __future__ import annotations

import re

import pyhocon

from devstack import deploy_render
from devstack.configs import (
    MAX_INFLIGHT_MESSAGES,
    MAX_PACKET_SIZE,
    MAX_QUEUED_BYTES,
    MAX_QUEUED_MESSAGES,
    BrokerConfig,
    render_mosquitto,
)
from tests.deploy.conftest import REPO, load_yaml, load_yaml_all


def test_committed_files_match_a_fresh_render() -> None:
    stale = deploy_render.stale_files()
    assert stale == [], f"stale: {stale}; run `python -m devstack.deploy_render`"


def test_compose_mosquitto_has_the_nothing_lost_limits() -> None:
    conf = (REPO / "deploy/compose/mosquitto/mosquitto.conf").read_text()
    lines = set(conf.splitlines())
    assert f"max_queued_messages {MAX_QUEUED_MESSAGES}" in lines
    assert f"max_queued_bytes {MAX_QUEUED_BYTES}" in lines
    assert f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}" in lines
    assert f"max_packet_size {MAX_PACKET_SIZE}" in lines
    assert {"persistence true", "allow_anonymous false", "require_certificate true"} <= lines
    assert "password_file /mosquitto/auth/passwords" in lines
    assert "acl_file /mosquitto/auth/acl" in lines
    assert not any(line.startswith("user ") for line in lines)  # compose sets the user


def test_local_platform_rendering_is_unchanged(tmp_path) -> None:
    """The additive deploy options leave the local platform's file as it was."""
    conf = render_mosquitto(BrokerConfig(port=18830, data_dir=tmp_path))
    assert conf.splitlines()[2] == "listener 18830 127.0.0.1"
    assert "allow_anonymous true" in conf
    assert "log_dest stderr" in conf


def test_emqx_conf_parses_and_carries_the_same_limits() -> None:
    text = (REPO / "deploy/compose/emqx/emqx.conf").read_text()
    conf = pyhocon.ConfigFactory.parse_string(text)
    ingest = conf["zones"]["ingest"]
    assert ingest["mqtt"]["max_mqueue_len"] == MAX_QUEUED_MESSAGES
    assert conf["mqtt"]["max_packet_size"] == f"{MAX_PACKET_SIZE // 1024}KB"
    assert conf["listeners"]["tcp"]["internal"]["zone"] == "ingest"
    assert conf["listeners"]["ssl"]["certs"]["zone"] == "certs"
    assert conf["zones"]["certs"]["mqtt"]["peer_cert_as_username"] == "cn"
    cert_ssl = conf["listeners"]["ssl"]["certs"]["ssl_options"]
    assert cert_ssl["verify"] == "verify_peer"
    assert cert_ssl["fail_if_no_peer_cert"] is True
    assert conf["listeners"]["ssl"]["default"]["ssl_options"]["verify"] == "verify_none"
    (authn,) = conf["authentication"]
    assert authn["backend"] == "http"
    assert authn["url"] == "http://emqx-auth:8090/authn"
    assert conf["authorization"]["no_match"] == "deny"
    assert conf["authorization"]["sources"] == []


def test_k8s_configmaps_carry_the_compose_files() -> None:
    emqx = load_yaml(REPO / "deploy/k8s/base/generated/emqx-config.yaml")
    assert emqx["data"]["emqx.conf"] == (REPO / "deploy/compose/emqx/emqx.conf").read_text()
    influx = load_yaml(REPO / "deploy/k8s/base/generated/influxdb-config.yaml")
    assert influx["data"]["init.sh"] == (REPO / "deploy/compose/influxdb/init.sh").read_text()
    assert influx["data"]["config.yml"] == (REPO / "deploy/compose/influxdb/config.yml").read_text()


def test_grafana_follows_the_dashboards_output(tmp_path) -> None:
    """Each provisioning file and each dashboard folder that dashboards/ writes is mounted."""
    for rel, _ in deploy_render.GRAFANA_PROVISIONING.values():
        (tmp_path / rel).mkdir(parents=True)
        (tmp_path / rel / "one.yaml").write_text("apiVersion: 1\n")
    for folder in ("district", "devices"):
        (tmp_path / deploy_render.GRAFANA_JSON_DIR / folder).mkdir(parents=True)
        (tmp_path / deploy_render.GRAFANA_JSON_DIR / folder / f"{folder}.json").write_text("{}")
    docs = deploy_render._grafana(tmp_path)
    maps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    assert maps["grafana-dashboards-district"] == {"district.json": "{}"}
    assert maps["grafana-datasources"] == {"one.yaml": "apiVersion: 1\n"}
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    root = deploy_render.GRAFANA_DASHBOARDS_MOUNT
    assert mounts["grafana-dashboards-devices"] == f"{root}/devices"
    assert mounts["grafana-alerting"] == "/etc/grafana/provisioning/alerting"
    volumes = {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert set(mounts) == volumes


def test_grafana_configmaps_fit_kubectl_apply() -> None:
    """Client-side apply keeps a copy in an annotation limited to 256 KiB."""
    for doc in load_yaml_all(REPO / "deploy/k8s/base/generated/grafana.yaml"):
        if doc["kind"] == "ConfigMap":
            size = sum(len(v.encode()) for v in (doc["data"] or {}).values())
            assert size < 200_000, doc["metadata"]["name"]


def test_influxd2_config_is_yaml() -> None:
    conf = load_yaml(REPO / "deploy/compose/influxdb/config.yml")
    assert conf["reporting-disabled"] is True
    assert conf["http-bind-address"] == ":8086"


def test_grafana_gets_every_variable_its_provisioning_names(compose) -> None:
    """The provisioning files name ${VARS} that Grafana expands: compose and Kubernetes set
    each of them, and every file provider's path is a mounted dashboard folder."""
    names: set[str] = set()
    for rel, _ in deploy_render.GRAFANA_PROVISIONING.values():
        for path in sorted((REPO / rel).glob("*.y*ml")):
            names |= set(re.findall(r"\$\{([A-Z0-9_]+)\}", path.read_text()))
    assert names  # the dashboards work has generated its files
    compose_env = set(compose["services"]["grafana"]["environment"])
    docs = load_yaml_all(REPO / "deploy/k8s/base/generated/grafana.yaml")
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    k8s_env = {e["name"] for e in container["env"]}
    assert names <= compose_env, names - compose_env
    assert names <= k8s_env, names - k8s_env
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    providers = load_yaml(REPO / "dashboards/provisioning/dashboards/tianqu.yaml")["providers"]
    for provider in providers:
        path = provider["options"]["path"]
        assert path in mounts, path
        folder = path.removeprefix(deploy_render.GRAFANA_DASHBOARDS_MOUNT + "/")
        assert (REPO / deploy_render.GRAFANA_JSON_DIR / folder).is_dir()
