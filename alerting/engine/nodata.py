"""Silent devices: fire when a device has said nothing for ``factor`` × its kind's heartbeat.

"Said" means any telemetry or a birth on the status topic, timed by the evaluator's clock at
reception (a silent device has no timestamp of its own to offer). The check runs
periodically; a device that speaks again resolves its no-data incident at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerting.engine.devices import DeviceRecord
from city.rules import NoDataRule


@dataclass(frozen=True, slots=True)
class Silence:
    rule: NoDataRule
    device: DeviceRecord
    silent_ms: int


def applies(rule: NoDataRule, device: DeviceRecord) -> bool:
    return rule.kind is device.kind and (rule.site is None or rule.site == device.site)


class SilenceWatch:
    def __init__(self, rules: list[NoDataRule]) -> None:
        self.rules = rules
        self._firing: set[tuple[str, str]] = set()  # (rule id, device id)
        self._devices: dict[str, int] = {}  # device id → rules firing for it

    def firing_for(self, device: DeviceRecord) -> bool:
        return device.device_id in self._devices

    def is_firing(self, rule_id: str, device_id: str) -> bool:
        return (rule_id, device_id) in self._firing

    def silent(self, devices: list[DeviceRecord], now_ms: int) -> list[Silence]:
        """Devices that have just crossed a rule's silence (each fires once until it speaks)."""
        found = []
        for rule in self.rules:
            limit_ms = rule.silence_s() * 1000
            for device in devices:
                if (rule.id, device.device_id) in self._firing or not applies(rule, device):
                    continue
                silent_ms = now_ms - device.last_seen_ms
                if silent_ms > limit_ms:
                    found.append(Silence(rule, device, silent_ms))
        return found

    def mark_firing(self, rule_id: str, device_id: str) -> None:
        if (rule_id, device_id) not in self._firing:
            self._firing.add((rule_id, device_id))
            self._devices[device_id] = self._devices.get(device_id, 0) + 1

    def spoke(self, device_id: str) -> list[str]:
        """The rules firing for a device that has just spoken; they are resolved."""
        if device_id not in self._devices:
            return []
        ids = [rule.id for rule in self.rules if (rule.id, device_id) in self._firing]
        for rule_id in ids:
            self._firing.discard((rule_id, device_id))
        del self._devices[device_id]
        return ids
