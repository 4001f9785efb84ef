"""The evaluator: every rule of the book against one message at a time. Pure, no I/O.

``reading`` and ``status`` take a decoded message and return the events it caused;
``check`` (called periodically) returns those that the passing of time caused: silent
devices, and conditions that have now held for their ``for_s``. ``restore`` rebuilds the
firing states from the outbox's record of open alerts after a restart, so a recovery after a
restart still resolves its incident.
"""

from __future__ import annotations

from collections.abc import Iterable

from alerting.engine.clock import Clock
from alerting.engine.conditions import Value, holds
from alerting.engine.correlation import AreaChange, Correlator
from alerting.engine.devices import DeviceBook, DeviceRecord
from alerting.engine.events import area_event, silence_event, threshold_event
from alerting.engine.nodata import SilenceWatch
from alerting.engine.overrides import Adjusted, adjusted
from alerting.engine.places import Places
from alerting.engine.threshold import Phase, ThresholdState, Transition
from city.alerts import AlertEvent
from city.kinds import Kind
from city.rules import NoDataRule, RuleBook, ThresholdRule
from city.telemetry import AnyReading, DeviceStatus, RiverReading, StreetlightReading
from city.topics import DeviceTopic
from city.topology import City, Station


class Evaluator:
    def __init__(self, book: RuleBook, city: City, clock: Clock) -> None:
        self.book = book
        self.clock = clock
        self.places = Places(city)
        self.devices = DeviceBook()
        self._rules: dict[tuple[Kind, str | None], list[ThresholdRule]] = {}
        for rule in book.rules:
            self._rules.setdefault((rule.kind, rule.site), []).append(rule)
        self._by_id = {r.id: r for r in book.rules}
        self._no_data = {r.id: r for r in book.no_data}
        self._correlations = {r.id: r for r in book.correlations}
        self._effective: dict[tuple[str, str, str, str], ThresholdRule] = {}
        self._compiled: dict[
            tuple[str, str, str, Kind, str | None], list[tuple[ThresholdRule, ThresholdRule]]
        ] = {}
        self._states: dict[tuple[str, str], ThresholdState] = {}
        self._silence = SilenceWatch(list(book.no_data))
        self._correlator = Correlator(list(book.correlations))

    # -- messages
    def reading(self, where: DeviceTopic, reading: AnyReading) -> list[AlertEvent]:
        device = self.devices.known(where.device_id, where.kind, where.township, where.village)
        site = getattr(reading, "site", None)
        road = reading.road if isinstance(reading, StreetlightReading) else None
        river = reading.river if isinstance(reading, RiverReading) else None
        if site != device.site or road != device.road or river != device.river:
            self.devices.update(device, site=site, road=road, river=river)
        self.devices.seen(device, self.clock.now_ms())
        events = self._spoke(device, reading.ts) if self._silence.firing_for(device) else []
        station = self.places.station(river, where.village) if river else None
        for rule, effective in self._device_rules(device, site):
            value: Value = getattr(reading, effective.quantity)
            matched = holds(effective.condition, value, station)
            if matched is None:
                continue  # a station level, and no station of this river in this village
            key = (rule.id, device.device_id)
            state = self._states.get(key)
            if state is None:
                if not matched:
                    continue  # normal, and stays so: no state to keep
                state = self._states[key] = ThresholdState()
            recovered = (
                bool(holds(effective.recover, value, station))
                if effective.recover is not None
                else not matched
            )
            change = state.step(
                ts=reading.ts,
                value=value,
                matched=matched,
                recovered=recovered,
                for_s=effective.for_s,
                repeat=effective.repeat,
            )
            if change is not None:
                events.extend(self._threshold_change(effective, device, change, station))
        return events

    def status(self, where: DeviceTopic, status: DeviceStatus) -> list[AlertEvent]:
        """A birth (or a last will) on the status topic: the device is known, with its place."""
        now = self.clock.now_ms()
        fresh = self.devices.get(where.device_id) is None
        device = self.devices.known(where.device_id, where.kind, where.township, where.village)
        self.devices.update(device, lat=status.lat, lon=status.lon)
        if status.online:
            self.devices.seen(device, now)
            return self._spoke(device, now)
        if fresh:
            self.devices.seen(device, now)  # known from its last will: silent from now on
        return []

    # -- time
    def check(self) -> list[AlertEvent]:
        now = self.clock.now_ms()
        events: list[AlertEvent] = []
        for (rule_id, device_id), state in self._states.items():
            if state.phase is not Phase.PENDING:
                continue
            device = self.devices.get(device_id)
            if device is None:
                continue
            effective = self._effective_rule(self._by_id[rule_id], device)
            change = state.held_until(now, for_s=effective.for_s, repeat=effective.repeat)
            if change is not None:
                station = (
                    self.places.station(device.river, device.village) if device.river else None
                )
                events.extend(self._threshold_change(effective, device, change, station))
        for silence in self._silence.silent(list(self.devices), now):
            rule, device = silence.rule, silence.device
            verdict = self._adjusted_for(rule, device)
            if not verdict.enabled:
                continue
            self._silence.mark_firing(rule.id, device.device_id)
            events.append(
                silence_event(
                    rule,
                    verdict.grade,
                    device,
                    "firing",
                    observed_ms=now,
                    silent_ms=silence.silent_ms,
                )
            )
            changes = self._correlator.fired(
                rule.id, device.device_id, road=device.road, township=device.township, ts=now
            )
            events.extend(self._area_events(changes))
        return events

    # -- restart
    def restore(
        self, devices: Iterable[DeviceRecord], open_alerts: Iterable[AlertEvent]
    ) -> list[AlertEvent]:
        """Rebuild from the outbox's records; returns area resolutions that are now due."""
        for record in devices:
            self.devices.restore(record)
        for event in open_alerts:
            if event.rule_id in self._correlations:
                self._correlator.restore_firing(event.rule_id, event.subject.split(":", 1)[1])
                continue
            device = self.devices.get(event.device_id or "")
            if device is None:
                continue
            if event.rule_id in self._by_id:
                key = (event.rule_id, device.device_id)
                value = event.value if isinstance(event.value, (float, str)) else None
                self._states.setdefault(key, ThresholdState()).restore_firing(
                    event.observed_ms, value
                )
            elif event.rule_id in self._no_data:
                self._silence.mark_firing(event.rule_id, device.device_id)
            else:
                continue
            self._correlator.restore_member(
                event.rule_id, device.device_id, road=device.road, township=device.township
            )
        return self._area_events(self._correlator.idle_firing(self.clock.now_ms()))

    # -- internals
    def _device_rules(
        self, device: DeviceRecord, site: str | None
    ) -> list[tuple[ThresholdRule, ThresholdRule]]:
        """(rule, its effective form) for the enabled rules of one device, worked out once."""
        key = (device.device_id, device.township, device.village, device.kind, site)
        found = self._compiled.get(key)
        if found is None:
            found = []
            for rule in self._rules.get((device.kind, site), ()):
                effective = self._effective_rule(rule, device)
                if effective.enabled:
                    found.append((rule, effective))
            self._compiled[key] = found
        return found

    def _effective_rule(self, rule: ThresholdRule, device: DeviceRecord) -> ThresholdRule:
        key = (rule.id, device.device_id, device.township, device.village)
        found = self._effective.get(key)
        if found is None:
            found = self.book.effective(rule, device.township, device.village, device.device_id)
            self._effective[key] = found
        return found

    def _adjusted_for(self, rule: NoDataRule | ThresholdRule, device: DeviceRecord) -> Adjusted:
        """The rule as the overrides for this device's village, township or itself leave it."""
        return adjusted(
            self.book,
            rule.id,
            rule.enabled,
            rule.grade,
            township=device.township,
            village=device.village,
            device=device.device_id,
        )

    def _spoke(self, device: DeviceRecord, observed_ms: int) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        for rule_id in self._silence.spoke(device.device_id):
            rule: NoDataRule = self._no_data[rule_id]
            verdict = self._adjusted_for(rule, device)
            events.append(
                silence_event(rule, verdict.grade, device, "resolved", observed_ms=observed_ms)
            )
            changes = self._correlator.resolved(
                rule_id, device.device_id, road=device.road, township=device.township,
                ts=observed_ms,
            )  # fmt: skip
            events.extend(self._area_events(changes))
        return events

    def _threshold_change(
        self,
        rule: ThresholdRule,
        device: DeviceRecord,
        change: Transition,
        station: Station | None,
    ) -> list[AlertEvent]:
        events = [
            threshold_event(
                rule,
                device,
                change.status,
                value=change.value,
                observed_ms=change.observed_ms,
                station=station,
            )
        ]
        if not self._correlator.watches(rule.id):
            return events
        member = self._correlator.fired if change.status == "firing" else self._correlator.resolved
        changes = member(
            rule.id,
            device.device_id,
            road=device.road,
            township=device.township,
            ts=change.observed_ms,
        )
        events.extend(self._area_events(changes))
        return events

    def _area_events(self, changes: list[AreaChange]) -> list[AlertEvent]:
        events = []
        for change in changes:
            rule = change.rule
            place = (
                self.places.roads.get(change.group)
                if rule.by == "road"
                else self.places.townships.get(change.group)
            )
            if place is None:
                continue  # a road or township not in the roster: nothing to name
            verdict = adjusted(
                self.book,
                rule.id,
                rule.enabled,
                rule.grade,
                township=place.township,
                village=place.village,
            )
            if verdict.enabled:
                events.append(area_event(change, verdict.grade, place))
        return events
