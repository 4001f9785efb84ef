"""The production files under ``deploy/``, rendered from the same source as the local platform.

``python -m devstack.deploy_render`` (re)writes every generated file: mosquitto's and EMQX's
configuration, InfluxDB 2.7's ``config.yml``, and the Kubernetes ConfigMaps that carry them,
the InfluxDB init script and Grafana's provisioning from ``dashboards/``. Each comes from
``devstack.configs`` — the constants the local platform and the test fixtures use — so a
setting the "nothing lost" guarantees depend on cannot drift between what is tested and what
is deployed; ``tests/deploy`` fails when a committed file differs from a fresh render.

Other verbs:

    check              exit 1 and name the files that differ from a fresh render
    check-env          refuse placeholder or short secrets in the environment (the compose
                       stack's preflight service runs this before anything else starts)
    kustomize DIR      print the manifests of a kustomization (the subset deploy/k8s uses:
                       resources, namespace, labels, images, replicas, JSON 6902 patches)
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from devstack.configs import (
    BrokerConfig,
    EmqxConfig,
    Influx2Config,
    TlsFiles,
    render_emqx,
    render_influxd2,
    render_mosquitto,
)

REPO = Path(__file__).resolve().parent.parent
HEADER = "# Rendered by devstack.deploy_render — edit the generator, not this file.\n"

# mosquitto inside its container (deploy/compose): the same renderer as the local platform,
# with container paths, all interfaces, logins required and both TLS listeners.
COMPOSE_BROKER = BrokerConfig(
    port=1883,
    data_dir=Path("/mosquitto/data"),
    bind="0.0.0.0",  # noqa: S104 - inside its container, published by compose
    allow_anonymous=False,
    password_file=Path("/mosquitto/auth/passwords"),
    acl_file=Path("/mosquitto/auth/acl"),
    log_file=None,
    run_as_user=None,  # compose starts it as 1883:10001 already
    tls_port=8883,
    cert_port=8884,
    tls=TlsFiles(
        Path("/mosquitto/pki/ca.crt"),
        Path("/mosquitto/pki/server.crt"),
        Path("/mosquitto/pki/server.key"),
    ),
)
# The login service has the same name in compose and in Kubernetes (a Service).
EMQX = EmqxConfig(auth_url="http://emqx-auth:8090/authn")
INFLUX2 = Influx2Config()

INFLUX_INIT_SCRIPT = "deploy/compose/influxdb/init.sh"
# Grafana's provisioning as dashboards/ generates it: ConfigMap → (directory, mount path).
# The datasource file there is the user/password variant, which InfluxDB 2.7's v1 logins
# accept; the contact point is Grafana 12's signed webhook, hence the Grafana 12 image.
GRAFANA_PROVISIONING = {
    "grafana-datasources": ("dashboards/provisioning/datasources", "datasources"),
    "grafana-dashboard-providers": ("dashboards/provisioning/dashboards", "dashboards"),
    "grafana-alerting": ("dashboards/provisioning/alerting", "alerting"),
}
GRAFANA_JSON_DIR = "dashboards/json"
# dashboards.names.GRAFANA_DASHBOARDS_DIR: the file providers' paths start here.
GRAFANA_DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards/tianqu"
GRAFANA_IMAGE = "grafana/grafana:12.0.0"

# Secrets of the compose stack checked by ``check-env``; those absent from the environment
# are not checked (compose passes the EMQX ones only with compose.emqx.yaml).
SECRET_VARS = (
    "TIANQU_API_SECRET_KEY",
    "INFLUX_ADMIN_PASSWORD",
    "INFLUX_ADMIN_TOKEN",
    "INFLUX_INGEST_PASSWORD",
    "INFLUX_READ_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "TIANQU_GRAFANA_WEBHOOK_SECRET",
    "EMQX_NODE_COOKIE",
    "EMQX_DASHBOARD_PASSWORD",
)
# The union of the services' own placeholder lists (api, ingest, alerting settings).
PLACEHOLDERS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "admin", "tianqu", "jwt"}
)
MIN_SECRET_LENGTH = 16
MIN_LENGTH = {"TIANQU_API_SECRET_KEY": 32}


# --- YAML with readable multi-line strings ---------------------------------------------------


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # manifests repeat env lists: spell them out
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(documents: Iterable[Mapping[str, Any]]) -> str:
    return "---\n".join(
        yaml.dump(dict(d), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        for d in documents
    )


def configmap(name: str, data: Mapping[str, str], component: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/component": component},
        },
        "data": dict(sorted(data.items())),
    }


# --- the generated files ----------------------------------------------------------------------


def _files(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in {".yaml", ".yml", ".json"}
    }


def _grafana(repo: Path) -> list[dict[str, Any]]:
    """Grafana's ConfigMaps and Deployment from what dashboards/ generated.

    One ConfigMap per dashboard folder keeps each well under the 256 KiB that client-side
    ``kubectl apply`` can annotate."""
    maps = [
        configmap(name, _files(repo / rel), "grafana")
        for name, (rel, _) in GRAFANA_PROVISIONING.items()
    ]
    mounts = [
        {"name": name, "mountPath": f"/etc/grafana/provisioning/{sub}", "readOnly": True}
        for name, (_, sub) in GRAFANA_PROVISIONING.items()
    ]
    json_root = repo / GRAFANA_JSON_DIR
    folders = (
        sorted(p.name for p in json_root.iterdir() if p.is_dir()) if json_root.is_dir() else []
    )
    for folder in folders:
        name = f"grafana-dashboards-{folder}"
        maps.append(configmap(name, _files(json_root / folder), "grafana"))
        mounts.append(
            {"name": name, "mountPath": f"{GRAFANA_DASHBOARDS_MOUNT}/{folder}", "readOnly": True}
        )
    volumes: list[dict[str, Any]] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": "grafana-data"}},
        *({"name": m["name"], "configMap": {"name": m["name"]}} for m in mounts),
    ]
    return [*maps, _grafana_deployment([{"name": "data", "mountPath": "/var/lib/grafana"},
                                        *mounts], volumes)]  # fmt: skip


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": "tianqu-secrets", "key": key}}}


def _grafana_deployment(
    mounts: list[dict[str, Any]], volumes: list[dict[str, Any]]
) -> dict[str, Any]:
    env = [
        {"name": "GF_SECURITY_ADMIN_USER", "value": "admin"},
        _secret_env("GF_SECURITY_ADMIN_PASSWORD", "grafana-admin-password"),
        {"name": "GF_USERS_ALLOW_SIGN_UP", "value": "false"},
        {"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"},
        {"name": "GF_ANALYTICS_REPORTING_ENABLED", "value": "false"},
        {"name": "GF_ANALYTICS_CHECK_FOR_UPDATES", "value": "false"},
        # Expanded by the provisioning files (dashboards/provisioning.py).
        {"name": "TIANQU_INFLUX_URL", "value": "http://influxdb:8086"},
        {"name": "TIANQU_INFLUX_USER", "value": "tianqu-reader"},
        _secret_env("TIANQU_INFLUX_PASSWORD", "influx-read-password"),
        {"name": "TIANQU_API_URL", "value": "http://api:8000"},
        _secret_env("TIANQU_GRAFANA_WEBHOOK_SECRET", "grafana-webhook-secret"),
        {
            "name": "TIANQU_GRAFANA_API_KEY",
            "valueFrom": {
                # optional: made after the API's first start; Grafana runs before it exists
                "secretKeyRef": {
                    "name": "tianqu-service-logins",
                    "key": "grafana-api-key",
                    "optional": True,
                }
            },
        },
    ]
    probe = {"httpGet": {"path": "/api/health", "port": "http"}}
    container = {
        "name": "grafana",
        "image": GRAFANA_IMAGE,
        "env": env,
        "ports": [{"name": "http", "containerPort": 3000}],
        "readinessProbe": {**probe, "periodSeconds": 10},
        "livenessProbe": {**probe, "initialDelaySeconds": 30, "periodSeconds": 30},
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "volumeMounts": mounts,
    }
    labels = {"app.kubernetes.io/name": "grafana"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "grafana", "labels": labels},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {
                        "runAsUser": 472,
                        "runAsGroup": 472,
                        "fsGroup": 472,
                        "runAsNonRoot": True,
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def rendered_files(repo: Path = REPO) -> dict[str, str]:
    """Every generated file under deploy/, by path relative to the repository."""
    emqx_conf = render_emqx(EMQX)
    influx_conf = render_influxd2(INFLUX2)
    init_script = (repo / INFLUX_INIT_SCRIPT).read_text(encoding="utf-8")
    emqx_map = configmap("emqx-config", {"emqx.conf": emqx_conf}, "broker")
    influx_map = configmap(
        "influxdb-config", {"config.yml": influx_conf, "init.sh": init_script}, "influxdb"
    )
    return {
        "deploy/compose/mosquitto/mosquitto.conf": render_mosquitto(COMPOSE_BROKER),
        "deploy/compose/emqx/emqx.conf": emqx_conf,
        "deploy/compose/influxdb/config.yml": influx_conf,
        "deploy/k8s/base/generated/emqx-config.yaml": HEADER + dump_yaml([emqx_map]),
        "deploy/k8s/base/generated/influxdb-config.yaml": HEADER + dump_yaml([influx_map]),
        "deploy/k8s/base/generated/grafana.yaml": HEADER + dump_yaml(_grafana(repo)),
    }


def write_all(repo: Path = REPO) -> list[str]:
    written = []
    for rel, text in rendered_files(repo).items():
        path = repo / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(rel)
    return written


def stale_files(repo: Path = REPO) -> list[str]:
    stale = []
    for rel, text in rendered_files(repo).items():
        path = repo / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(rel)
    return stale


# --- secrets ----------------------------------------------------------------------------------


def placeholder_problems(env: Mapping[str, str], names: Sequence[str] = SECRET_VARS) -> list[str]:
    problems = []
    for name in names:
        if name not in env:
            continue
        value = env[name]
        minimum = MIN_LENGTH.get(name, MIN_SECRET_LENGTH)
        if value.strip().lower() in PLACEHOLDERS:
            problems.append(f"{name} is a placeholder")
        elif len(value) < minimum:
            problems.append(f"{name} is shorter than {minimum} characters")
    return problems


# --- a small kustomize ------------------------------------------------------------------------

_CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"})


class KustomizeError(ValueError):
    pass


def _load_documents(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d:
            raise KustomizeError(f"{path}: not a Kubernetes object: {str(d)[:80]}")
    return docs


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _apply_op(doc: dict[str, Any], op: Mapping[str, Any]) -> None:
    *parents, last = _pointer(str(op["path"]))
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    kind = op["op"]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if kind == "add":
            node.insert(index, copy.deepcopy(op["value"]))
        elif kind == "replace":
            node[index] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del node[index]
        else:
            raise KustomizeError(f"unsupported patch op {kind!r}")
        return
    if kind in {"add", "replace"}:
        if kind == "replace" and last not in node:
            raise KustomizeError(f"replace: {op['path']} does not exist")
        node[last] = copy.deepcopy(op["value"])
    elif kind == "remove":
        del node[last]
    else:
        raise KustomizeError(f"unsupported patch op {kind!r}")


def _matches(doc: Mapping[str, Any], target: Mapping[str, Any]) -> bool:
    meta = doc.get("metadata", {})
    return all(
        (key != "kind" or doc.get("kind") == value) and (key != "name" or meta.get("name") == value)
        for key, value in target.items()
    )


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """Render ``directory/kustomization.yaml`` (the subset deploy/k8s uses)."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8")) or {}
    known = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas",
             "patches"}  # fmt: skip
    unknown = set(spec) - known
    if unknown:
        raise KustomizeError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    docs: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        docs += kustomize(path) if path.is_dir() else _load_documents(path)
    for patch in spec.get("patches", []):
        ops = yaml.safe_load(patch["patch"])
        targets = [d for d in docs if _matches(d, patch["target"])]
        if not targets:
            raise KustomizeError(f"{directory}: patch target {patch['target']} matches nothing")
        for doc in targets:
            for op in ops:
                _apply_op(doc, op)
    _apply_transformers(directory, spec, docs)
    return docs


