"""The API's line on the platform board (平台运行状态): a ``platform_stats`` point.

Counted from the database, not from one process's counters, so every replica would write the
same totals; the scheduler writes it with the KPIs, under their lease, once a period. Totals
only grow, which is what the board's increase() expects.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.incidents.context import IncidentContext
from api.models.incident_tables import Incident
from api.notify.tables import FAILED, SENT, OutboxRow
from city.lineprotocol import encode_line

MEASUREMENT = "platform_stats"


def line(session: Session, ctx: IncidentContext) -> str:
    by_status = dict(
        session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
    )
    alerts = session.scalar(select(func.coalesce(func.sum(Incident.occurrences), 0))) or 0
    now_ms = int(ctx.clock.now().timestamp() * 1000)
    return encode_line(
        MEASUREMENT,
        {"service": "api", "instance": "all"},
        {
            "notifications_sent": int(by_status.get(SENT, 0)),
            "notification_failures": int(by_status.get(FAILED, 0)),
            "alerts_received": int(alerts),
        },
        now_ms,
    )
