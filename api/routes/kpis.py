"""KPIs of the 三级机长制 for an area, a level and a period, counted only inside your area."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.core.deps import CityDep, ClockDep, CurrentScope, IncidentsDep, SessionDep
from api.core.errors import not_found
from api.core.roster import check_area, with_township
from api.core.scope import Scope
from api.incidents import kpis
from api.incidents.kpis import PERIOD_S, KpiValues, Period
from api.models.common import AreaId
from api.models.kpis import KpiReport, KpiValuesPublic
from city.grades import Level

router = APIRouter(prefix="/kpis", tags=["kpis"])


def _public(values: KpiValues) -> KpiValuesPublic:
    return KpiValuesPublic(**asdict(values))


@router.get("")
def get_kpis(
    *,
    scope: CurrentScope,
    session: SessionDep,
    city: CityDep,
    clock: ClockDep,
    ctx: IncidentsDep,
    township: Annotated[AreaId | None, Query()] = None,
    village: Annotated[AreaId | None, Query()] = None,
    level: Annotated[Level | None, Query(description="only incidents held at this level")] = None,
    period: Period = "day",
) -> KpiReport:
    """Completion rate (closed ÷ raised), on-time rate, MTTA/MTTR and escalations over the
    incidents raised in the period (day, 7d, 30d), for your area or a part of it."""
    township = with_township(city, township, village)
    check_area(city, township, village, ("query",))
    area = scope
    if township is not None:
        area = Scope.of(township, village)
        if not scope.covers(area):
            raise not_found("area")  # outside your area: nothing about it is counted or told
    now = clock.now()
    start = now - timedelta(seconds=PERIOD_S[period])
    rows = kpis.raised_since(session, area, start, level)
    deadlines = ctx.rules.deadlines_s
    return KpiReport(
        township=area.township,
        village=area.village,
        level=level.value if level else None,
        period=period,
        start=start,
        end=now,
        totals=_public(kpis.compute(rows, now, deadlines)),
        by_level={
            k: _public(kpis.compute(v, now, deadlines)) for k, v in kpis.by(rows, "level").items()
        },
        by_grade={
            k: _public(kpis.compute(v, now, deadlines)) for k, v in kpis.by(rows, "grade").items()
        },
    )
