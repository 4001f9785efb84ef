"""The live feed's poller: each audit entry once, in order, even when ids commit out of order
(PostgreSQL sequences), and each event carrying the incident as the API shows it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from api.console.feed import LOOKBACK_IDS, IncidentFeed
from api.core.scope import Scope
from api.models.incident_tables import IncidentAudit
from tests.integration.api.conftest import World

pytestmark = pytest.mark.integration


def _note(world: World, incident_id: int, audit_id: int) -> None:
    """An audit row with a chosen id, as a transaction committing late would leave it."""
    with world.app.state.database.session() as session:
        session.add(IncidentAudit(id=audit_id, incident_id=incident_id, at=datetime.now(UTC),
                                  action="note", level="village", actor_kind="user",
                                  actor_name="late", comment=str(audit_id)))  # fmt: skip
        session.commit()


def _max_id(world: World) -> int:
    with world.app.state.database.session() as session:
        return int(session.scalar(select(func.max(IncidentAudit.id))) or 0)


def test_every_entry_once_even_when_ids_commit_out_of_order(fresh_world: World) -> None:
    world = fresh_world
    feed = IncidentFeed(world.app.state.database.sessions, world.app.state.incidents.rules)
    incident_id = world.raise_incident("A", grade="IV")
    first = feed.poll()
    assert [json.loads(e.data)["action"] for e in first] == ["raised"]
    event = json.loads(first[0].data)
    assert event["incident"]["id"] == incident_id
    assert event["incident"]["escalates_at"] is not None  # as GET /incidents shows it
    assert event["version"] >= 1
    assert (first[0].township, first[0].village) == ("yuanqiao", "dongzhan")

    top = _max_id(world)
    _note(world, incident_id, top + 5)
    assert [e.audit_id for e in feed.poll()] == [top + 5]
    _note(world, incident_id, top + 3)  # committed after a higher id: still delivered, once
    _note(world, incident_id, top + 5 + LOOKBACK_IDS + 1)
    assert [e.audit_id for e in feed.poll()] == [top + 3, top + 5 + LOOKBACK_IDS + 1]
    assert feed.poll() == []


def test_publish_respects_scope_and_marks_a_full_queue(fresh_world: World) -> None:
    world = fresh_world
    feed = IncidentFeed(world.app.state.database.sessions, world.app.state.incidents.rules)
    village = feed.listen(Scope.of("yuanqiao", "dongzhan"))
    other = feed.listen(Scope.of("changhe", None))
    world.raise_incident("A", grade="IV")
    events = feed.poll()
    for _ in range(village.queue.maxsize + 1):
        feed.publish(events)
    assert village.overflowed and village.queue.full()
    assert other.queue.empty() and not other.overflowed
