from __future__ import annotations

import socket

from devstack.ports import _ephemeral_range, free_port


def test_free_ports_are_distinct_bindable_and_outside_the_ephemeral_range() -> None:
    low, _ = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(port < low for port in ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", ports[-1]))


def test_a_listening_port_is_never_handed_out() -> None:
    listeners = []
    try:
        for _ in range(20):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", free_port()))
            sock.listen()
            listeners.append(sock)
        taken = {s.getsockname()[1] for s in listeners}
        assert not taken & {free_port() for _ in range(200)}
    finally:
        for sock in listeners:
            sock.close()
