"""The evaluator's own MQTT subscription: stock paho-mqtt 2.x on its network thread.

At-least-once, as in the ingester, but simpler, since the evaluator's rate is the city's
(thousands of messages a second at most), not a burst benchmark: a fixed client id of its
own, MQTT 5 with ``clean_start=False`` and a session expiry (the broker queues for it while it
is away), QoS 1 with ``manual_ack=True`` (the PUBACK leaves only when :meth:`ack` is called,
after the events the message produced are in the outbox), and a receive maximum that bounds
the unacknowledged messages in flight.

Messages arrive on paho's thread and are handed to the asyncio loop; acknowledgements are
queued from the loop (paho's ``ack`` takes its own lock) in arrival order. A packet id names a
message only on the connection that carried it, so each delivery carries the connection's
generation and only deliveries of the current connection are acknowledged: after a reconnect
the broker redelivers the others.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from alerting.metrics import AlertingMetrics

log = logging.getLogger(__name__)

RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 15

# generation, mid, qos, topic, payload, arrival (time.monotonic)
OnMessage = Callable[[int, int, int, str, bytes | bytearray, float], None]


@dataclass(frozen=True, slots=True)
class MqttOptions:
    host: str
    port: int
    client_id: str
    topic: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    keepalive_s: int = 30
    receive_maximum: int = 2000
    session_expiry_s: int = 7 * 86_400


class MqttSource:
    def __init__(
        self, options: MqttOptions, on_message: OnMessage, metrics: AlertingMetrics
    ) -> None:
        self.options = options
        self._on_message = on_message
        self._metrics = metrics
        self.generation = 0
        self.connected = False
        self.subscribed = threading.Event()
        self._connections = 0
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        o = self.options
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=o.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if o.username is not None:
            client.username_pw_set(o.username, o.password)
        if o.ca_file:
            client.tls_set(ca_certs=o.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_subscribe = self._handle_subscribe
        client.on_message = self._handle_message
        return client

    def _handle_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self.generation += 1
        self._connections += 1
        if self._connections > 1:
            self._metrics.reconnects.inc()
        self.connected = True
        self._metrics.mqtt_connected.set(1)
        log.info(
            "connected to %s:%d as %s (session present: %s)",
            self.options.host,
            self.options.port,
            self.options.client_id,
            flags.session_present,
        )
        # Retain handling 1: the retained births come once, when the subscription is new; the
        # evaluator keeps the devices it learnt from them in its own database.
        client.subscribe(self.options.topic, options=SubscribeOptions(qos=1, retainHandling=1))

    def _handle_subscribe(
        self, client: mqtt.Client, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("subscription to %s refused: %s", self.options.topic, reasons)
            return
        self.subscribed.set()

    def _handle_disconnect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if self.connected:
            log.warning("disconnected from the broker: %s", reason)
        self.connected = False
        self.subscribed.clear()
        self._metrics.mqtt_connected.set(0)

    def _handle_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._metrics.received.inc()
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = message._topic.decode("utf-8", "replace")  # paho keeps the raw bytes
        self._on_message(
            self.generation, message.mid, message.qos, topic, message.payload, time.monotonic()
        )

    def start(self) -> None:
        o = self.options
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = o.session_expiry_s
        properties.ReceiveMaximum = o.receive_maximum
        self._client.connect_async(
            o.host, o.port, o.keepalive_s, clean_start=False, properties=properties
        )
        self._client.loop_start()

    def ack(self, deliveries: Iterable[tuple[int, int, int]]) -> int:
        """Acknowledge (generation, mid, qos) deliveries of the current connection, in order."""
        current = self.generation
        if not self.connected:
            return 0
        done = 0
        for generation, mid, qos in deliveries:
            if qos and generation == current:
                self._client.ack(mid, qos)
                done += 1
        return done

    def stop(self) -> None:
        """DISCONNECT (after the acknowledgements already queued), keeping the session."""
        if self.connected:
            self._client.disconnect()
        self._client.loop_stop()
