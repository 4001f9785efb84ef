"""The local platform's banner names the console and the demo login of each level."""

from __future__ import annotations

from pathlib import Path

from devstack.access import DEMO_LOGINS
from devstack.run import Platform, parse_args


def test_the_banner_gives_the_console_address_and_a_login_per_level(tmp_path: Path) -> None:
    platform = Platform(parse_args(["--state-dir", str(tmp_path), "--api-port", "18123"]))
    banner = platform.banner()
    assert "Console      http://127.0.0.1:18123/console" in banner
    for username, _ in DEMO_LOGINS:
        assert username in banner
