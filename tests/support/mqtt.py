"""A plain paho publisher/subscriber for tests, standing in for devices and screens."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def connected_client(
    host: str,
    port: int,
    client_id: str = "",
    *,
    username: str | None = None,
    password: str | None = None,
) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    if username is not None:
        client.username_pw_set(username, password)
    ready = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: ready.set() if not rc.is_failure else None
    client.connect(host, port, keepalive=30)
    client.loop_start()
    if not ready.wait(10):
        client.loop_stop()
        raise ConnectionError(f"no CONNACK from {host}:{port}")
    return client


def publish_all(
    host: str, port: int, messages: Iterable[tuple[str, bytes | str]], *, qos: int = 1
) -> int:
    """Publish every (topic, payload) and wait until the broker has acknowledged each."""
    client = connected_client(host, port)
    try:
        infos = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=30)
            if not info.is_published():
                raise TimeoutError(f"message {info.mid} not acknowledged by the broker")
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()
