"""MQTT 5 clients for the ACL tests: connect results, PUBACK/SUBACK reason codes, a collector.

MQTT 5 lets the broker say *why*: a publish the ACL denies is acknowledged with reason code
0x87 (not authorised), a denied subscription likewise. The tests check both that reason and
that nothing reached a subscriber, using an allowed "marker" message sent afterwards by the same
client: when the marker arrives, anything sent before it on that connection would have, too.
"""

from __future__ import annotations

import ssl
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

NOT_AUTHORISED = 0x87
# PUBACK reason codes that mean "taken": success, and success with nobody subscribed.
ACCEPTED = (0x00, 0x10)


@dataclass
class Tls:
    ca: str
    cert: str | None = None
    key: str | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca)
        if self.cert is not None:
            context.load_cert_chain(self.cert, self.key)
        return context


@dataclass
class Session:
    client: mqtt.Client
    connack: int | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    acks: dict[int, int] = field(default_factory=dict)  # mid → reason code
    acked: threading.Condition = field(default_factory=threading.Condition)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    granted: list[int] = field(default_factory=list)
    subscribed: threading.Event = field(default_factory=threading.Event)

    def publish(self, topic: str, payload: bytes | str, timeout: float = 10) -> int:
        """Publish at QoS 1 and return the PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        with self.acked:
            if not self.acked.wait_for(lambda: info.mid in self.acks, timeout):
                raise TimeoutError(f"no PUBACK for {topic}")
            return self.acks[info.mid]

    def subscribe(self, topic: str, timeout: float = 10) -> int:
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1)
        if not self.subscribed.wait(timeout):
            raise TimeoutError(f"no SUBACK for {topic}")
        return self.granted[-1]

    def wait_for(self, topic: str, payload: bytes, timeout: float = 10) -> list[tuple[str, bytes]]:
        """Block until (topic, payload) arrives; return everything received until then."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: (topic, payload) in self.received, timeout):
                raise TimeoutError(f"{topic} {payload!r} never arrived; got {self.received}")
            return list(self.received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(
    host: str,
    port: int,
    username: str | None = None,
    password: str | None = None,
    *,
    tls: Tls | None = None,
    client_id: str | None = None,
    timeout: float = 10,
) -> Session:
    """Connect and wait for the CONNACK; ``session.connack`` is its reason code (0 = accepted)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"t-{uuid.uuid4().hex[:10]}",
        protocol=MQTTProtocolVersion.MQTTv5,
        reconnect_on_failure=False,
    )
    session = Session(client)
    if username is not None:
        client.username_pw_set(username, password)
    if tls is not None:
        client.tls_set_context(tls.context())

    def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        session.connack = reason.value
        session.connected.set()

    def on_publish(c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
        with session.acked:
            session.acks[mid] = reason.value
            session.acked.notify_all()

    def on_message(c: Any, u: Any, message: mqtt.MQTTMessage) -> None:
        with session.arrived:
            session.received.append((message.topic, message.payload))
            session.arrived.notify_all()

    def on_subscribe(c: Any, u: Any, mid: int, reasons: Any, props: Any) -> None:
        session.granted.extend(r.value for r in reasons)
        session.subscribed.set()

    def on_disconnect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        if session.connack is None:
            session.connack = reason.value
            session.connected.set()

    client.on_connect = on_connect
    client.on_publish = on_publish
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.on_disconnect = on_disconnect
    client.connect(host, port, keepalive=30)
    client.loop_start()
    if not session.connected.wait(timeout):
        client.loop_stop()
        raise TimeoutError(f"no CONNACK from {host}:{port}")
    return session


def refused(host: str, port: int, username: str | None, password: str | None, **kw: Any) -> bool:
    """Whether the broker refuses this login (a non-zero CONNACK or a dropped TLS handshake)."""
    try:
        session = connect(host, port, username, password, **kw)
    except (OSError, ssl.SSLError):
        return True
    session.close()
    return session.connack != 0
