"""The KPIs as ``incident_kpi`` points: the district, every township and every village of the
roster, for the day and the last 30 days, stamped with the minute (a rewrite within the same
minute replaces the point). Names come from ``city.incidents``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from api.core.scope import Scope
from api.incidents.context import IncidentContext
from api.incidents.kpis import PERIOD_S, KpiValues, compute, raised_since
from api.models.incident_tables import Incident
from city.incidents import KPI_MEASUREMENT
from city.lineprotocol import FieldValue, encode_line

PERIODS = ("day", "30d")


def fields(values: KpiValues) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {
        "raised": values.raised,
        "closed": values.closed,
        "open": values.open,
        "escalations": values.escalations,
    }
    # Floats stay floats; a rate with nothing to rate is left out rather than written as 0.
    for name in ("completion_rate", "on_time_rate", "mtta_s", "mttr_s"):
        value = getattr(values, name)
        if value is not None:
            out[name] = float(value)
    return out


def lines(session: Session, ctx: IncidentContext) -> list[str]:
    now = ctx.clock.now()
    minute_ms = int(now.timestamp()) // 60 * 60_000
    longest = max(PERIOD_S[p] for p in PERIODS)
    everything = raised_since(session, Scope.district(), now - timedelta(seconds=longest))
    out: list[str] = []
    for period in PERIODS:
        start = now - timedelta(seconds=PERIOD_S[period])
        rows = [i for i in everything if i.raised_at >= start]
        for scope_tag, area, subset in _areas(ctx, rows):
            values = compute(subset, now, ctx.rules.deadlines_s)
            tags = {"scope": scope_tag, "area": area, "period": period}
            out.append(encode_line(KPI_MEASUREMENT, tags, fields(values), minute_ms))
    return out


def _areas(ctx: IncidentContext, rows: list[Incident]) -> list[tuple[str, str, list[Incident]]]:
    areas: list[tuple[str, str, list[Incident]]] = [("district", ctx.city.id, rows)]
    for township in ctx.city.townships:
        in_township = [i for i in rows if i.township == township.id]
        areas.append(("township", township.id, in_township))
        areas.extend(
            ("village", v.id, [i for i in in_township if i.village == v.id])
            for v in township.villages
        )
    return areas
