from __future__ import annotations

from pathlib import Path
from typing import Literal

from alerting.engine import DeviceRecord
from alerting.outbox import Outbox
from city.alerts import AlertEvent
from city.grades import Grade
from city.kinds import Kind


def event(
    device: str, status: Literal["firing", "resolved"] = "firing", rule: str = "manhole-ch4-high"
) -> AlertEvent:
    return AlertEvent(
        status=status,
        rule_id=rule,
        rule_name="井下甲烷超标",
        grade=Grade.III,
        fingerprint=f"{rule}:{device}",
        township="yuanqiao",
        village="dongzhan",
        device_id=device,
        kind=Kind.MANHOLE,
        subject=device,
        value=12.0,
        threshold="> 10",
        observed_ms=1_767_225_600_000,
        summary="井下甲烷超标 12 %LEL (阈值 > 10)",
    )


def test_events_survive_a_reopen_in_order_until_removed(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    box.put([event("mh-a-001"), event("mh-b-001")])
    box.put([event("mh-c-001")])
    box.close()
    box = Outbox(path)
    assert box.depth() == 3
    pending = box.peek(10)
    assert [AlertEvent.model_validate_json(p.body).device_id for p in pending] == [
        "mh-a-001",
        "mh-b-001",
        "mh-c-001",
    ]
    box.remove([pending[0].id, pending[1].id])
    assert box.depth() == 1
    assert [p.fingerprint for p in box.peek(10)] == ["manhole-ch4-high:mh-c-001"]


def test_open_alerts_follow_firing_and_resolved(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.put([event("mh-a-001"), event("mh-b-001")])
    box.put([event("mh-a-001", "resolved")])
    assert [e.device_id for e in box.open_alerts()] == ["mh-b-001"]


def test_dead_letter_moves_one_event_out(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.put([event("mh-a-001"), event("mh-b-001")])
    first = box.peek(1)[0]
    box.dead_letter(first, 422, "bad grade")
    assert box.depth() == 1
    letters = box.dead_letters()
    assert [(d.fingerprint, d.http_status, d.detail) for d in letters] == [
        ("manhole-ch4-high:mh-a-001", 422, "bad grade")
    ]


def test_device_records_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    record = DeviceRecord(
        "wt-x-0001", Kind.WATER, "zhaohu", "yangzhuang", site="river", river="majiahe",
        lat=37.48, lon=116.49, last_seen_ms=1_767_225_600_000,
    )  # fmt: skip
    box.put([], [record])
    box.close()
    assert Outbox(path).devices() == [record]