def _apply_transformers(
    directory: Path, spec: Mapping[str, Any], docs: list[dict[str, Any]]
) -> None:
    for rep in spec.get("replicas", []):
        hits = [d for d in docs if d["metadata"]["name"] == rep["name"] and "replicas" in d["spec"]]
        if not hits:
            raise KustomizeError(f"{directory}: replicas for unknown {rep['name']!r}")
        for doc in hits:
            doc["spec"]["replicas"] = rep["count"]
    for image in spec.get("images", []):
        _set_image(docs, image)
    for label in spec.get("labels", []):
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
            template = doc.get("spec", {}).get("template")
            if label.get("includeTemplates") and template is not None:
                template.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] not in _CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = spec["namespace"]


def _set_image(docs: list[dict[str, Any]], image: Mapping[str, str]) -> None:
    name = image["name"]
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec") or (
            doc.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {})
        ).get("spec")
        if not pod:
            continue
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            current = container["image"]
            base, _, tag = current.partition(":")
            if base != name:
                continue
            new_base = image.get("newName", base)
            new_tag = image.get("newTag", tag)
            container["image"] = f"{new_base}:{new_tag}" if new_tag else new_base


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devstack.deploy_render", description=__doc__)
    sub = p.add_subparsers(dest="verb")
    sub.add_parser("write", help="rewrite the generated files (the default)")
    sub.add_parser("check", help="exit 1 if a generated file differs from a fresh render")
    sub.add_parser("check-env", help="refuse placeholder secrets in the environment")
    k = sub.add_parser("kustomize", help="print a kustomization's manifests")
    k.add_argument("directory", type=Path)
    args = p.parse_args(argv)

    if args.verb == "check":
        stale = stale_files()
        for rel in stale:
            print(f"stale: {rel}", file=sys.stderr)
        if stale:
            print("run: python -m devstack.deploy_render", file=sys.stderr)
        return 1 if stale else 0
    if args.verb == "check-env":
        problems = placeholder_problems(os.environ)
        for problem in problems:
            print(f"preflight: {problem}; set a real secret in .env", file=sys.stderr)
        if not problems:
            print("preflight: secrets set")
        return 2 if problems else 0
    if args.verb == "kustomize":
        sys.stdout.write(dump_yaml(kustomize(args.directory)))
        return 0
    for rel in write_all():
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
