"""KPIs by area, level and period — never counting what lies outside the caller's area — and
the incident points in InfluxDB, which wait in the outbox while InfluxDB is away."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from api.incidents import outbox
from api.incidents.scheduler import Scheduler
from devstack.ports import free_port
from devstack.processes import InfluxServer
from influxv1 import InfluxClient, InfluxTarget
from tests.integration.incidents.conftest import Desk

pytestmark = pytest.mark.integration

LOOP = [
    ("district", "acknowledge", {"comment": "taken"}),
    ("district", "dispatch", {"team": "井盖维修队"}),
    ("district", "resolve", {}),
    ("{township}", "verify", {}),  # someone other than the resolver
    ("district", "close", {}),
]


def _close(desk: Desk, incident_id: int) -> None:
    township = desk.incident(incident_id)["township"]
    for who, action, body in LOOP:
        response = desk.step(who.format(township=f"township-{township}"), incident_id, action,
                             **body)  # fmt: skip
        assert response.status_code == 200, response.text


def _kpis(desk: Desk, who: str, **params: Any) -> dict[str, Any]:
    response = desk.get(who, "/kpis", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def counted(desk: Desk) -> Desk:
    """A: two incidents, one closed; B: one, open; C: three, two closed."""
    a1, _ = desk.raise_incident("A", grade="III"), desk.raise_incident("A", grade="III")
    desk.raise_incident("B", grade="III")
    c1, c2, _ = (desk.raise_incident("C", grade="II") for _ in range(3))
    for incident_id in (a1, c1, c2):
        _close(desk, incident_id)
    return desk


@pytest.mark.parametrize(
    ("who", "raised", "closed"),
    [
        ("village-a", 2, 1),
        ("village-b", 1, 0),
        ("township-yuanqiao", 3, 1),
        ("township-changhe", 3, 2),
        ("district", 6, 3),
    ],
)
def test_aggregates_count_only_the_callers_area(
    counted: Desk, who: str, raised: int, closed: int
) -> None:
    totals = _kpis(counted, who)["totals"]
    assert (totals["raised"], totals["closed"], totals["open"]) == (raised, closed, raised - closed)
    assert totals["completion_rate"] == round(closed / raised, 4)


def test_a_part_of_your_area_and_a_level(counted: Desk) -> None:
    village = _kpis(counted, "township-yuanqiao", village="datun")
    assert (village["township"], village["village"], village["totals"]["raised"]) == (
        "yuanqiao", "datun", 1,
    )  # fmt: skip
    by_level = _kpis(counted, "district")["by_level"]
    assert {k: v["raised"] for k, v in by_level.items()} == {"township": 3, "district": 3}
    district_only = _kpis(counted, "district", level="district")["totals"]
    assert (district_only["raised"], district_only["closed"]) == (3, 2)
    assert _kpis(counted, "district")["by_grade"]["II"]["raised"] == 3


def test_another_area_is_404_not_zero(counted: Desk) -> None:
    for params in ({"township": "changhe"}, {"village": "datun"}, {"township": "yuanqiao"}):
        assert counted.get("village-a", "/kpis", params=params).status_code == 404, params
    assert counted.get("district", "/kpis", params={"township": "nowhere"}).status_code == 422
    assert counted.get("district", "/kpis", params={"period": "year"}).status_code == 422


def test_on_time_against_the_grade_deadline_and_the_mean_times(desk: Desk) -> None:
    quick, slow = (desk.raise_incident("A", grade="III") for _ in range(2))  # 4 h from dispatch
    for incident_id in (quick, slow):
        for who, action, body in LOOP[:2]:
            assert desk.step(who, incident_id, action, **body).status_code == 200
    desk.advance(600)
    assert desk.step("district", quick, "resolve").status_code == 200
    desk.advance(5 * 3600)  # past the deadline
    assert desk.step("district", slow, "resolve").status_code == 200
    totals = _kpis(desk, "district")["totals"]
    assert (totals["on_time"], totals["late"], totals["on_time_rate"]) == (1, 1, 0.5)
    assert totals["mttr_s"] > 600 and totals["mtta_s"] < 60
    # 30 days later, the day's KPIs no longer count them; the 30 days' still do.
    desk.advance(2 * 86_400)
    assert _kpis(desk, "district", period="day")["totals"]["raised"] == 0
    assert _kpis(desk, "district", period="30d")["totals"]["raised"] == 2


def test_escalations_are_counted(desk: Desk) -> None:
    desk.raise_incident("A", grade="III")
    desk.advance(601)
    desk.tick()
    totals = _kpis(desk, "township-yuanqiao")["totals"]
    assert (totals["escalations"], totals["escalated_incidents"]) == (1, 1)


def _rows(desk: Desk, query: str) -> list[dict[str, Any]]:
    client = desk.influx()
    try:
        return client.rows(query)
    finally:
        client.close()


def test_transitions_and_kpis_are_written_to_influxdb(desk: Desk) -> None:
    incident_id = desk.raise_incident("A", grade="III")
    _close(desk, incident_id)
    report = desk.tick()
    assert report.sent == 6 and report.kpi_points > 0
    events = _rows(desk, 'SELECT * FROM "incident_event" WHERE "incident_id" = ' + str(incident_id))
    assert [e["event"] for e in events] == [
        "raised", "acknowledged", "dispatched", "resolved", "verified", "closed",
    ]  # fmt: skip
    assert {(e["grade"], e["township"], e["village"], e["rule"]) for e in events} == {
        ("III", "yuanqiao", "dongzhan", "manhole-ch4-high"),
    }
    assert events[-1]["state"] == "closed"
    kpi = _rows(desk, "SELECT * FROM \"incident_kpi\" WHERE \"area\" = 'yuanqiao' "
                      "AND \"period\" = 'day'")  # fmt: skip
    assert len(kpi) == 1
    assert (kpi[0]["scope"], kpi[0]["raised"], kpi[0]["closed"], kpi[0]["completion_rate"]) == (
        "township", 1, 1, 1.0,
    )  # fmt: skip
    assert outbox.pending(desk.app.state.database.sessions) == 0
    # and the API's line on the platform board: alerts received so far
    stats = _rows(desk, 'SELECT * FROM "platform_stats" WHERE "service" = \'api\'')
    assert stats and stats[-1]["alerts_received"] >= 1
    assert stats[-1]["notification_failures"] == 0


@pytest.fixture
def no_influx(desk: Desk) -> Iterator[Desk]:
    """The scheduler's InfluxDB is a port where nothing listens: "down" until a test says."""
    down = InfluxClient(InfluxTarget(f"http://127.0.0.1:{free_port()}", "tianqu"), timeout=2)
    desk.scheduler.influx = down
    yield desk
    down.close()


