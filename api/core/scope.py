"""Area scoping for the 三级机长制: the one place that decides what a caller may see.

A caller holds one area at one level: the district (新区, everything), a township/street
(乡镇/街道, its villages) or a village/community (村/居, itself). Every route takes
``CurrentScope`` (``api.core.deps``) and uses these helpers, so an object outside the area is
answered 404, never listed and never counted, whether it lives in SQL or in InfluxDB:

- ``scope.contains(township, village)`` for one object (``village`` None = a township-level one);
- ``scope.filter_sql(stmt, township_col, village_col)`` for lists and aggregates in SQL;
- ``scope.influx_filter()`` for InfluxQL, as a WHERE fragment with bound parameters;
- ``scope.narrow(township, village)`` to intersect with an area a request asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select

S = TypeVar("S", bound=Select[Any])


class Level(StrEnum):
    DISTRICT = "district"  # 新区
    TOWNSHIP = "township"  # 乡镇/街道
    VILLAGE = "village"  # 村/居

    @property
    def rank(self) -> int:
        return {"district": 0, "township": 1, "village": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Scope:
    level: Level
    township: str | None = None
    village: str | None = None

    def __post_init__(self) -> None:
        expected = {
            Level.DISTRICT: (False, False),
            Level.TOWNSHIP: (True, False),
            Level.VILLAGE: (True, True),
        }[self.level]
        if (self.township is not None, self.village is not None) != expected:
            raise ValueError(
                f"a {self.level} scope cannot have area {self.township}/{self.village}"
            )

    @classmethod
    def district(cls) -> Scope:
        return cls(Level.DISTRICT)

    @classmethod
    def of(cls, township: str | None, village: str | None) -> Scope:
        """The scope of an area given as columns: (None, None), (t, None) or (t, v)."""
        if township is None:
            return cls(Level.DISTRICT)
        if village is None:
            return cls(Level.TOWNSHIP, township)
        return cls(Level.VILLAGE, township, village)

    def contains(self, township: str | None, village: str | None) -> bool:
        """Whether an object in (township, village) lies inside; None = the level above."""
        if self.level is Level.DISTRICT:
            return True
        if township != self.township:
            return False
        return self.level is Level.TOWNSHIP or village == self.village

    def covers(self, other: Scope) -> bool:
        """Whether every object of ``other`` lies inside this scope (for granting a scope)."""
        return self.contains(other.township, other.village) and other.level.rank >= self.level.rank

    def narrow(self, township: str | None, village: str | None) -> Scope | None:
        """This scope intersected with the area a request asks for; None when they are disjoint.

        Areas form a tree, so the intersection is always the deeper of the two, or nothing.
        ``village`` without ``township`` is not an area here: the caller resolves it first.
        """
        requested = Scope.of(township, village)
        if self.covers(requested):
            return requested
        if requested.covers(self):
            return self
        return None

    def filter_sql(self, stmt: S, township_col: Any, village_col: Any) -> S:
        return stmt.where(*self.sql_conditions(township_col, village_col))

    def sql_conditions(self, township_col: Any, village_col: Any) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.township is not None:
            conditions.append(township_col == self.township)
        if self.village is not None:
            conditions.append(village_col == self.village)
        return conditions

    def influx_filter(self, prefix: str = "scope") -> tuple[str, dict[str, str]]:
        """``("township" = $scope_township AND …, params)``; ``("", {})`` for the district.

        Tag keys are fixed by the schema (``city/schema.py``); values are bound parameters, so
        no area id can change the query's meaning.
        """
        parts: list[str] = []
        params: dict[str, str] = {}
        if self.township is not None:
            parts.append(f'"township" = ${prefix}_township')
            params[f"{prefix}_township"] = self.township
        if self.village is not None:
            parts.append(f'"village" = ${prefix}_village')
            params[f"{prefix}_village"] = self.village
        return " AND ".join(parts), params

    def describe(self) -> str:
        if self.level is Level.DISTRICT:
            return "district"
        if self.level is Level.TOWNSHIP:
            return f"township {self.township}"
        return f"village {self.township}/{self.village}"
