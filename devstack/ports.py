"""Free loopback ports for processes the platform or a test starts."""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path

_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now; the caller binds it soon after (a race we accept).

    Chosen below the kernel's ephemeral range: a port the kernel handed out (bind to 0) can be
    taken again as the source port of any outgoing connection — say a service connecting to
    InfluxDB — before our process binds it, and the service then fails to start.
    """
    low, _ = _ephemeral_range()
    candidates = range(10_000, low) if low > 11_000 else range(0)
    for port in random.sample(candidates, k=min(200, len(candidates))):
        if port in _handed_out:
            continue  # not bound yet by whoever asked for it first
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.05)
    return False
