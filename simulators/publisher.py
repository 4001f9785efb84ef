"""MQTT publishing at QoS 1 for thousands of devices from one asyncio event loop.

Two ways to reach the broker:

``device`` mode
    every device has its own connection (client id = device id, a retained last will
    ``online:false`` on its status topic, a retained birth ``online:true`` on connect, its own
    credentials when given). This is what a fleet of NB-IoT/4G devices looks like to a broker.
    The process's open-file limit (20,000 here) caps it below 50,000 devices.

``gateway`` mode
    devices are multiplexed over a small pool of connections, as a LoRaWAN/NB-IoT network server
    publishes on behalf of its devices; each gateway publishes the births of its devices.

Each connection is a paho client driven by the event loop through paho's external-loop hooks
(``on_socket_open/close/register_write/unregister_write`` + ``loop_read/loop_write/loop_misc``)
instead of a thread per client. A connection that drops is retried with jittered exponential
backoff, so a broker restart or a storm of reconnecting devices never crashes the simulator.
Messages produced while a connection is down wait in a bounded queue and go out, in order,
after the birth once it is back; paho resends what was in flight without an acknowledgement.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from simulators.credentials import Credentials
from simulators.engine import OFFLINE_PAYLOAD, Outgoing, status_topic
from simulators.fleet import Placement

log = logging.getLogger(__name__)

QOS = 1
RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0
CONNECT_TIMEOUT_S = 5.0
KEEPALIVE_S = 60
# A device queues a few heartbeats' worth while offline; a gateway, a large backlog.
DEVICE_HOLD_LIMIT = 1000
GATEWAY_HOLD_LIMIT = 200_000
# Unacknowledged messages per connection. The window is ours, not paho's: paho rescans its whole
# in-flight table for every PUBACK once its own limit is reached, which stalls a busy gateway,
# and it ignores the broker's MQTT 5 Receive Maximum, which we honour.
DEVICE_INFLIGHT = 20
GATEWAY_INFLIGHT = 1000

Message = tuple[str, bytes, bool]  # topic, payload, retain


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    keepalive: int = KEEPALIVE_S
    tls: ssl.SSLContext | None = None

    @classmethod
    def create(cls, host: str, port: int, cafile: str | None = None) -> BrokerSettings:
        # One shared context: loading a CA file once per client would cost seconds per thousand.
        context = ssl.create_default_context(cafile=cafile) if cafile else None
        return cls(host=host, port=port, tls=context)


@dataclass
class PublishStats:
    sent: int = 0  # handed to the MQTT client
    acked: int = 0  # PUBACK received
    rejected: int = 0  # PUBACK with a failure reason (e.g. not authorised by the ACL)
    dropped: int = 0  # a full offline queue refused it
    births: int = 0
    connects: int = 0
    connection_losses: int = 0
    refused: int = 0  # CONNACK refused (bad credentials, banned client id)
    connected: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # why connections failed, counted

    def note_failure(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


class BrokerGate:
    """Is the broker answering? One asynchronous TCP probe answers for every connection for a
    second. paho connects with a blocking socket call, which on a broker that does not answer
    would freeze the event loop every connection shares; behind the gate it only runs when the
    broker has just accepted a connection."""

    def __init__(self, broker: BrokerSettings, fresh_for_s: float = 1.0) -> None:
        self._broker = broker
        self._fresh_for_s = fresh_for_s
        self._checked_at = -math.inf
        self._open = False
        self._probe: asyncio.Task[bool] | None = None

    async def is_open(self) -> bool:
        loop = asyncio.get_running_loop()
        if loop.time() - self._checked_at < self._fresh_for_s:
            return self._open
        if self._probe is None or self._probe.done():
            self._probe = loop.create_task(self._check())
        return await asyncio.shield(self._probe)

    async def _check(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self._broker.host, self._broker.port), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            self._open = False
        else:
            writer.close()
            self._open = True
        self._checked_at = asyncio.get_running_loop().time()
        return self._open


class Link:
    """One MQTT connection, run by the asyncio loop, that keeps itself connected while wanted."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: str,
        broker: BrokerSettings,
        stats: PublishStats,
        gate: BrokerGate,
        *,
        login: tuple[str, str] | None = None,
        will: tuple[str, bytes] | None = None,
        on_connected: Callable[[Link], Sequence[Message]] | None = None,
        max_inflight: int = DEVICE_INFLIGHT,
        hold_limit: int = DEVICE_HOLD_LIMIT,
    ) -> None:
        self.client_id = client_id
        self._loop = loop
        self._broker = broker
        self._stats = stats
        self._on_connected = on_connected
        self._hold_limit = hold_limit
        self._held: deque[Message] = deque()
        self._gate = gate
        self._retry: asyncio.TimerHandle | None = None
        self._attempt_task: asyncio.Task[None] | None = None
        self._window = max_inflight
        self._max_inflight = max_inflight
        self._pump_scheduled = False
        self._refusal_told = False
        self._delay = RECONNECT_MIN_S
        self._closed = asyncio.Event()
        self._closed.set()
        self.wanted = False
        self.connected = False
        self.unacked = 0

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,  # we retry ourselves, with backoff, on the event loop
        )
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.on_publish = self._acked
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.max_inflight_messages_set(0)  # unlimited in paho: the window is enforced here
        if login is not None:
            client.username_pw_set(*login)
        if will is not None:
            client.will_set(will[0], will[1], qos=QOS, retain=True)
        if broker.tls is not None:
            client.tls_set_context(broker.tls)
        self.client = client

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Connect now and stay connected (reconnecting with backoff) until :meth:`stop`."""
        if self.wanted:
            return
        self.wanted = True
        self._closed.clear()
        self.client.connect_async(self._broker.host, self._broker.port, self._broker.keepalive)
        self._spawn_attempt()

    def stop(self, *, with_will: bool) -> None:
        """Disconnect; ``with_will`` asks the broker to publish the last will (MQTT 5 code 4),
        which is how a device that falls silent or shuts down marks itself offline."""
        self.wanted = False
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self.client.socket() is None:
            self._mark_down()
            self._closed.set()
            return
        reason = ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
        self.client.disconnect(reasoncode=reason if with_will else None)

    async def wait_closed(self, within_s: float) -> bool:
        try:
            await asyncio.wait_for(self._closed.wait(), within_s)
        except TimeoutError:
            return False
        return True

    def abandon(self) -> None:
        """Close the socket without a word (the last resort at exit)."""
        self.wanted = False
        sock = self.client.socket()
        if sock is not None:
            self._socket_close(self.client, None, sock)
            # paho would call back into a loop that is about to close when it drops the socket.
            self.client.on_socket_close = None
            self.client.on_socket_unregister_write = None
            sock.close()
        self._mark_down()
        self._closed.set()

    def _spawn_attempt(self) -> None:
        self._retry = None
        self._attempt_task = self._loop.create_task(self._attempt())

    async def _attempt(self) -> None:
        if not self.wanted:
            return
        if not await self._gate.is_open():
            self._stats.note_failure("broker unreachable")
            self._schedule_retry()
            return
        if not self.wanted or self.client.socket() is not None:
            return  # stopped, or connected by another attempt, while the gate was asked
        try:
            self.client.reconnect()
        except (OSError, ssl.SSLError, ValueError) as exc:
            # Refused, unreachable, TLS failure: the broker is down or restarting.
            log.debug("connecting %s failed: %s", self.client_id, exc)
            self._stats.note_failure(type(exc).__name__)
            self._schedule_retry()

    def _schedule_retry(self) -> None:
        if not self.wanted or self._retry is not None:
            return
        # Full jitter: thousands of devices that lost the broker together come back spread out.
        delay = random.uniform(0.2, 1.0) * self._delay
        self._delay = min(RECONNECT_MAX_S, self._delay * 2)
        self._retry = self._loop.call_later(delay, self._spawn_attempt)

    # --- paho's external-loop hooks --------------------------------------------------------
    def _socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.add_reader(sock, self._readable)

    def _socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)

    def _register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.add_writer(sock, self._writable)

    def _unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_writer(sock)

    def _readable(self) -> None:
        self.client.loop_read()

    def _writable(self) -> None:
        self.client.loop_write()

    def housekeeping(self) -> None:
        """Keepalive pings and dead-connection detection; call about once a second."""
        if self.client.socket() is not None:
            self.client.loop_misc()

    # --- MQTT events -----------------------------------------------------------------------
    def _connected(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._stats.refused += 1
            self._stats.note_failure(f"connack: {reason}")
            if not self._refusal_told:  # once per client until it gets in, not at every retry
                log.warning("broker refused %s: %s", self.client_id, reason)
                self._refusal_told = True
            return  # paho closes the socket next; _disconnected schedules the retry
        self._refusal_told = False
        self.connected = True
        self._delay = RECONNECT_MIN_S
        self._stats.connects += 1
        self._stats.connected += 1
        receive_maximum = getattr(properties, "ReceiveMaximum", None)
        self._window = min(self._max_inflight, receive_maximum or self._max_inflight)
        # The birth goes first; paho resends what was in flight right after this callback.
        first = list(self._on_connected(self)) if self._on_connected else []
        self._held.extendleft(reversed(first))
        self._pump_soon()

    def _disconnected(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.connected and self.wanted:
            self._stats.connection_losses += 1
        self._mark_down()
        if self.wanted:
            self._schedule_retry()
        else:
            self._closed.set()

    def _mark_down(self) -> None:
        if self.connected:
            self._stats.connected -= 1
        self.connected = False

    def _acked(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties,
    ) -> None:
        self.unacked -= 1
        self._stats.acked += 1
        if reason.is_failure:
            self._stats.rejected += 1
        self._pump_soon()

    # --- publishing ------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Messages not yet acknowledged by the broker: held back plus in flight."""
        return len(self._held) + self.unacked

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        """Queue one QoS 1 message; False if the offline queue is full and it was dropped."""
        if len(self._held) >= self._hold_limit:
            self._stats.dropped += 1
            return False
        self._held.append((topic, payload, retain))
        self._pump()
        return True

    def _pump(self) -> None:
        """Hand held messages to paho while the window has room and the connection is up."""
        self._pump_scheduled = False
        while self._held and self.connected and self.unacked < self._window:
            topic, payload, retain = self._held.popleft()
            info = self.client.publish(topic, payload, qos=QOS, retain=retain)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                self._stats.dropped += 1
                continue
            # NO_CONN: paho keeps the message and sends it after the next CONNACK.
            self.unacked += 1
            self._stats.sent += 1

    def _pump_soon(self) -> None:
        """From inside paho's callbacks: pump once the callback has returned."""
        if self._held and not self._pump_scheduled:
            self._pump_scheduled = True
            self._loop.call_soon(self._pump)


