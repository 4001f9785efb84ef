"""The command-centre screens: the payload as JSON on ``tianqu/ops/screens/incidents``.

QoS 1, not retained (a screen that connects later asks the API for open incidents; a retained
message would show it a stale one), MQTT 5 so the broker's PUBACK tells a refused publish
(mosquitto answers "not authorized" for a topic outside the account's ACL) from a delivered one.
One connection per worker, with the API's own broker account, kept open by paho's network thread
and reconnected by it; a send waits for its PUBACK on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from api.notify import render
from api.notify.errors import PermanentError, RetryableError
from api.notify.models import ChannelName
from api.notify.outbox import Delivery
from api.notify.settings import NotifySettings

_ABANDONED = None


class ScreensChannel:
    name = ChannelName.SCREENS

    def __init__(self, settings: NotifySettings) -> None:
        if settings.mqtt_host is None:
            raise ValueError("the screens channel needs TIANQU_API_NOTIFY_MQTT_HOST")
        self._host = settings.mqtt_host
        self._port = settings.mqtt_port
        self._timeout = settings.timeout_for(self.name)
        # Unique per process: two API replicas with one client id would keep kicking each other.
        client_id = f"tianqu-api-notify-{socket.gethostname()[:24]}-{os.getpid()}-"
        client_id += secrets.token_hex(3)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if settings.mqtt_username:
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            self._client.username_pw_set(settings.mqtt_username, password)
        if settings.mqtt_tls:
            self._client.tls_set(ca_certs=settings.mqtt_ca_file)
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._lock = threading.Lock()
        # mid → (loop, future) while a send waits; None once it gave up (timed out).
        self._waiting: dict[
            int, tuple[asyncio.AbstractEventLoop, asyncio.Future[ReasonCode]] | None
        ]
        self._waiting = {}
        self._early: dict[int, ReasonCode] = {}  # PUBACKs that beat the registration
        self._connected = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connect_error: str | None = None
        self._started = False

    # --- paho's network thread ---------------------------------------------------------------

    def _set_connected(self, connected: bool) -> None:
        if self._loop is None:
            return
        action = self._connected.set if connected else self._connected.clear
        self._loop.call_soon_threadsafe(action)

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            self._connect_error = f"the broker refused the connection: {reason}"
        else:
            self._connect_error = None
            self._set_connected(True)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        self._set_connected(False)

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        with self._lock:
            if mid not in self._waiting:
                self._early[mid] = reason
                return
            waiter = self._waiting.pop(mid)
        if waiter is not _ABANDONED:
            loop, future = waiter
            loop.call_soon_threadsafe(_resolve, future, reason)

    # --- the event loop -----------------------------------------------------------------------

    async def _ensure_connected(self) -> None:
        if not self._started:
            self._loop = asyncio.get_running_loop()
            self._client.connect_async(self._host, self._port, keepalive=30, clean_start=True)
            self._client.loop_start()
            self._started = True
        if self._client.is_connected():
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._connected.wait()
        except TimeoutError:
            reason = f": {self._connect_error}" if self._connect_error else ""
            raise RetryableError(
                f"not connected to the broker {self._host}:{self._port}{reason}"
            ) from None

    async def send(self, delivery: Delivery) -> None:
        await self._ensure_connected()
        payload = orjson.dumps(render.payload(delivery.notification, delivery.id))
        info = self._client.publish(delivery.target, payload, qos=1, retain=False)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise RetryableError(f"publish failed: {mqtt.error_string(info.rc)}")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ReasonCode] = loop.create_future()
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._waiting[info.mid] = (loop, future)
        if early is not None:
            future.set_result(early)
        try:
            async with asyncio.timeout(self._timeout):
                reason = await future
        except (TimeoutError, asyncio.CancelledError):
            with self._lock:
                if info.mid in self._waiting:
                    self._waiting[info.mid] = _ABANDONED
            raise
        if reason.is_failure:
            raise PermanentError(
                f"the broker refused the publish: {reason}", status_code=reason.value
            )

    async def aclose(self) -> None:
        if self._started:
            self._client.disconnect()
            await asyncio.to_thread(self._client.loop_stop)


def _resolve(future: asyncio.Future[ReasonCode], reason: ReasonCode) -> None:
    if not future.done():
        future.set_result(reason)
