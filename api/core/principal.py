"""Who is calling: a person (token) or a machine (API key), with a role and an area.

Roles say what a caller may do, the scope says where:

- ``viewer``  reads devices and readings (Grafana, a screen in a village hall);
- ``captain`` also registers, provisions and decommissions devices, and works incidents;
- ``admin``   also manages people and API keys, within its own area;
- ``service`` a platform service's API key (the rule evaluator, Grafana's contact point): it
  reports alert events, and reads like a viewer. People never hold it.

Incident actions (acknowledge, dispatch, resolve, …) need ``operate``; reporting alerts needs
``report_alerts`` (service keys, and administrators for a manual test).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from api.core.scope import Scope


class Role(StrEnum):
    VIEWER = "viewer"
    CAPTAIN = "captain"
    ADMIN = "admin"
    SERVICE = "service"

    @property
    def rank(self) -> int:
        """For "a key cannot hold a higher role than its creator": only admins make service keys."""
        return {"viewer": 0, "captain": 1, "admin": 2, "service": 2}[self.value]

    @property
    def for_people(self) -> bool:
        return self is not Role.SERVICE


class Permission(StrEnum):
    READ = "read"
    OPERATE = "operate"
    MANAGE_ACCESS = "manage_access"
    REPORT_ALERTS = "report_alerts"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.CAPTAIN: frozenset({Permission.READ, Permission.OPERATE}),
    Role.ADMIN: frozenset(
        {Permission.READ, Permission.OPERATE, Permission.MANAGE_ACCESS, Permission.REPORT_ALERTS}
    ),
    Role.SERVICE: frozenset({Permission.READ, Permission.REPORT_ALERTS}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "api_key"]
    id: int
    name: str
    role: Role
    scope: Scope

    def can(self, permission: Permission) -> bool:
        return permission in _GRANTS[self.role]

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def actor_key(self) -> str:
        """Who did something, comparable across requests: ``user:12`` or ``api_key:3``."""
        return f"{self.kind}:{self.id}"