class Publisher(Protocol):
    stats: PublishStats

    @property
    def links(self) -> Sequence[Link]: ...

    async def start(self) -> None: ...

    def send(self, message: Outgoing) -> None: ...

    def set_online(self, device_id: str, online: bool) -> None: ...

    def housekeeping(self) -> None: ...

    def pending(self) -> int: ...

    async def stop(self, within_s: float) -> None: ...


class _LinkPool:
    """What both modes share: a set of links, ramped up, kept alive, drained at the end."""

    stats: PublishStats
    _links: list[Link]

    @property
    def links(self) -> Sequence[Link]:
        return self._links

    def housekeeping(self) -> None:
        for link in self._links:
            link.housekeeping()

    def pending(self) -> int:
        return sum(link.pending for link in self._links)

    async def _ramp(self, links: Iterable[Link], per_second: float) -> None:
        """Open connections gradually: a broker takes a flood of CONNECTs badly."""
        batch = max(1, math.ceil(per_second / 20))
        for i, link in enumerate(links):
            link.start()
            if (i + 1) % batch == 0:
                await asyncio.sleep(batch / per_second)

    async def _drain(self, within_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        # Acks arrive on many links at once; polling their sum is simpler than an event each.
        while loop.time() < deadline and any(k.connected and k.pending for k in self._links):  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    async def _close(self, within_s: float, *, with_will: bool) -> None:
        for link in self._links:
            link.stop(with_will=with_will)
        results = await asyncio.gather(*(link.wait_closed(within_s) for link in self._links))
        for link, closed in zip(self._links, results, strict=True):
            if not closed:
                link.abandon()


class DevicePublisher(_LinkPool):
    """One connection per device, with the device's will and birth."""

    def __init__(
        self,
        placements: Sequence[Placement],
        broker: BrokerSettings,
        birth: Callable[[Placement], bytes],
        *,
        credentials: Credentials | None = None,
        ramp_per_s: float = 200.0,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.stats = PublishStats()
        self._ramp_per_s = ramp_per_s
        self._by_device: dict[str, Link] = {}
        self._links = []
        missing = [
            p.device_id
            for p in placements
            if credentials and not credentials.for_device(p.device_id)
        ]
        if credentials is not None and missing:
            raise ValueError(
                f"credentials have no entry for {len(missing)} device(s), "
                f"e.g. {', '.join(missing[:3])}"
            )
        gate = BrokerGate(broker)
        for placement in placements:

            def announce(link: Link, placement: Placement = placement) -> list[Message]:
                self.stats.births += 1
                return [(status_topic(placement), birth(placement), True)]

            link = Link(
                loop,
                placement.device_id,
                broker,
                self.stats,
                gate,
                login=credentials.for_device(placement.device_id) if credentials else None,
                will=(status_topic(placement), OFFLINE_PAYLOAD),
                on_connected=announce,
                max_inflight=DEVICE_INFLIGHT,
                hold_limit=DEVICE_HOLD_LIMIT,
            )
            self._by_device[placement.device_id] = link
            self._links.append(link)
        self._silent: set[str] = set()
        self._ramp_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._ramp_task = asyncio.create_task(self._ramp(self._links, self._ramp_per_s))

    def send(self, message: Outgoing) -> None:
        self._by_device[message.device_id].publish(message.topic, message.payload)

    def set_online(self, device_id: str, online: bool) -> None:
        link = self._by_device[device_id]
        if online:
            self._silent.discard(device_id)
            link.start()
        else:
            # The device vanishes mid-conversation: the broker publishes its will.
            self._silent.add(device_id)
            link.stop(with_will=True)

    async def stop(self, within_s: float) -> None:
        if self._ramp_task is not None:
            self._ramp_task.cancel()
        await self._drain(within_s)
        # Each device leaves with its will: the broker marks it offline (retained).
        await self._close(within_s, with_will=True)


class GatewayPublisher(_LinkPool):
    """Devices multiplexed over a few connections that publish on their behalf."""

    def __init__(
        self,
        placements: Sequence[Placement],
        broker: BrokerSettings,
        birth: Callable[[Placement], bytes],
        *,
        gateways: int = 4,
        credentials: Credentials | None = None,
        client_id_prefix: str = "tqsim-gw",
    ) -> None:
        loop = asyncio.get_running_loop()
        self.stats = PublishStats()
        self._birth = birth
        logins = list(credentials.gateways) if credentials and credentials.gateways else []
        count = len(logins) or max(1, gateways)
        self._members: list[list[Placement]] = [[] for _ in range(count)]
        self._by_device: dict[str, Link] = {}
        self._placements = {p.device_id: p for p in placements}
        self._silent: set[str] = set()
        self._links = []
        gate = BrokerGate(broker)
        for i in range(count):
            login = logins[i] if logins else None
            link = Link(
                loop,
                login.client_id if login else f"{client_id_prefix}-{i:02d}",
                broker,
                self.stats,
                gate,
                login=(login.username, login.password) if login else None,
                on_connected=functools.partial(self._births, i),
                max_inflight=GATEWAY_INFLIGHT,
                hold_limit=GATEWAY_HOLD_LIMIT,
            )
            self._links.append(link)
        for n, placement in enumerate(placements):
            self._members[n % count].append(placement)
            self._by_device[placement.device_id] = self._links[n % count]

    def _births(self, gateway: int, link: Link) -> list[Message]:
        """On every (re)connect a gateway re-announces each of its live devices."""
        messages = [
            (status_topic(p), self._birth(p), True)
            for p in self._members[gateway]
            if p.device_id not in self._silent
        ]
        self.stats.births += len(messages)
        return messages

    async def start(self) -> None:
        for link in self._links:
            link.start()

    def send(self, message: Outgoing) -> None:
        self._by_device[message.device_id].publish(message.topic, message.payload)

    def set_online(self, device_id: str, online: bool) -> None:
        placement = self._placements[device_id]
        link = self._by_device[device_id]
        if online:
            self._silent.discard(device_id)
            self.stats.births += 1
            link.publish(status_topic(placement), self._birth(placement), retain=True)
        else:
            # A network server cannot know a device died; it just stops hearing from it.
            self._silent.add(device_id)

    async def stop(self, within_s: float) -> None:
        # The network is going away: say so for every device, then leave cleanly.
        for gateway, link in enumerate(self._links):
            for placement in self._members[gateway]:
                link.publish(status_topic(placement), OFFLINE_PAYLOAD, retain=True)
        await self._drain(within_s)
        await self._close(within_s, with_will=False)
