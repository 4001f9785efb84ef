"""The development clock: jump the API's time forward to get past a timeout in a test or a
demo. District administrators only; outside development these routes answer 404, as if they
did not exist.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.core.clock import OffsetClock
from api.core.deps import AccessAdmin, CurrentScope, DevClockDep, SchedulerDep
from api.core.errors import forbidden, not_found
from api.core.scope import Level, Scope
from api.models.devclock import ClockAdvance, ClockState

router = APIRouter(prefix="/dev", tags=["development"])


def _usable(clock: OffsetClock | None, scope: Scope) -> OffsetClock:
    if clock is None:
        raise not_found("page")
    if scope.level is not Level.DISTRICT:
        raise forbidden("only a district administrator moves the clock")
    return clock


@router.get("/clock")
def read_clock(*, clock: DevClockDep, admin: AccessAdmin, scope: CurrentScope) -> ClockState:
    usable = _usable(clock, scope)
    return ClockState(now=usable.now(), offset_s=usable.offset_s())


@router.post("/clock")
def advance_clock(
    *,
    data: ClockAdvance,
    clock: DevClockDep,
    admin: AccessAdmin,
    scope: CurrentScope,
    scheduler: SchedulerDep,
) -> ClockState:
    """Move the clock forward by ``advance_s``; due timers fire at the next tick (kicked now)."""
    usable = _usable(clock, scope)
    offset = usable.advance(data.advance_s)
    scheduler.kick()
    return ClockState(now=usable.now(), offset_s=offset)
