"""The Chinese texts of a notification, one function per shape a channel needs.

``headline`` is the line every channel leads with::

    【Ⅲ级 较大】井下甲烷超标 — 袁桥镇 东站社区

Times are shown in China Standard Time (UTC+8, no daylight saving), which needs no tz database.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from api.notify.models import Notification

CHINA = timezone(timedelta(hours=8), "CST")
SMS_MAX_CHARS = 300  # long SMS are split by the carrier; keep a notification to a few parts


def area(n: Notification) -> str:
    township = n.township_name or n.township
    if n.village is None:
        return township
    return f"{township} {n.village_name or n.village}"


def headline(n: Notification) -> str:
    return f"【{n.grade.label}】{n.title} — {area(n)}"


def local_time(n: Notification) -> str:
    return n.at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _facts(n: Notification) -> list[tuple[str, str]]:
    return [
        ("事件", n.event.display_name),
        ("等级", f"{n.grade.label}（{n.grade.colour_name}色）"),
        ("责任层级", n.level.display_name),
        ("区域", area(n)),
        ("时间", local_time(n)),
        ("事件编号", str(n.incident_id)),
    ]


def text(n: Notification) -> str:
    """Plain text: email bodies, the generic webhook's ``text``, WeCom/DingTalk fallbacks."""
    lines = [headline(n), ""]
    lines += [f"{label}：{value}" for label, value in _facts(n)]
    if n.summary:
        lines += ["", n.summary]
    if n.url:
        lines += ["", f"详情：{n.url}"]
    return "\n".join(lines) + "\n"


def markdown(n: Notification, mentions: list[str] | None = None) -> str:
    """Markdown for the DingTalk and WeCom robots (both render this subset)."""
    lines = [f"### {headline(n)}", ""]
    lines += [f"- **{label}**：{value}" for label, value in _facts(n)]
    if n.summary:
        lines += ["", f"> {n.summary}".replace("\n", "\n> ")]
    if n.url:
        lines += ["", f"[查看详情]({n.url})"]
    if mentions:
        # DingTalk @-mentions a phone only when the text contains "@<phone>".
        lines += ["", " ".join(f"@{phone}" for phone in mentions)]
    return "\n".join(lines)


def sms(n: Notification) -> str:
    """One short paragraph: grade, title, area, event, time, then as much summary as fits."""
    head = f"{headline(n)}（{n.event.display_name}，{local_time(n)}，编号{n.incident_id}）"
    tail = f" 详情：{n.url}" if n.url else ""
    room = SMS_MAX_CHARS - len(head) - len(tail)
    summary = n.summary
    if room <= 1:
        summary = ""
    elif len(summary) > room:
        summary = summary[: room - 1] + "…"
    return f"{head}{summary}{tail}"


def payload(n: Notification, delivery_id: int) -> dict[str, Any]:
    """The JSON object of the generic webhook and the screens topic.

    ``id`` is the delivery's id: a receiver that sees it twice (a retry after a lost answer)
    drops the second copy.
    """
    return {
        "id": delivery_id,
        "incident_id": n.incident_id,
        "event": n.event.value,
        "event_name": n.event.display_name,
        "grade": n.grade.value,
        "grade_label": n.grade.label,
        "colour": n.grade.colour,
        "level": n.level.value,
        "level_name": n.level.display_name,
        "township": n.township,
        "village": n.village,
        "area_name": area(n),
        "title": n.title,
        "summary": n.summary,
        "url": n.url,
        "at": n.at.isoformat(),
        "headline": headline(n),
        "text": text(n),
    }