def test_influxdb_down_breaks_nothing_and_the_points_wait(
    no_influx: Desk, influxd: InfluxServer
) -> None:
    incident_id = no_influx.raise_incident("A", grade="III")
    assert (
        no_influx.step("township-yuanqiao", incident_id, "acknowledge", comment="ok").status_code
        == 200
    )
    report = no_influx.tick()
    assert (report.sent, report.failed) == (0, 0)
    sessions = no_influx.app.state.database.sessions
    assert outbox.pending(sessions) == 2
    assert _kpis(no_influx, "district")["totals"]["raised"] == 1  # KPIs come from SQL
    # InfluxDB is back: the waiting points go out.
    back = InfluxClient(InfluxTarget(influxd.url, no_influx.settings.influx_database))
    no_influx.scheduler.influx = back
    no_influx.scheduler._influx_retry_at = 0.0  # do not wait for the backoff in a test
    assert no_influx.tick().sent == 2
    assert outbox.pending(sessions) == 0
    events = back.rows(f'SELECT "state" FROM "incident_event" WHERE "incident_id" = {incident_id}')
    back.close()
    assert [e["state"] for e in events] == ["raised", "acknowledged"]


def test_one_replica_writes_each_periods_kpis(desk: Desk) -> None:
    ctx = desk.app.state.incidents
    influx = desk.influx()
    other = Scheduler(desk.app.state.database.sessions, replace(ctx, instance="replica-2"),
                      influx, kpi_every_s=60)  # fmt: skip
    try:
        assert desk.tick().kpi_points > 0
        assert other.tick().kpi_points == 0  # the lease is held for this period
        desk.advance(61)
        assert other.tick().kpi_points > 0  # next period: whoever comes first
        assert desk.tick().kpi_points == 0
    finally:
        influx.close()
