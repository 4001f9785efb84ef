"""With .env.example as it ships, nothing starts: each service refuses its placeholders.

Our services check their own settings (api, ingest, alerting: ``TIANQU_*_ENVIRONMENT=production``
plus a placeholder is a ValidationError); InfluxDB, Grafana and EMQX do not, so the stack's
``preflight`` service (``python -m devstack.deploy_render check-env``) and influxdb-init's own
check refuse them before those start. Each check is run here on the compose file's own
environment blocks, interpolated from .env.example as compose would.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from alerting.settings import AlertingSettings
from api.core.config import Settings as ApiSettings
from api.notify.settings import NotifySettings
from devstack.deploy_render import SECRET_VARS, placeholder_problems
from ingest.settings import IngestSettings
from tests.deploy.conftest import COMPOSE_DIR, REPO, env_example, interpolate

SETTINGS = {"api": ApiSettings, "ingest-1": IngestSettings, "alerting": AlertingSettings}


def service_env(compose: dict[str, Any], service: str, dot_env: dict[str, str]) -> dict[str, str]:
    """The service's environment as the container sees it after the image's entrypoint
    (``*_FROM_FILE`` variables become the variable itself: here a real, random secret)."""
    env = {}
    for key, value in compose["services"][service]["environment"].items():
        if key.endswith("_FROM_FILE"):
            env[key.removesuffix("_FROM_FILE")] = secrets.token_urlsafe(24)
        else:
            env[key] = interpolate(str(value), dot_env)
    return env


def real_secrets(dot_env: dict[str, str]) -> dict[str, str]:
    return {k: (secrets.token_urlsafe(40) if v == "change-me" else v) for k, v in dot_env.items()}


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith("TIANQU_"):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_service_refuses_the_shipped_placeholders(
    service: str, compose: dict[str, Any], clean_environ: pytest.MonkeyPatch
) -> None:
    for key, value in service_env(compose, service, env_example()).items():
        clean_environ.setenv(key, value)
    with pytest.raises(ValidationError, match="placeholder"):
        SETTINGS[service]()


PREFIXES = {"api": "TIANQU_API_", "ingest-1": "TIANQU_INGEST_", "alerting": "TIANQU_ALERTING_"}


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_service_starts_with_real_secrets(
    service: str, compose: dict[str, Any], clean_environ: pytest.MonkeyPatch
) -> None:
    """The same environment with real secrets is accepted, so the refusal above is the
    placeholder's; and every variable compose sets is a setting the service has (pydantic
    settings would silently ignore a misspelt one)."""
    env = service_env(compose, service, real_secrets(env_example()))
    for key, value in env.items():
        clean_environ.setenv(key, value)
    settings = SETTINGS[service]()
    assert settings.environment == "production"
    fields = set(type(settings).model_fields)
    for key in env:
        assert key.removeprefix(PREFIXES[service]).lower() in fields, f"{service}: {key}"


@pytest.mark.parametrize("settings_class", [*SETTINGS.values(), NotifySettings])
def test_no_setting_is_named_like_a_secret_file(settings_class: type) -> None:
    """The image's entrypoint reads TIANQU_<NAME>_FROM_FILE into TIANQU_<NAME>: no setting
    may itself end in _from_file, or it would be consumed."""
    assert not [f for f in settings_class.model_fields if f.endswith("_from_file")]


def test_preflight_refuses_every_placeholder_in_env_example() -> None:
    problems = placeholder_problems(env_example())
    flagged = {p.split()[0] for p in problems}
    assert flagged == set(SECRET_VARS)


def test_preflight_command_exit_codes(compose_emqx: dict[str, Any]) -> None:
    preflight = compose_emqx["services"]["preflight"]
    assert set(preflight["environment"]) == set(SECRET_VARS)
    argv = [sys.executable, "-m", "devstack.deploy_render", "check-env"]
    shipped = {k: interpolate(v, env_example()) for k, v in preflight["environment"].items()}
    bad = subprocess.run(
        argv, env={**os.environ, **shipped}, capture_output=True, text=True, cwd=REPO, check=False
    )
    assert bad.returncode == 2
    assert "INFLUX_ADMIN_TOKEN is a placeholder" in bad.stderr
    good = {
        k: interpolate(v, real_secrets(env_example())) for k, v in preflight["environment"].items()
    }
    ok = subprocess.run(
        argv, env={**os.environ, **good}, capture_output=True, text=True, cwd=REPO, check=False
    )
    assert ok.returncode == 0, ok.stderr


def test_short_secrets_are_refused() -> None:
    assert placeholder_problems({"TIANQU_API_SECRET_KEY": "x" * 31}) == [
        "TIANQU_API_SECRET_KEY is shorter than 32 characters"
    ]
    assert placeholder_problems({"GRAFANA_ADMIN_PASSWORD": "Admin"}) == [
        "GRAFANA_ADMIN_PASSWORD is a placeholder"
    ]


def test_influxdb_init_refuses_placeholders_before_touching_influxdb() -> None:
    env = {"PATH": "/usr/bin:/bin", "TIANQU_INGEST_PASSWORD": "change-me",
           "TIANQU_READ_PASSWORD": secrets.token_urlsafe(24)}  # fmt: skip
    result = subprocess.run(
        ["bash", str(COMPOSE_DIR / "influxdb/init.sh")],
        env=env, capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "TIANQU_INGEST_PASSWORD is a placeholder" in result.stderr
