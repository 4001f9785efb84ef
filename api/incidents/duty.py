"""Who is on duty: at one level, for one area, at one moment.

The roster (``duty_shifts``) answers first: the shift of that level and area running at that
moment (the latest-starting if several overlap); an inactive captain is replaced by the first
active deputy. Without a shift, the area's own accounts answer: the active captains and
administrators whose account sits at that level and area, captains first. So a district with
no roster yet still routes every incident to someone who can see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.core.principal import Role
from api.models.incident_tables import DutyShift
from api.models.tables import User
from city.grades import Level

MAX_DEPUTIES = 5
Source = Literal["roster", "accounts", "nobody"]


@dataclass(frozen=True, slots=True)
class OnDuty:
    level: Level
    township: str | None
    village: str | None
    captain: User | None
    deputies: list[User] = field(default_factory=list)
    shift: DutyShift | None = None

    @property
    def source(self) -> Source:
        if self.shift is not None:
            return "roster"
        return "accounts" if self.captain is not None else "nobody"

    def people(self, deputies: int = 0) -> list[User]:
        """The captain and the first ``deputies`` deputies, in order of call."""
        head = [self.captain] if self.captain is not None else []
        return head + self.deputies[: max(0, deputies)]


def area_at(level: Level, township: str, village: str | None) -> tuple[str | None, str | None]:
    """The (township, village) columns of the area a level answers for."""
    if level is Level.DISTRICT:
        return None, None
    if level is Level.TOWNSHIP:
        return township, None
    return township, village


def _same(column: InstrumentedAttribute[str | None], value: str | None) -> ColumnElement[bool]:
    """``= value``, or ``IS NULL`` for the level above (``= NULL`` matches nothing in SQL)."""
    return column.is_(None) if value is None else column == value


def on_duty(
    session: Session, level: Level, township: str, village: str | None, at: datetime
) -> OnDuty:
    area_t, area_v = area_at(level, township, village)
    if level is Level.VILLAGE and area_v is None:
        return OnDuty(level, area_t, area_v, None)
    shift = session.scalar(
        select(DutyShift)
        .where(
            DutyShift.level == level.value,
            _same(DutyShift.township, area_t),
            _same(DutyShift.village, area_v),
            DutyShift.starts_at <= at,
            DutyShift.ends_at > at,
        )
        .order_by(DutyShift.starts_at.desc(), DutyShift.id.desc())
        .limit(1)
    )
    if shift is not None:
        wanted = [shift.captain_id, *shift.deputy_ids]
        found = {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}
        active = [found[i] for i in wanted if i in found and found[i].active]
        if active:
            return OnDuty(level, area_t, area_v, active[0], active[1:], shift)
    accounts = list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.level == level.value,
                User.role.in_([Role.CAPTAIN.value, Role.ADMIN.value]),
                _same(User.township, area_t),
                _same(User.village, area_v),
            )
            .order_by((User.role == Role.CAPTAIN.value).desc(), User.id)
            .limit(MAX_DEPUTIES + 1)
        )
    )
    if not accounts:
        return OnDuty(level, area_t, area_v, None)
    return OnDuty(level, area_t, area_v, accounts[0], accounts[1:])


def chain(session: Session, township: str, village: str | None, at: datetime) -> list[OnDuty]:
    """Who is on duty for an area at each level, lowest first (the way escalation climbs)."""
    levels = [Level.VILLAGE, Level.TOWNSHIP, Level.DISTRICT] if village else [
        Level.TOWNSHIP, Level.DISTRICT
    ]  # fmt: skip
    return [on_duty(session, level, township, village, at) for level in levels]


def levels_below(level: Level, village: str | None) -> list[Level]:
    """The levels under ``level`` that exist for an area: they are informed, not responsible."""
    below = {Level.DISTRICT: [Level.TOWNSHIP, Level.VILLAGE], Level.TOWNSHIP: [Level.VILLAGE]}
    return [lv for lv in below.get(level, []) if lv is not Level.VILLAGE or village is not None]
