"""Incidents an operator wants to rehearse, injected at start (``--scenario``) or while running
(``POST /scenarios``, ``tianqu-sim inject``), each with a way to stop it.

A scenario is written ``name:key=value,key=value``, for example::

    gas-leak:device=mh-dongzhan-00003            CH4 and H2S ramp past the low and high limits
    cover-open:village=dongzhan,count=2           two covers lifted off
    cover-tilt:device=mh-hubin-00001,deg=25       a cover knocked to 25° and left there
    lamp-outage:road=dezhou-dadao,count=6         six consecutive lamps of one feeder fail
    flood-crest:river=majiahe,duration=6h         a crest passes 马颊河 beyond guarantee level
    waterlogging:village=tianqu,depth=0.35        road drains flood and drain away
    silent:device=pk-dongzhan-00007               the device stops talking (its will fires)
    malformed:rate=0.01                           1 % extra broken messages of every kind
    clear:id=gas-leak-1 | clear:name=gas-leak | clear:all

Every scenario also takes ``after=10m`` (start later) and ``for=30m`` (stop by itself). Devices
are chosen by ``device=``, or by ``village=``/``township=`` with ``count=`` (``all`` for every
one); choices are the first devices in id order, so a scenario hits the same devices each run.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from city.kinds import Kind
from city.telemetry import LampStatus
from simulators.clock import parse_duration
from simulators.engine import Engine, Outgoing
from simulators.kinds import DrainSensor, ManholeCover, RiverStation, SimDevice, Streetlight
from simulators.kinds.manhole import GasLeak
from simulators.kinds.water import Crest
from simulators.malformed import MALFORMATIONS


class ScenarioError(ValueError):
    """A scenario spec that cannot be run; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}:{args}" if args else self.name


def parse_spec(text: str) -> Spec:
    name, _, rest = text.strip().partition(":")
    params: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, _, value = part.partition("=")  # a bare word is a flag: ``clear:all``
        if not key.strip():
            raise ScenarioError(f"in {text!r}: {part!r} is not key=value")
        params[key.strip()] = value.strip()
    if not name:
        raise ScenarioError(f"no scenario name in {text!r}")
    return Spec(name.strip(), params)


def spec_from_json(body: Any) -> Spec:
    """``{"spec": "gas-leak:device=…"}`` or ``{"name": "gas-leak", "device": "…"}``."""
    if not isinstance(body, dict):
        raise ScenarioError("the body must be a JSON object")
    if "spec" in body:
        if not isinstance(body["spec"], str):
            raise ScenarioError("spec must be a string like 'gas-leak:device=mh-…'")
        return parse_spec(body["spec"])
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError('give "spec" or "name" (and parameters) in the body')
    params = {k: str(v) for k, v in body.items() if k != "name"}
    return Spec(name, params)


