"""The duty roster: shifts per level and area, each with a captain and deputies in order.

The people on a shift must be able to act on the area's incidents (active captains or
administrators whose area contains the shift's), and the caller must see them (their area lies
inside the caller's). Problems are reported per field, like the device registry's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.principal import Role
from api.core.scope import Scope
from api.crud.devices import Problem, RegistryError
from api.models.duty import ShiftCreate, ShiftUpdate, check_window
from api.models.incident_tables import DutyShift
from api.models.tables import User


def _check_people(
    session: Session, caller: Scope, area: Scope, captain_id: int | None, deputy_ids: Sequence[int]
) -> list[Problem]:
    wanted: list[tuple[tuple[str | int, ...], int]] = [
        (("body", "deputy_user_ids", i), uid) for i, uid in enumerate(deputy_ids)
    ]
    if captain_id is not None:
        wanted.insert(0, (("body", "captain_user_id"), captain_id))
    problems = []
    for loc, user_id in wanted:
        user = session.get(User, user_id)
        if user is None or not caller.covers(Scope.of(user.township, user.village)):
            problems.append(Problem(loc, f"user {user_id} not found in your area"))
        elif not user.active or user.role not in (Role.CAPTAIN.value, Role.ADMIN.value):
            problems.append(Problem(loc, f"user {user_id} is not an active captain or admin"))
        elif not Scope.of(user.township, user.village).contains(area.township, area.village):
            problems.append(
                Problem(loc, f"user {user_id} ({user.username}) cannot see {area.describe()}")
            )
    return problems


def create(session: Session, caller: Scope, data: ShiftCreate, created_by: str) -> DutyShift:
    problems = _check_people(session, caller, data.scope, data.captain_user_id,
                             data.deputy_user_ids)  # fmt: skip
    if problems:
        raise RegistryError(problems)
    shift = DutyShift(
        level=data.level.value,
        township=data.township,
        village=data.village,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        captain_id=data.captain_user_id,
        deputy_ids=list(data.deputy_user_ids),
        note=data.note,
        created_by=created_by,
    )
    session.add(shift)
    session.commit()
    return shift


def update(session: Session, caller: Scope, shift: DutyShift, data: ShiftUpdate) -> DutyShift:
    starts = data.starts_at or shift.starts_at
    ends = data.ends_at or shift.ends_at
    try:
        check_window(starts, ends)
    except ValueError as exc:
        raise RegistryError([Problem(("body", "ends_at"), str(exc))]) from None
    area = Scope.of(shift.township, shift.village)
    deputies = data.deputy_user_ids if data.deputy_user_ids is not None else []
    problems = _check_people(session, caller, area, data.captain_user_id, deputies)
    captain = data.captain_user_id or shift.captain_id
    final_deputies = list(data.deputy_user_ids if data.deputy_user_ids is not None
                          else shift.deputy_ids)  # fmt: skip
    if captain in final_deputies:
        problems.append(Problem(("body", "deputy_user_ids"), "the captain is also a deputy"))
    if problems:
        raise RegistryError(problems)
    shift.starts_at, shift.ends_at = starts, ends
    shift.captain_id = captain
    shift.deputy_ids = final_deputies
    if data.note is not None:
        shift.note = data.note
    session.commit()
    return shift


def get_in_scope(session: Session, scope: Scope, shift_id: int) -> DutyShift | None:
    shift = session.get(DutyShift, shift_id)
    if shift is None or not scope.covers(Scope.of(shift.township, shift.village)):
        return None
    return shift


def list_in_scope(
    session: Session,
    scope: Scope,
    limit: int,
    offset: int,
    *,
    level: str | None = None,
    at: datetime | None = None,
) -> tuple[list[DutyShift], int]:
    # NULL never equals an id, so a township scope leaves out the district's shifts.
    conditions = scope.sql_conditions(DutyShift.township, DutyShift.village)
    if level is not None:
        conditions.append(DutyShift.level == level)
    if at is not None:
        conditions += [DutyShift.starts_at <= at, DutyShift.ends_at > at]
    total = session.scalar(select(func.count()).select_from(DutyShift).where(*conditions)) or 0
    rows = session.scalars(
        select(DutyShift)
        .where(*conditions)
        .order_by(DutyShift.starts_at.desc(), DutyShift.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def delete(session: Session, shift: DutyShift) -> None:
    session.delete(shift)
    session.commit()


def people(session: Session, shifts: Sequence[DutyShift]) -> dict[int, User]:
    ids = {i for s in shifts for i in (s.captain_id, *s.deputy_ids)}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
