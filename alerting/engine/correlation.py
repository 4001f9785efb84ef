"""Several incidents together are one bigger one: ``count`` firings of the ``of`` rules, at
distinct devices, within ``within_s`` seconds of device time, on one road or in one township.

The area incident fires once when the count is reached and resolves when none of the member
incidents in that area is still firing; after that it needs ``count`` fresh firings again.
A device counts once however often it fires, and a drain that passes both the waterlogging
and the deep-waterlogging rule is one drain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from city.rules import CorrelationRule


@dataclass(slots=True)
class _Group:
    window: dict[str, int] = field(default_factory=dict)  # device → device time it fired
    active: set[tuple[str, str]] = field(default_factory=set)  # (rule id, device) firing now
    firing: bool = False


@dataclass(frozen=True, slots=True)
class AreaChange:
    rule: CorrelationRule
    group: str  # the road or township id
    status: str  # "firing" or "resolved"
    count: int
    observed_ms: int


class Correlator:
    def __init__(self, rules: list[CorrelationRule]) -> None:
        self.rules = rules
        self._by_member: dict[str, list[CorrelationRule]] = {}
        for rule in rules:
            for member in rule.of:
                self._by_member.setdefault(member, []).append(rule)
        self._groups: dict[tuple[str, str], _Group] = {}

    def watches(self, rule_id: str) -> bool:
        return rule_id in self._by_member

    @staticmethod
    def _key(rule: CorrelationRule, road: str | None, township: str) -> str | None:
        return road if rule.by == "road" else township

    def fired(
        self, rule_id: str, device_id: str, *, road: str | None, township: str, ts: int
    ) -> list[AreaChange]:
        changes = []
        for rule in self._by_member.get(rule_id, []):
            key = self._key(rule, road, township)
            if key is None:
                continue
            group = self._groups.setdefault((rule.id, key), _Group())
            group.active.add((rule_id, device_id))
            group.window[device_id] = max(ts, group.window.get(device_id, 0))
            span = rule.within_s * 1000
            newest = max(group.window.values())
            # What is left lies within one span of the newest firing, so all of it counts.
            group.window = {d: t for d, t in group.window.items() if t >= newest - span}
            count = len(group.window)
            if not group.firing and count >= rule.count:
                group.firing = True
                changes.append(AreaChange(rule, key, "firing", count, ts))
        return changes

    def resolved(
        self, rule_id: str, device_id: str, *, road: str | None, township: str, ts: int
    ) -> list[AreaChange]:
        changes = []
        for rule in self._by_member.get(rule_id, []):
            key = self._key(rule, road, township)
            group = None if key is None else self._groups.get((rule.id, key))
            if group is None or key is None:
                continue
            group.active.discard((rule_id, device_id))
            if group.firing and not group.active:
                group.firing = False
                group.window.clear()
                changes.append(AreaChange(rule, key, "resolved", 0, ts))
        return changes

    def idle_firing(self, now_ms: int) -> list[AreaChange]:
        """Area incidents firing with no member still firing (after a restore): resolve them."""
        changes = []
        rules = {r.id: r for r in self.rules}
        for (rule_id, key), group in self._groups.items():
            if group.firing and not group.active and rule_id in rules:
                group.firing = False
                group.window.clear()
                changes.append(AreaChange(rules[rule_id], key, "resolved", 0, now_ms))
        return changes

    def restore_firing(self, rule_id: str, key: str) -> None:
        self._groups.setdefault((rule_id, key), _Group()).firing = True

    def restore_member(
        self, rule_id: str, device_id: str, *, road: str | None, township: str
    ) -> None:
        for rule in self._by_member.get(rule_id, []):
            key = self._key(rule, road, township)
            if key is not None:
                self._groups.setdefault((rule.id, key), _Group()).active.add((rule_id, device_id))
