"""Fixtures for the deployment checks: the compose files, .env.example and the manifests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "deploy" / "compose"
K8S_DIR = REPO / "deploy" / "k8s"
_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?+][^}]*)?\}")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_all(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in (COMPOSE_DIR / ".env.example").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} (enough for our files)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        text = match.group(0)
        if ":-" in text and not env.get(name):
            return text.split(":-", 1)[1][:-1]
        return env.get(name, "")

    return _INTERPOLATION.sub(one, value).replace("$$", "$")


def merge(base: Any, override: Any) -> Any:
    """Compose's merge of an override file, for mappings (lists are replaced)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_DIR / "compose.yaml")


@pytest.fixture(scope="session")
def compose_emqx(compose: dict[str, Any]) -> dict[str, Any]:
    return merge(compose, load_yaml(COMPOSE_DIR / "compose.emqx.yaml"))
