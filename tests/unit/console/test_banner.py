"""The local platform's banner names the console and the demo login of each level."""

from __future__ import annotations

import shlex
from pathlib import Path

from devstack.access import DEMO_LOGINS
from devstack.run import Platform, parse_args
from simulators.cli import build_parser
from simulators.scenarios import SCENARIOS, parse_spec


def test_the_banner_gives_the_console_address_and_a_login_per_level(tmp_path: Path) -> None:
    platform = Platform(parse_args(["--state-dir", str(tmp_path), "--api-port", "18123"]))
    banner = platform.banner()
    assert "Console      http://127.0.0.1:18123/console" in banner
    for username, _ in DEMO_LOGINS:
        assert username in banner


def test_the_banners_inject_command_is_one_the_simulator_takes(tmp_path: Path) -> None:
    platform = Platform(parse_args(["--state-dir", str(tmp_path), "--sim-control-port", "18999"]))
    line = next(x for x in platform.banner().splitlines() if "simulators inject" in x)
    argv = shlex.split(line.split("python -m simulators ", 1)[1])
    args = build_parser().parse_args(argv)
    assert args.control_port == 18999
    for spec in args.specs:
        assert parse_spec(spec).name in SCENARIOS
