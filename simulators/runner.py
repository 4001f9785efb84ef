"""The running simulator: fleet + engine + scenarios + publisher + control, on one event loop.

The loop reads the simulated clock, starts and ends scenarios, lets the engine produce what is
due, and hands it to the publisher — never more than the publisher can take, so a slow broker
makes the simulation fall behind (shown as lag) instead of filling memory. A progress line goes
to stderr every few seconds. SIGINT/SIGTERM or ``--duration`` end it cleanly: what is queued is
sent, then every device leaves (device mode: with its will; gateway mode: an offline status each).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import resource
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from city.kinds import Kind
from city.topology import City, default_city
from simulators.clock import SimClock, format_instant
from simulators.control import Controls, ControlServer
from simulators.credentials import load_credentials
from simulators.engine import Engine, birth_payload
from simulators.fleet import DEFAULT_MIX, Fleet, build_fleet
from simulators.kinds import Intervals
from simulators.publisher import (
    BrokerSettings,
    DevicePublisher,
    GatewayPublisher,
    Publisher,
)
from simulators.scenarios import ScenarioBook, Spec

Mode = Literal["auto", "device", "gateway"]
# Beyond this many devices ``auto`` multiplexes over gateways instead of one connection each.
AUTO_DEVICE_MODE_MAX = 2000
DEVICES_PER_GATEWAY = 5000
# The most messages taken from the engine in one go, before the loop serves sockets again.
SLICE = 5000
# Stop taking new messages while this many per connection are unacknowledged.
PENDING_PER_DEVICE_LINK = 50
PENDING_PER_GATEWAY_LINK = 20_000
FD_HEADROOM = 64


@dataclass
class RunConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    devices: int = 1000
    seed: int = 1
    mix: Mapping[Kind, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    intervals: Intervals = field(default_factory=Intervals)
    speed: float = 1.0
    start: float | None = None  # simulated start, epoch seconds; None = now
    mode: Mode = "auto"
    gateways: int | None = None
    credentials: Path | None = None
    cafile: str | None = None
    scenarios: Sequence[str] = ()
    malformed_rate: float = 0.0
    control_port: int | None = None
    duration: float | None = None  # real seconds, then exit
    status_every: float = 5.0
    ramp_per_s: float = 200.0
    drain_timeout: float = 10.0

    def resolved_mode(self) -> Literal["device", "gateway"]:
        if self.mode == "auto":
            return "device" if self.devices <= AUTO_DEVICE_MODE_MAX else "gateway"
        return self.mode


@dataclass
class Progress:
    """Counters for the progress line and GET /status."""

    malformed: int = 0
    last_sent: int = 0
    last_at: float = field(default_factory=time.monotonic)
    rate: float = 0.0

    def update_rate(self, sent: int) -> None:
        now = time.monotonic()
        if now - self.last_at >= 0.5:
            self.rate = (sent - self.last_sent) / (now - self.last_at)
            self.last_sent, self.last_at = sent, now


class Simulation:
    """Everything one ``run`` holds, so the control endpoint and the loop see the same state."""

    def __init__(
        self, config: RunConfig, city: City, clock: SimClock, status_out: TextIO | None = None
    ) -> None:
        self.config = config
        self.status_out = status_out
        self.city = city
        self.clock = clock
        self.fleet: Fleet = build_fleet(city, config.devices, config.seed, config.mix)
        # The engine starts at exactly ``start`` (the clock is restarted when the loop begins),
        # so a run with the same seed and start produces the same readings.
        self.engine = Engine(self.fleet, city, clock.start, config.intervals)
        self.book = ScenarioBook(self.engine, on_change=self._announce)
        self.progress = Progress()
        self.publisher: Publisher | None = None
        for text in config.scenarios:
            self.book.inject(text, clock.start)
        if config.malformed_rate > 0:
            self.book.inject(Spec("malformed", {"rate": str(config.malformed_rate)}), clock.start)

    def _announce(self, text: str) -> None:
        """Scenario starts and ends go on the progress stream, where the operator looks."""
        if self.status_out is not None:
            print(f"tianqu-sim {format_instant(self.engine.now)} {text}", file=self.status_out)

    def inject(self, spec: Spec) -> list[dict[str, Any]]:
        return self.book.inject(spec, self.clock.now())

    def status(self) -> dict[str, Any]:
        stats = self.publisher.stats if self.publisher else None
        now = self.clock.now()
        return {
            "sim_time": format_instant(now),
            "sim_epoch_ms": int(now * 1000),
            "speed": self.clock.speed,
            "mode": self.config.resolved_mode(),
            "devices": len(self.fleet),
            "kinds": {k.value: n for k, n in sorted(self.fleet.counts().items())},
            "connections": len(self.publisher.links) if self.publisher else 0,
            "connected": stats.connected if stats else 0,
            "sent": stats.sent if stats else 0,
            "acked": stats.acked if stats else 0,
            "rejected": stats.rejected if stats else 0,
            "dropped": stats.dropped if stats else 0,
            "births": stats.births if stats else 0,
            "connection_losses": stats.connection_losses if stats else 0,
            "refused": stats.refused if stats else 0,
            "connect_failures": dict(stats.failures) if stats else {},
            "pending": self.publisher.pending() if self.publisher else 0,
            "rate_per_s": round(self.progress.rate, 1),
            "malformed": self.progress.malformed,
            "silent": len(self.engine.silent),
            "lag_s": round(max(0.0, now - (self.engine.next_due() or now)), 1),
            "scenarios": self.book.describe(),
        }

    def status_line(self) -> str:
        s = self.status()
        scenarios = " ".join(x["id"] for x in s["scenarios"]) or "-"
        lag = f" lag {s['lag_s']:.0f}s" if s["lag_s"] > 5 * self.clock.speed else ""
        return (
            f"tianqu-sim {s['sim_time']} ×{s['speed']:g}{lag} | {s['mode']} "
            f"{s['connected']}/{s['connections']} connected | sent {s['sent']} acked "
            f"{s['acked']} ({s['rate_per_s']:.0f}/s) pending {s['pending']} dropped "
            f"{s['dropped']} | malformed {s['malformed']} silent {s['silent']} | "
            f"scenarios {scenarios}"
        )


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if needed + FD_HEADROOM > hard:
        raise ValueError(
            f"device mode needs one connection per device: {needed} devices exceed this "
            f"process's open-file limit ({hard}); use --mode gateway"
        )
    if needed + FD_HEADROOM > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def make_publisher(sim: Simulation) -> Publisher:
    config = sim.config
    broker = BrokerSettings.create(config.host, config.port, config.cafile)
    credentials = load_credentials(config.credentials) if config.credentials else None

    def birth(placement: Any) -> bytes:
        return birth_payload(placement, sim.clock.now())

    if config.resolved_mode() == "device":
        _raise_fd_limit(len(sim.fleet))
        return DevicePublisher(
            sim.fleet.placements,
            broker,
            birth,
            credentials=credentials,
            ramp_per_s=config.ramp_per_s,
        )
    gateways = config.gateways or max(1, min(16, -(-len(sim.fleet) // DEVICES_PER_GATEWAY)))
    return GatewayPublisher(
        sim.fleet.placements, broker, birth, gateways=gateways, credentials=credentials
    )


async def run(
    config: RunConfig,
    *,
    city: City | None = None,
    stop: asyncio.Event | None = None,
    status_out: TextIO | None = sys.stderr,
    on_ready: Callable[[Simulation], None] | None = None,
) -> dict[str, Any]:
    """Run until ``stop`` is set, a signal arrives or ``duration`` passes; returns final status."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    clock = SimClock(config.start, config.speed)
    sim = Simulation(config, city or default_city(), clock, status_out)
    publisher = make_publisher(sim)
    sim.publisher = publisher
    control = None
    if config.control_port is not None:
        controls = Controls(sim.inject, sim.book.describe, sim.status)
        control = ControlServer(controls, _dispatcher(loop), config.control_port)
        control.start()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on the main thread
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    try:
        await publisher.start()
        if on_ready is not None:
            on_ready(sim)
        sim.clock.restart()
        await _drive(sim, publisher, stop, status_out)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        await publisher.stop(config.drain_timeout)
        if control is not None:
            control.close()
    if status_out is not None:
        print(sim.status_line() + " | stopped", file=status_out, flush=True)
    return sim.status()


