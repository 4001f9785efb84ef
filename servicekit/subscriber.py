"""A persistent QoS 1 subscription: paho-mqtt 2.x driven by the asyncio loop, acknowledged by hand.

At-least-once needs three things from the session: a fixed client id, a persistent session
(MQTT 5 ``clean_start=False`` plus a session expiry), and QoS 1 with ``manual_ack=True`` so that
paho sends PUBACK only when :meth:`Subscriber.ack` is called — after the service has stored
what the message means. ``receive_maximum`` bounds how many unacknowledged messages the broker
may push, which is what bounds a service's memory when what it stores into is slow or down.

paho runs without a thread of its own: its socket is registered with the event loop (paho's
documented external-loop callbacks), so decoding, batching and acknowledging share one thread
and need no locks. The blocking TCP connect alone runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from prometheus_client import CollectorRegistry, Counter, Gauge

from servicekit.aio import first_of, sleep_unless
from servicekit.backoff import Backoff
from servicekit.mqttclient import FastClient

log = logging.getLogger(__name__)

OnMessage = Callable[
    [int, int, int, str, bytes | bytearray], None
]  # generation, mid, qos, topic, payload
MISC_INTERVAL_S = 1.0  # paho's keepalive bookkeeping wants a call about once a second


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
    receive_maximum: int = 10_000
    session_expiry_s: int = 7 * 86_400
    connect_timeout_s: float = 5.0


class SubscriberMetrics:
    """The subscription's own metrics, named ``<prefix>_mqtt_…`` in the service's registry."""

    def __init__(self, registry: CollectorRegistry, prefix: str) -> None:
        self.reconnects = Counter(
            f"{prefix}_mqtt_reconnects", "MQTT connections after the first", registry=registry
        )
        self.connected = Gauge(
            f"{prefix}_mqtt_connected", "1 while connected to the broker", registry=registry
        )
        self.throttled = Counter(
            f"{prefix}_read_throttled",
            "times reading paused because the unacknowledged window was full",
            registry=registry,
        )


class Subscriber:
    def __init__(
        self, options: MqttOptions, on_message: OnMessage, metrics: SubscriberMetrics
    ) -> None:
        self.options = options
        self._on_message = on_message
        self._metrics = metrics
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._client = self._make_client()
        self.generation = 0
        self.connected = False
        self.received = 0
        self._unacked = 0  # deliveries of the current connection not yet acknowledged
        self._throttled = False
        self._paused = False
        self._connections = 0
        self._lost = asyncio.Event()
        self._subscribed = asyncio.Event()

    def _make_client(self) -> FastClient:
        o = self.options
        client = FastClient(
            CallbackAPIVersion.VERSION2,
            client_id=o.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
            on_delivery=self._handle_delivery,
        )
        if o.username is not None:
            client.username_pw_set(o.username, o.password)
        if o.ca_file:
            client.tls_set(ca_certs=o.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.connect_timeout = o.connect_timeout_s
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_subscribe = self._handle_subscribe
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        return client

    # -- paho's socket callbacks: may fire on the connect worker thread, so hop to the loop.
    def _on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        assert self._loop is not None
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _socket_open(self, client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        self._on_loop(self._add_reader, sock)

    def _add_reader(self, sock: Any) -> None:
        assert self._loop is not None
        self._client.reset_buffer()
        self._unacked = 0
        self._throttled = False
        if not self._paused:
            self._loop.add_reader(sock, self._read)

    def _read(self) -> None:
        # loop_read parses every complete packet of one large read. Over TLS, records already
        # decrypted and waiting in the SSL object will not wake the selector: drain them too.
        client = self._client
        while True:
            rc = client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._paused:
                return
            if self._unacked >= self.options.receive_maximum:
                self._throttle()
                return
            sock = client.socket()
            if sock is None or not getattr(sock, "pending", lambda: 0)():
                return

    def _throttle(self) -> None:
        # The broker should stop at our receive maximum, but mosquitto 2.0 overshoots it by
        # thousands once acknowledgements flow in bursts (measured: 1,500 unacknowledged with a
        # maximum of 100). So the bound is enforced here: stop reading the socket, and TCP
        # holds the broker back, until half of the window is acknowledged.
        sock = self._client.socket()
        if sock is not None and self._loop is not None:
            self._loop.remove_reader(sock)
            self._throttled = True
            self._metrics.throttled.inc()

    def _maybe_resume(self) -> None:
        if not self._throttled or self._unacked >= self.options.receive_maximum // 2:
            return
        sock = self._client.socket()
        self._throttled = False
        if sock is not None and self._loop is not None and not self._paused:
            self._loop.add_reader(sock, self._read)
            self._loop.call_soon(self._read)  # bytes already buffered will not wake the selector

    def _socket_close(self, client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        self._on_loop(self._remove, sock)

    def _remove(self, sock: Any) -> None:
        assert self._loop is not None
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)

    def _register_write(self, client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        self._on_loop(self._add_writer, sock)

    def _add_writer(self, sock: Any) -> None:
        assert self._loop is not None
        self._loop.add_writer(sock, self._client.loop_write)

    def _unregister_write(self, client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        self._on_loop(self._remove_writer, sock)

    def _remove_writer(self, sock: Any) -> None:
        assert self._loop is not None
        self._loop.remove_writer(sock)

    # -- protocol callbacks (always on the loop thread: they run inside loop_read)
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
        self._metrics.connected.set(1)
        log.info(
            "connected to %s:%d as %s (session present: %s)",
            self.options.host,
            self.options.port,
            self.options.client_id,
            flags.session_present,
        )
        # Retain handling 1: retained status messages are replayed only for a new subscription,
        # not on every reconnect of the persistent session.
        client.subscribe(self.options.topic, options=SubscribeOptions(qos=1, retainHandling=1))

    def _handle_subscribe(
        self, client: mqtt.Client, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("subscription to %s refused: %s", self.options.topic, reasons)
            return
        self._subscribed.set()

    def _handle_disconnect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if self.connected:
            log.warning("disconnected from the broker: %s", reason)
        self.connected = False
        self._subscribed.clear()
        self._metrics.connected.set(0)
        self._lost.set()

    def _handle_delivery(self, mid: int, qos: int, topic: str, payload: bytes | bytearray) -> None:
        self.received += 1
        if qos:
            self._unacked += 1
        self._on_message(self.generation, mid, qos, topic, payload)

    # -- public
    def ack(self, deliveries: Iterable[tuple[int, int]]) -> int:
        """Acknowledge, in arrival order, the deliveries of the *current* connection.

        A packet id names a message only on the connection that carried it: after a reconnect the
        broker redelivers unacknowledged messages and reuses ids, so acknowledging an old id
        could acknowledge a different, not yet stored message. Old deliveries are skipped; their
        redelivered copies are acknowledged when they are stored.
        """
        current = self.generation
        if not self.connected:
            return 0
        mids = [mid for generation, mid in deliveries if generation == current]
        self._client.ack_many(mids)
        self._unacked -= len(mids)
        self._maybe_resume()
        return len(mids)

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    def unacknowledged(self) -> int:
        """Deliveries of the current connection not yet acknowledged."""
        return self._unacked

    def pause(self) -> None:
        """Stop reading new messages; acknowledgements still go out (shutdown drain)."""
        self._paused = True
        sock = self._client.socket()
        if sock is not None and self._loop is not None:
            self._loop.remove_reader(sock)

    async def wait_subscribed(self, within_s: float) -> bool:
        try:
            await asyncio.wait_for(self._subscribed.wait(), within_s)
        except TimeoutError:
            return False
        return True

    async def run(self, stopping: asyncio.Event) -> None:
        """Connect, and reconnect with backoff, until ``stopping``; then disconnect cleanly."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        misc = asyncio.create_task(self._misc(stopping))
        backoff = Backoff(base_s=0.5, cap_s=15.0)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.options.session_expiry_s
        properties.ReceiveMaximum = self.options.receive_maximum
        try:
            while not stopping.is_set():
                self._lost.clear()
                established_before = self._connections
                try:
                    await asyncio.to_thread(
                        self._client.connect,
                        self.options.host,
                        self.options.port,
                        self.options.keepalive_s,
                        clean_start=False,
                        properties=properties,
                    )
                except (OSError, ssl.SSLError) as exc:
                    log.warning(
                        "cannot reach the broker at %s:%d: %s",
                        self.options.host,
                        self.options.port,
                        exc,
                    )
                    await sleep_unless(stopping, backoff.next_delay())
                    continue
                await first_of(stopping, self._lost)
                if self._connections > established_before:
                    backoff.reset()  # it was up for a while: the first retry comes quickly
                if not stopping.is_set():
                    await sleep_unless(stopping, backoff.next_delay())
        finally:
            misc.cancel()

    async def close(self, flush_timeout: float = 5.0) -> None:
        """Send what paho still holds (acknowledgements), then DISCONNECT, keeping the session."""
        await self._drain_output(flush_timeout)
        if self.connected:
            self._client.disconnect()
            await self._drain_output(flush_timeout)
        sock = self._client.socket()
        if sock is not None:
            self._remove(sock)

    async def _drain_output(self, within_s: float) -> None:
        # paho signals no "output drained" event, so its buffer is polled briefly.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self._client.want_write() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    async def _misc(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            rc = self._client.loop_misc()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                log.debug("loop_misc: %s", rc)
            await asyncio.sleep(MISC_INTERVAL_S)
