"""The duty roster (值班表): shifts per level and area, and who is on duty now.

Incidents are routed to the captain on duty at the level their grade needs; ``/duty/now``
shows that chain for an area — the levels above included, since they are where an
unacknowledged incident goes next. Shifts are scoped like everything else: a caller manages
the shifts of its own area (and below) and sees no others.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from api.core.deps import CityDep, ClockDep, CurrentScope, Operator, SessionDep
from api.core.errors import forbidden, not_found, or_404
from api.core.roster import check_area, with_township
from api.core.scope import Level as ScopeLevel
from api.core.scope import Scope
from api.crud import duty as crud
from api.incidents.duty import OnDuty, chain, on_duty
from api.models.common import AreaId, Limit, Offset, Page
from api.models.duty import DutyLevel, DutyNow, ShiftCreate, ShiftPublic, ShiftUpdate
from api.models.incident_tables import DutyShift
from api.models.people import PersonRef
from api.models.tables import User
from city.grades import Level

router = APIRouter(prefix="/duty", tags=["duty roster"])

ShiftId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _public(shift: DutyShift, people: dict[int, User]) -> ShiftPublic:
    return ShiftPublic(
        id=shift.id,
        level=ScopeLevel(shift.level),
        township=shift.township,
        village=shift.village,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        captain=PersonRef.of(people.get(shift.captain_id)),
        deputies=[p for p in (PersonRef.of(people.get(i)) for i in shift.deputy_ids) if p],
        note=shift.note,
        created_by=shift.created_by,
        created_at=shift.created_at,
    )


def _level(duty: OnDuty) -> DutyLevel:
    return DutyLevel(
        level=ScopeLevel(duty.level.value),
        township=duty.township,
        village=duty.village,
        source=duty.source,
        shift_id=duty.shift.id if duty.shift else None,
        captain=PersonRef.of(duty.captain),
        deputies=[p for p in (PersonRef.of(u) for u in duty.deputies) if p],
    )


@router.get("/now")
def duty_now(
    *,
    scope: CurrentScope,
    session: SessionDep,
    city: CityDep,
    clock: ClockDep,
    township: Annotated[AreaId | None, Query()] = None,
    village: Annotated[AreaId | None, Query()] = None,
) -> DutyNow:
    """Who is on duty for an area (default: yours) at each level, lowest first."""
    township = with_township(city, township, village)
    check_area(city, township, village, ("query",))
    if township is None and village is None:
        township, village = scope.township, scope.village
    if not scope.covers(Scope.of(township, village)):
        raise not_found("area")  # like an object of another area: nothing about it leaks
    now = clock.now()
    if township is None:
        levels = [on_duty(session, Level.DISTRICT, "", None, now)]
    else:
        levels = chain(session, township, village, now)
    return DutyNow(at=now, township=township, village=village,
                   levels=[_level(d) for d in levels])  # fmt: skip


@router.get("/shifts")
def list_shifts(
    *,
    scope: CurrentScope,
    session: SessionDep,
    level: ScopeLevel | None = None,
    at: Annotated[AwareDatetime | None, Query(description="running at this time")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ShiftPublic]:
    rows, total = crud.list_in_scope(
        session, scope, limit, offset, level=level.value if level else None, at=at
    )
    people = crud.people(session, rows)
    return Page(items=[_public(s, people) for s in rows], total=total, limit=limit, offset=offset)


@router.post("/shifts", status_code=status.HTTP_201_CREATED)
def create_shift(
    *,
    data: ShiftCreate,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    city: CityDep,
) -> ShiftPublic:
    check_area(city, data.township, data.village, ("body",))
    if not scope.covers(data.scope):
        raise forbidden(f"you can only roster your own area ({scope.describe()})")
    shift = crud.create(session, scope, data, operator.name)
    return _public(shift, crud.people(session, [shift]))


def _shift_or_404(session: Session, scope: Scope, shift_id: int) -> DutyShift:
    return or_404(crud.get_in_scope(session, scope, shift_id), "shift")


@router.get("/shifts/{shift_id}")
def get_shift(*, shift_id: ShiftId, scope: CurrentScope, session: SessionDep) -> ShiftPublic:
    shift = _shift_or_404(session, scope, shift_id)
    return _public(shift, crud.people(session, [shift]))


@router.patch("/shifts/{shift_id}")
def update_shift(
    *,
    shift_id: ShiftId,
    data: ShiftUpdate,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
) -> ShiftPublic:
    shift = crud.update(session, scope, _shift_or_404(session, scope, shift_id), data)
    return _public(shift, crud.people(session, [shift]))


@router.delete("/shifts/{shift_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_shift(
    *, shift_id: ShiftId, operator: Operator, scope: CurrentScope, session: SessionDep
) -> None:
    crud.delete(session, _shift_or_404(session, scope, shift_id))
