"""Silences and maintenance windows (静默/维护窗口): matching alert events raise no incident.

A silence covers an area and optionally one kind, device or rule, until its end time. Scoped
like everything else: a caller silences inside its own area and sees only those silences.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from api.core.deps import CityDep, ClockDep, CurrentScope, Operator, SessionDep
from api.core.errors import forbidden, or_404
from api.core.roster import check_area
from api.core.scope import Scope
from api.crud import silences as crud
from api.models.common import Limit, Offset, Page
from api.models.incident_tables import Silence
from api.models.silences import SilenceCreate, SilencePublic, SilenceUpdate

router = APIRouter(prefix="/silences", tags=["silences"])

SilenceId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def list_silences(
    *,
    scope: CurrentScope,
    session: SessionDep,
    clock: ClockDep,
    active: Annotated[bool, Query(description="only those in force now")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[SilencePublic]:
    now = clock.now()
    rows, total = crud.list_in_scope(session, scope, limit, offset,
                                     active_at=now if active else None)  # fmt: skip
    return Page(items=[crud.public(s, now) for s in rows], total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_silence(
    *,
    data: SilenceCreate,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    city: CityDep,
    clock: ClockDep,
) -> SilencePublic:
    check_area(city, data.township, data.village, ("body",))
    if not scope.covers(data.scope):
        raise forbidden(f"you can only silence inside your area ({scope.describe()})")
    now = clock.now()
    return crud.public(crud.create(session, scope, data, operator.name, now), now)


def _silence_or_404(session: Session, scope: Scope, silence_id: int) -> Silence:
    return or_404(crud.get_in_scope(session, scope, silence_id), "silence")


@router.get("/{silence_id}")
def get_silence(
    *, silence_id: SilenceId, scope: CurrentScope, session: SessionDep, clock: ClockDep
) -> SilencePublic:
    return crud.public(_silence_or_404(session, scope, silence_id), clock.now())


@router.patch("/{silence_id}")
def update_silence(
    *,
    silence_id: SilenceId,
    data: SilenceUpdate,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    clock: ClockDep,
) -> SilencePublic:
    """Move the end (extend or shorten) or change the comment."""
    silence = crud.update(session, _silence_or_404(session, scope, silence_id), data)
    return crud.public(silence, clock.now())


@router.delete("/{silence_id}")
def expire_silence(
    *,
    silence_id: SilenceId,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    clock: ClockDep,
) -> SilencePublic:
    """End the silence now; it stays listed with the events it swallowed counted."""
    now = clock.now()
    return crud.public(crud.expire(session, _silence_or_404(session, scope, silence_id), now), now)
