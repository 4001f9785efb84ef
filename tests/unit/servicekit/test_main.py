from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic_settings import SettingsConfigDict

from city.rules import RulesError
from servicekit.main import run_service
from servicekit.settings import SubscriberSettings


class _Probe(SubscriberSettings):
    model_config = SettingsConfigDict(env_prefix="TIANQU_PROBE_", extra="forbid")
    mqtt_client_id: str = "probe"


async def _stopped_cleanly(_: _Probe) -> None:
    return None


async def _task_failed(_: _Probe) -> bool:
    return False


async def _bad_rules(_: _Probe) -> None:
    raise RulesError("rules.yaml", ["rules[3] ch4-high: condition: field required"])


def test_exit_codes_say_how_the_service_ended(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_service("probe", _Probe, _stopped_cleanly) == 0
    assert run_service("probe", _Probe, _task_failed) == 1
    assert run_service("probe", _Probe, _bad_rules) == 2
    assert "probe: invalid rules in rules.yaml:\n  - rules[3] ch4-high" in capsys.readouterr().err
    monkeypatch.setenv("TIANQU_PROBE_MQTT_PORT", "not-a-port")
    prepared: list[_Probe] = []
    assert run_service("probe", _Probe, _stopped_cleanly, prepared.append) == 2
    assert prepared == []  # refused before anything ran
    assert "probe: invalid settings" in capsys.readouterr().err


@pytest.mark.parametrize("service", ["ingest", "alerting"])
def test_a_service_refuses_a_roster_that_does_not_validate(service: str, tmp_path: Path) -> None:
    roster = tmp_path / "city.yaml"
    roster.write_text("townships: not-a-list\n")
    prefix = f"TIANQU_{service.upper()}_"
    env = {**os.environ, f"{prefix}CITY_FILE": str(roster), f"{prefix}STATE_DIR": str(tmp_path),
           f"{prefix}HEALTH_PORT": "0"}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", service], env=env, capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"{service}: invalid city model in {roster}" in result.stderr