class _Params:
    """Typed access to a spec's parameters that reports unknown or malformed ones."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.used: set[str] = {"after", "for"}

    def text(self, key: str, default: str | None = None) -> str | None:
        self.used.add(key)
        return self.spec.params.get(key, default)

    def number(self, key: str, default: float) -> float:
        raw = self.text(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ScenarioError(f"{self.spec.name}: {key}={raw!r} is not a number") from None
        if not math.isfinite(value):
            raise ScenarioError(f"{self.spec.name}: {key}={raw!r} is not a finite number")
        return value

    def duration(self, key: str, default: float) -> float:
        raw = self.text(key)
        if raw is None:
            return default
        try:
            return parse_duration(raw)
        except ValueError as exc:
            raise ScenarioError(f"{self.spec.name}: {key}: {exc}") from None

    def check_all_used(self) -> None:
        unknown = sorted(set(self.spec.params) - self.used)
        if unknown:
            raise ScenarioError(f"{self.spec.name}: unknown parameter(s) {', '.join(unknown)}")


def find_device(engine: Engine, scenario: str, device_id: str) -> SimDevice:
    try:
        return engine.device(device_id)
    except KeyError as exc:
        raise ScenarioError(f"{scenario}: {exc.args[0]}") from None


def select_devices(
    engine: Engine, kind: Kind, params: _Params, default_count: int | None = 1
) -> list[SimDevice]:
    """The devices a scenario acts on: ``device=``, or the first ``count`` in a village/township.

    ``default_count=None`` means every matching device when no count is given.
    """
    device_id = params.text("device")
    village = params.text("village")
    township = params.text("township")
    count_text = params.text("count")
    name = params.spec.name
    if device_id is not None:
        device = find_device(engine, name, device_id)
        if device.kind is not kind:
            raise ScenarioError(f"{name}: {device_id} is a {device.kind}, not a {kind}")
        return [device]
    if village is None and township is None:
        raise ScenarioError(f"{name}: say which devices, with device=, village= or township=")
    chosen = sorted(
        (
            d
            for d in engine.devices_of(kind)
            if (village is None or d.placement.village == village)
            and (township is None or d.placement.township == township)
        ),
        key=lambda d: d.device_id,
    )
    if not chosen:
        where = village or township
        raise ScenarioError(f"{name}: no {kind} device in {where!r} in this fleet")
    if count_text == "all" or (count_text is None and default_count is None):
        return chosen
    count = default_count if count_text is None else int(params.number("count", 1))
    if count is None or count < 1:
        raise ScenarioError(f"{name}: count must be at least 1 or 'all'")
    return chosen[:count]


class Scenario(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]

    def __init__(self, scenario_id: str, spec: Spec, params: _Params) -> None:
        self.id = scenario_id
        self.spec = spec
        self.params = params
        self.starts_at = 0.0
        self.ends_at = math.inf  # ``for=``, or the natural end of a crest
        self.applied = False
        self.devices: list[SimDevice] = []

    @abstractmethod
    def prepare(self, engine: Engine) -> None:
        """Resolve the devices and check the parameters, before anything changes."""

    @abstractmethod
    def apply(self, engine: Engine, now: float) -> None: ...

    @abstractmethod
    def revert(self, engine: Engine, now: float) -> None: ...

    def natural_end(self) -> float:
        return math.inf

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "spec": str(self.spec),
            "active": self.applied,
            "starts_at": self.starts_at,
            "ends_at": None if math.isinf(self.ends_at) else self.ends_at,
            "devices": [d.device_id for d in self.devices[:20]],
            "device_count": len(self.devices),
        }


def _wake_all(engine: Engine, devices: list[SimDevice]) -> None:
    for device in devices:
        engine.reschedule(device)


class CoverOpen(Scenario):
    name = "cover-open"
    summary = "manhole covers lifted off (device= | village= [count=])"

    def prepare(self, engine: Engine) -> None:
        self.devices = select_devices(engine, Kind.MANHOLE, self.params)

    def apply(self, engine: Engine, now: float) -> None:
        for cover in _covers(self.devices):
            cover.set_open(True, now)
        _wake_all(engine, self.devices)

    def revert(self, engine: Engine, now: float) -> None:
        for cover in _covers(self.devices):
            cover.set_open(False, now)
        _wake_all(engine, self.devices)


class CoverTilt(Scenario):
    name = "cover-tilt"
    summary = "covers knocked askew and held (deg=25)"

    def prepare(self, engine: Engine) -> None:
        self.devices = select_devices(engine, Kind.MANHOLE, self.params)
        self.degrees = self.params.number("deg", 25.0)
        if not 0 <= self.degrees <= 180:
            raise ScenarioError(f"cover-tilt: deg must be 0–180, got {self.degrees}")

    def apply(self, engine: Engine, now: float) -> None:
        for cover in _covers(self.devices):
            cover.set_tilt(self.degrees, now)
        _wake_all(engine, self.devices)

    def revert(self, engine: Engine, now: float) -> None:
        for cover in _covers(self.devices):
            cover.set_tilt(None, now)
        _wake_all(engine, self.devices)


class GasRise(Scenario):
    name = "gas-leak"
    summary = "CH4/H2S ramp past 10/50 %LEL and 6/20 ppm (ramp=20m, ch4=65, h2s=28)"

    def prepare(self, engine: Engine) -> None:
        self.devices = select_devices(engine, Kind.MANHOLE, self.params)
        self.ramp_s = self.params.duration("ramp", 20 * 60.0)
        self.ch4 = self.params.number("ch4", 65.0)
        self.h2s = self.params.number("h2s", 28.0)
        if not (0 <= self.ch4 <= 100 and 0 <= self.h2s <= 500):
            raise ScenarioError("gas-leak: ch4 must be 0–100 %LEL and h2s 0–500 ppm")

    def apply(self, engine: Engine, now: float) -> None:
        leak = GasLeak(start=now, ramp_s=self.ramp_s, ch4_peak_lel=self.ch4, h2s_peak_ppm=self.h2s)
        for cover in _covers(self.devices):
            cover.set_leak(leak, now)
        _wake_all(engine, self.devices)

    def revert(self, engine: Engine, now: float) -> None:
        for cover in _covers(self.devices):
            cover.set_leak(None, now)
        _wake_all(engine, self.devices)


class LampOutage(Scenario):
    name = "lamp-outage"
    summary = "a run of consecutive lamps on one road fail (road=, count=5, start=, status=)"

    def prepare(self, engine: Engine) -> None:
        road = self.params.text("road")
        device_id = self.params.text("device")
        if device_id is not None:  # start the run at this lamp
            lamp = find_device(engine, self.name, device_id)
            if lamp.kind is not Kind.STREETLIGHT:
                raise ScenarioError(f"lamp-outage: {device_id} is not a streetlight")
            road = lamp.placement.road
            first = lamp.placement.road_index
        else:
            first = None
        if road is None:
            raise ScenarioError("lamp-outage: say which road, with road= (or device=)")
        lamps = sorted(
            (d for d in engine.devices_of(Kind.STREETLIGHT) if d.placement.road == road),
            key=lambda d: d.placement.road_index or 0,
        )
        if not lamps:
            raise ScenarioError(f"lamp-outage: no lamps on road {road!r} in this fleet")
        count = max(1, int(self.params.number("count", 5)))
        if first is None:
            first = int(self.params.number("start", max(0, (len(lamps) - count) // 2)))
        self.devices = [d for d in lamps if first <= (d.placement.road_index or 0) < first + count]
        if not self.devices:
            raise ScenarioError(f"lamp-outage: road {road!r} has no lamp at index {first}")
        status = self.params.text("status", "defectiveLamp")
        allowed = ("brokenLantern", "defectiveLamp", "columnIssue")
        if status not in allowed:
            raise ScenarioError(f"lamp-outage: status must be one of {', '.join(allowed)}")
        self.status: LampStatus = status  # type: ignore[assignment]  # checked just above

    def apply(self, engine: Engine, now: float) -> None:
        for lamp in _lamps(self.devices):
            lamp.set_fault(self.status, now)
        _wake_all(engine, self.devices)

    def revert(self, engine: Engine, now: float) -> None:
        for lamp in _lamps(self.devices):
            lamp.set_fault(None, now)
        _wake_all(engine, self.devices)


class FloodCrest(Scenario):
    name = "flood-crest"
    summary = (
        "a crest passes a river past warning and guarantee "
        "(river=majiahe, duration=6h, overshoot=0.4, lag=)"
    )

    def prepare(self, engine: Engine) -> None:
        river = self.params.text("river", "majiahe")
        self.duration_s = self.params.duration("duration", 6 * 3600.0)
        self.overshoot = self.params.number("overshoot", 0.4)
        self.lag_s = self.params.duration("lag", self.duration_s / 10)
        if self.duration_s <= 0:
            raise ScenarioError("flood-crest: duration must be positive")
        # Stations are listed upstream first in the roster: the crest reaches them in turn.
        self.devices = [
            d
            for d in engine.devices_of(Kind.WATER)
            if isinstance(d, RiverStation) and d.river == river
        ]
        if not self.devices:
            raise ScenarioError(f"flood-crest: no station on river {river!r}")

    def apply(self, engine: Engine, now: float) -> None:
        self.starts_at = now
        for k, station in enumerate(_stations(self.devices)):
            peak = (
                station.station.guarantee_level_m + self.overshoot - station.station.normal_level_m
            )
            station.set_crest(Crest(now + k * self.lag_s, self.duration_s, max(0.0, peak)))

    def revert(self, engine: Engine, now: float) -> None:
        for station in _stations(self.devices):
            station.set_crest(None)

    def natural_end(self) -> float:
        return self.starts_at + self.lag_s * (len(self.devices) - 1) + self.duration_s


class Waterlogging(Scenario):
    name = "waterlogging"
    summary = "road drains flood and recede (village=|device=, depth=0.35, duration=2h)"

    def prepare(self, engine: Engine) -> None:
        candidates = select_devices(engine, Kind.WATER, self.params, default_count=None)
        self.devices = [d for d in candidates if isinstance(d, DrainSensor)]
        if not self.devices:
            raise ScenarioError("waterlogging: no road drain sensor among the chosen devices")
        self.depth = self.params.number("depth", 0.35)
        self.duration_s = self.params.duration("duration", 2 * 3600.0)
        if not 0 < self.depth <= 3:
            raise ScenarioError("waterlogging: depth must be in (0, 3] metres")

    def apply(self, engine: Engine, now: float) -> None:
        self.starts_at = now
        for drain in self.devices:
            if isinstance(drain, DrainSensor):
                drain.set_flooding(Crest(now, self.duration_s, self.depth))

    def revert(self, engine: Engine, now: float) -> None:
        for drain in self.devices:
            if isinstance(drain, DrainSensor):
                drain.set_flooding(None)

    def natural_end(self) -> float:
        return self.starts_at + self.duration_s


class Silence(Scenario):
    name = "silent"
    summary = (
        "devices stop publishing and drop their connection (device= | village= [kind=, count=])"
    )

    def prepare(self, engine: Engine) -> None:
        kind_text = self.params.text("kind")
        device_id = self.params.spec.params.get("device")
        if device_id is not None:  # any kind of device can fall silent
            kind = find_device(engine, self.name, device_id).kind
        else:
            try:
                kind = Kind(kind_text or "parking")
            except ValueError:
                raise ScenarioError(f"silent: kind={kind_text!r} is not a kind") from None
        self.devices = select_devices(engine, kind, self.params)

    def apply(self, engine: Engine, now: float) -> None:
        for device in self.devices:
            engine.set_silent(device.device_id, True)

    def revert(self, engine: Engine, now: float) -> None:
        for device in self.devices:
            engine.set_silent(device.device_id, False)


class Malformed(Scenario):
    name = "malformed"
    summary = "extra broken messages at rate= (0.01) of kinds= (a+b+…; all by default)"

    def prepare(self, engine: Engine) -> None:
        self.rate = self.params.number("rate", 0.01)
        kinds = self.params.text("kinds")
        self.kinds = tuple(kinds.split("+")) if kinds else MALFORMATIONS
        if not 0 < self.rate <= 1:
            raise ScenarioError("malformed: rate must be in (0, 1]")
        unknown = set(self.kinds) - set(MALFORMATIONS)
        if unknown:
            raise ScenarioError(
                f"malformed: unknown kinds {sorted(unknown)}; "
                f"choose from {', '.join(MALFORMATIONS)}"
            )

    def apply(self, engine: Engine, now: float) -> None:
        engine.set_malformed_rate(self.rate, self.kinds)

    def revert(self, engine: Engine, now: float) -> None:
        engine.set_malformed_rate(0.0)


def _covers(devices: list[SimDevice]) -> list[ManholeCover]:
    return [d for d in devices if isinstance(d, ManholeCover)]


def _lamps(devices: list[SimDevice]) -> list[Streetlight]:
    return [d for d in devices if isinstance(d, Streetlight)]


def _stations(devices: list[SimDevice]) -> list[RiverStation]:
    return [d for d in devices if isinstance(d, RiverStation)]


SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls
    for cls in (
        CoverOpen,
        CoverTilt,
        GasRise,
        LampOutage,
        FloodCrest,
        Waterlogging,
        Silence,
        Malformed,
    )
}


class ScenarioBook:
    """The scenarios injected into one engine: pending, running, and their ends."""

    def __init__(self, engine: Engine, on_change: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.scenarios: dict[str, Scenario] = {}
        self._ids = itertools.count(1)
        self._on_change = on_change

    def inject(self, spec: Spec | str, now: float | None = None) -> list[dict[str, Any]]:
        """Start (or schedule) a scenario, or clear some; returns what was started or cleared."""
        spec = parse_spec(spec) if isinstance(spec, str) else spec
        now = self.engine.now if now is None else now
        if spec.name == "clear":
            return [s.describe() for s in self.clear(spec, now)]
        cls = SCENARIOS.get(spec.name)
        if cls is None:
            raise ScenarioError(
                f"unknown scenario {spec.name!r}; one of {', '.join([*SCENARIOS, 'clear'])}"
            )
        params = _Params(spec)
        scenario = cls(f"{spec.name}-{next(self._ids)}", spec, params)
        scenario.prepare(self.engine)
        params.check_all_used()
        scenario.starts_at = now + params.duration("after", 0.0)
        if "for" in spec.params:
            scenario.ends_at = scenario.starts_at + params.duration("for", 0.0)
        if cls is Malformed:  # one error generator at a time: the new rate replaces the old
            for old in [s for s in self.scenarios.values() if isinstance(s, Malformed)]:
                self._end(old, now)
        self.scenarios[scenario.id] = scenario
        self.tick(now)
        self._notify(f"injected {scenario.id}: {spec}")
        return [scenario.describe()]

    def clear(self, spec: Spec, now: float) -> list[Scenario]:
        """``clear:id=gas-leak-1``, ``clear:name=gas-leak``, ``clear:gas-leak-1``, ``clear:all``."""
        wanted = {v for k, v in spec.params.items() if k in {"id", "name"}}
        wanted |= {k for k, v in spec.params.items() if not v}
        everything = "all" in wanted
        chosen = [
            s for s in self.scenarios.values() if everything or s.id in wanted or s.name in wanted
        ]
        if not chosen and not everything:
            raise ScenarioError(
                f"clear: nothing matches {spec}; active: {', '.join(self.scenarios)}"
            )
        for scenario in chosen:
            self._end(scenario, now)
            self._notify(f"cleared {scenario.id}")
        return chosen

    def next_event(self) -> float:
        """When a scenario next starts or ends (infinity when nothing is scheduled)."""
        return min(
            (s.ends_at if s.applied else s.starts_at for s in self.scenarios.values()),
            default=math.inf,
        )

    def advance(self, now: float, limit: int | None = None) -> list[Outgoing]:
        """Advance the engine to ``now``, starting and ending scenarios at their own instants
        between device polls, so that the readings do not depend on how often this is called."""
        out: list[Outgoing] = []
        while (event := self.next_event()) <= now:
            out.extend(self.engine.advance(event, None if limit is None else limit - len(out)))
            if limit is not None and len(out) >= limit:
                return out
            self.tick(event)
        remaining = None if limit is None else limit - len(out)
        out.extend(self.engine.advance(now, remaining))
        return out

    def tick(self, now: float) -> None:
        """Start what is due and end what has run its course, as of ``now``."""
        for scenario in list(self.scenarios.values()):
            if not scenario.applied and now >= scenario.starts_at:
                scenario.apply(self.engine, max(now, scenario.starts_at))
                scenario.applied = True
                scenario.ends_at = min(scenario.ends_at, scenario.natural_end())
            if scenario.applied and now >= scenario.ends_at:
                self._end(scenario, now)
                self._notify(f"ended {scenario.id}")

    def _end(self, scenario: Scenario, now: float) -> None:
        if scenario.applied:
            scenario.revert(self.engine, now)
        self.scenarios.pop(scenario.id, None)

    def describe(self) -> list[dict[str, Any]]:
        return [s.describe() for s in self.scenarios.values()]

    def _notify(self, text: str) -> None:
        if self._on_change is not None:
            self._on_change(text)
