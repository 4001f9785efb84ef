from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.cli import build_parser, main
from simulators.kinds import Intervals


def test_fleet_export_csv_and_json(tmp_path: Path) -> None:
    out = tmp_path / "fleet.csv"
    assert (
        main(["fleet", "--devices", "150", "--seed", "9", "--format", "csv", "--output", str(out)])
        == 0
    )
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 150
    json_out = tmp_path / "fleet.json"
    assert (
        main(
            [
                "fleet",
                "--devices",
                "150",
                "--seed",
                "9",
                "--format",
                "json",
                "--output",
                str(json_out),
            ]
        )
        == 0
    )
    devices = json.loads(json_out.read_text(encoding="utf-8"))["devices"]
    assert [d["device_id"] for d in devices] == [r["device_id"] for r in rows]


def test_fleet_summary_and_scenario_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fleet", "--devices", "500", "--mix", "streetlight=0.8"]) == 0
    summary = capsys.readouterr().out
    assert "500 devices" in summary and "villages     35" in summary
    assert main(["scenarios"]) == 0
    listing = capsys.readouterr().out
    for name in ("gas-leak", "lamp-outage", "flood-crest", "silent", "malformed", "clear"):
        assert name in listing


def test_run_options_parse() -> None:
    args = build_parser().parse_args(
        ["run", "--devices", "20000", "--speed", "60", "--start", "2026-07-15T20:00:00+08:00",
         "--interval", "streetlight=1m,water=30s", "--rate-multiplier", "2",
         "--scenario", "gas-leak:village=dongzhan", "--scenario", "flood-crest",
         "--malformed-rate", "0.01", "--duration", "2m"]
    )  # fmt: skip
    assert args.speed == 60 and args.duration == 120
    assert args.start == 1784116800.0
    assert args.scenario == ["gas-leak:village=dongzhan", "flood-crest"]
    assert Intervals().scaled(2).streetlight == 300


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--speed", "0"],
        ["run", "--malformed-rate", "1.5"],
        ["run", "--start", "teatime"],
        ["run", "--mix", "toaster=0.5"],
        ["inject", "gas-leak"],  # no --control-port
    ],
)
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2


def test_impossible_fleet_exits_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fleet", "--devices", "3"]) == 2
    assert "river station" in capsys.readouterr().err


def test_inject_without_a_running_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    from devstack.ports import free_port

    assert main(["inject", "--control-port", str(free_port()), "clear:all"]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulators", "fleet", "--devices", "40", "--format", "csv"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 41
