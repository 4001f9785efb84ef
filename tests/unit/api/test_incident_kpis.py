"""The KPI arithmetic on incidents in memory: completion, on time against the grade's deadline
(counted from dispatch), mean times, escalations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.incidents.kpis import compute
from api.models.incident_tables import Incident
from city.grades import Grade

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
DEADLINES = {Grade.IV: 86_400, Grade.III: 14_400, Grade.II: 7_200, Grade.I: 3_600}


def _incident(grade: str = "III", state: str = "raised", **minutes: int | None) -> Incident:
    def at(name: str) -> datetime | None:
        value = minutes.get(name)
        return None if value is None else T0 + timedelta(minutes=value)

    return Incident(grade=grade, state=state, raised_at=T0, acknowledged_at=at("ack"),
                    dispatched_at=at("dispatch"), resolved_at=at("resolve"),
                    escalations=minutes.get("escalations") or 0)  # fmt: skip


def test_nothing_raised_has_no_rates() -> None:
    values = compute([], T0, DEADLINES)
    assert (values.raised, values.completion_rate, values.on_time_rate, values.mtta_s) == (
        0, None, None, None,
    )  # fmt: skip


def test_completion_is_closed_over_raised() -> None:
    rows = [_incident(state="closed"), _incident(state="verified"), _incident(), _incident()]
    values = compute(rows, T0, DEADLINES)
    assert (values.raised, values.closed, values.open, values.completion_rate) == (4, 1, 3, 0.25)


def test_on_time_counts_from_dispatch_against_the_grades_deadline() -> None:
    now = T0 + timedelta(hours=10)
    rows = [
        _incident("III", dispatch=10, resolve=10 + 239),  # 3 h 59 min: on time
        _incident("III", dispatch=10, resolve=10 + 241),  # 4 h 01 min: late
        _incident("I", dispatch=0),  # unresolved, 1 h deadline long past: late
        _incident("IV", dispatch=0),  # unresolved, 24 h deadline still ahead: not yet counted
        _incident("III"),  # never dispatched: not counted
    ]
    values = compute(rows, now, DEADLINES)
    assert (values.on_time, values.late, values.on_time_rate) == (1, 2, round(1 / 3, 4))


def test_mean_times_and_escalations() -> None:
    rows = [
        _incident(ack=2, resolve=60, escalations=0),
        _incident(ack=12, resolve=None, escalations=2),
        _incident(escalations=1),
    ]
    values = compute(rows, T0, DEADLINES)
    assert values.mtta_s == 7 * 60  # (2 + 12) / 2 minutes
    assert values.mttr_s == 60 * 60
    assert (values.escalations, values.escalated_incidents) == (3, 2)
