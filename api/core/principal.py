"""Who is calling: a person (token) or a machine (API key), with a role and an area.

Roles say what a caller may do, the scope says where:

- ``viewer``  reads devices and readings (Grafana, a screen in a village hall);
- ``captain`` also registers, provisions and decommissions devices (and, next, works incidents);
- ``admin``   also manages people and API keys, within its own area.
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

    @property
    def rank(self) -> int:
        return {"viewer": 0, "captain": 1, "admin": 2}[self.value]


class Permission(StrEnum):
    READ = "read"
    OPERATE = "operate"
    MANAGE_ACCESS = "manage_access"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.CAPTAIN: frozenset({Permission.READ, Permission.OPERATE}),
    Role.ADMIN: frozenset({Permission.READ, Permission.OPERATE, Permission.MANAGE_ACCESS}),
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
