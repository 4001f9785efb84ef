"""What the incident modules share: the clock, the rule book, the roster, the replica's name."""

from __future__ import annotations

from dataclasses import dataclass

from api.core.clock import Clock
from api.notify.settings import NotifySettings
from city.grades import Level
from city.rules import RuleBook
from city.topology import City


@dataclass(frozen=True, slots=True)
class IncidentContext:
    clock: Clock
    rules: RuleBook
    city: City
    instance: str  # this replica, in timer claims and leases
    notify: NotifySettings | None = None  # None: api.notify's own settings from the environment
    public_url: str | None = None  # links in notifications: <public_url>/incidents/<id>

    def ack_timeout_s(self, level: Level) -> int:
        return self.rules.escalation.ack_timeout_s[level]

    @property
    def reminder_every_s(self) -> int:
        return self.rules.escalation.reminder_every_s
