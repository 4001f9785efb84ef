"""The Chinese texts: headline, plain text, markdown, SMS, the JSON payload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from api.notify import render
from api.notify.models import Event, Notification, Recipient
from city.grades import Grade, Level
from city.topology import default_city


def note(**changes: Any) -> Notification:
    values: dict[str, Any] = {
        "incident_id": 42,
        "event": Event.ESCALATED,
        "grade": Grade.III,
        "level": Level.TOWNSHIP,
        "township": "yuanqiao",
        "village": "dongzhan",
        "township_name": "袁桥镇",
        "village_name": "东站社区",
        "title": "井下甲烷超标",
        "summary": "东站北广场 3 号井 CH4 62 %LEL，持续 5 分钟。",
        "url": "https://cockpit.example/incidents/42",
        "at": datetime(2025, 7, 1, 2, 30, tzinfo=UTC),
    }
    values.update(changes)
    return Notification(**values)


def test_the_headline_reads_as_operators_write_it() -> None:
    assert render.headline(note()) == "【Ⅲ级 较大】井下甲烷超标 — 袁桥镇 东站社区"


def test_a_township_incident_names_the_township_alone() -> None:
    n = note(village=None, village_name=None, grade=Grade.I, level=Level.DISTRICT)
    assert render.headline(n) == "【Ⅰ级 特别重大】井下甲烷超标 — 袁桥镇"


def test_ids_stand_in_when_names_are_missing_and_the_roster_fills_them() -> None:
    n = note(township_name=None, village_name=None)
    assert render.headline(n).endswith("— yuanqiao dongzhan")
    named = n.with_area_names(default_city())
    assert render.headline(named).endswith("— 袁桥镇 东站社区")


def test_the_text_has_every_fact_in_china_time() -> None:
    text = render.text(note())
    assert text.startswith("【Ⅲ级 较大】井下甲烷超标 — 袁桥镇 东站社区\n")
    for line in (
        "事件：事件升级",
        "等级：Ⅲ级 较大（黄色）",
        "责任层级：乡镇/街道",
        "时间：2025-07-01 10:30",
        "事件编号：42",
        "详情：https://cockpit.example/incidents/42",
    ):
        assert line in text
    assert "CH4 62 %LEL" in text


def test_markdown_mentions_phones_for_dingtalk() -> None:
    md = render.markdown(note(), ["13800000001", "13800000002"])
    assert md.startswith("### 【Ⅲ级 较大】井下甲烷超标")
    assert "[查看详情](https://cockpit.example/incidents/42)" in md
    assert md.rstrip().endswith("@13800000001 @13800000002")
    assert "@" not in render.markdown(note(url=None))


def test_sms_stays_short_and_keeps_the_link() -> None:
    n = note(summary="很长的描述。" * 200)
    sms = render.sms(n)
    assert len(sms) <= render.SMS_MAX_CHARS
    assert sms.startswith("【Ⅲ级 较大】井下甲烷超标 — 袁桥镇 东站社区（事件升级")
    assert sms.endswith("详情：https://cockpit.example/incidents/42")
    assert "…" in sms
    assert "…" not in render.sms(note())


def test_the_payload_is_what_screens_and_webhooks_get() -> None:
    body = render.payload(note(), delivery_id=7)
    assert body["id"] == 7
    assert body["incident_id"] == 42
    assert (body["grade"], body["grade_label"], body["colour"]) == ("III", "Ⅲ级 较大", "yellow")
    assert (body["level"], body["event"], body["village"]) == ("township", "escalated", "dongzhan")
    assert body["headline"] == "【Ⅲ级 较大】井下甲烷超标 — 袁桥镇 东站社区"
    assert body["at"] == "2025-07-01T02:30:00+00:00"


@pytest.mark.parametrize(
    "bad",
    [
        {"township": "袁桥镇"},  # an id, not a name
        {"title": ""},
        {"at": datetime(2025, 7, 1, 2, 30)},  # naive
        {"url": "javascript:alert(1)"},
        {"incident_id": 0},
    ],
)
def test_bad_notifications_are_refused_at_the_call(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        note(**bad)


@pytest.mark.parametrize(
    "bad",
    [
        {"email": "not-an-address"},
        {"phone": "call me"},
        {"dingtalk_webhook": "ftp://robot"},
        {"nickname": "x"},
    ],
)
def test_bad_recipients_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Recipient(name="王机长", **bad)


def test_every_event_has_a_chinese_name() -> None:
    assert all(event.display_name for event in Event)