def _pending_limit(publisher: Publisher) -> int:
    per_link = (
        PENDING_PER_DEVICE_LINK
        if isinstance(publisher, DevicePublisher)
        else PENDING_PER_GATEWAY_LINK
    )
    return per_link * len(publisher.links)


async def _drive(
    sim: Simulation, publisher: Publisher, stop: asyncio.Event, status_out: TextIO | None
) -> None:
    """The main loop: clock → scenarios → engine → publisher, plus the chores."""
    loop = asyncio.get_running_loop()
    config = sim.config
    limit = _pending_limit(publisher)
    deadline = None if config.duration is None else loop.time() + config.duration
    next_status = loop.time() + config.status_every
    next_housekeeping = loop.time() + 1.0
    while not stop.is_set():
        now = sim.clock.now()
        room = min(SLICE, limit - publisher.pending())
        produced = sim.book.advance(now, limit=room) if room > 0 else []
        while sim.engine.presence:
            publisher.set_online(*sim.engine.presence.popleft())
        for message in produced:
            publisher.send(message)
            if message.malformation is not None:
                sim.progress.malformed += 1
        sim.progress.update_rate(publisher.stats.sent)
        t = loop.time()
        if t >= next_housekeeping:
            publisher.housekeeping()
            next_housekeeping = t + 1.0
        if status_out is not None and t >= next_status:
            print(sim.status_line(), file=status_out, flush=True)
            next_status = t + config.status_every
        if deadline is not None and t >= deadline:
            return
        await _pause(stop, sim, busy=room <= 0 or len(produced) >= room)


async def _pause(stop: asyncio.Event, sim: Simulation, *, busy: bool) -> None:
    """Sleep until the next device is due (at most 0.1 s), or just yield when behind."""
    if busy:
        await asyncio.sleep(0)
        return
    next_due = sim.engine.next_due()
    wait = 0.1 if next_due is None else min(0.1, sim.clock.real_seconds_until(next_due))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.005, wait))


def _dispatcher(loop: asyncio.AbstractEventLoop) -> Callable[[Callable[[], Any]], Any]:
    """Run a control request on the event loop and wait for its answer (from the HTTP thread)."""

    def dispatch(fn: Callable[[], Any]) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def call() -> None:
            try:
                future.set_result(fn())
            except Exception as exc:  # noqa: BLE001 - handed back to the requesting thread
                future.set_exception(exc)

        loop.call_soon_threadsafe(call)
        return future.result(timeout=10)

    return dispatch
