"""What a caller hands the notifier: a ``Notification`` about one incident for some ``Recipient``s.

The models are strict (``extra="forbid"``) and bounded, so a bad call fails in the caller's
transaction with a message naming the field, not later in a worker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from city.grades import Grade, Level
from city.topology import City

_AreaId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
_Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=1000)]
_Email = Annotated[
    str,
    StringConstraints(pattern=r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$", max_length=254),
]
_Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{5,20}$")]


class Event(StrEnum):
    """What happened to the incident that the notification tells about."""

    RAISED = "raised"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"
    REOPENED = "reopened"
    INFORMED = "informed"
    CLEARED = "cleared"

    @property
    def display_name(self) -> str:
        return _EVENT_NAMES[self]


_EVENT_NAMES = {
    Event.RAISED: "新发事件",
    Event.ESCALATED: "事件升级",
    Event.REMINDER: "催办提醒",
    Event.ACKNOWLEDGED: "已立案",
    Event.DISPATCHED: "已派遣",
    Event.RESOLVED: "已处置",
    Event.VERIFIED: "已核查",
    Event.CLOSED: "已结案",
    Event.REOPENED: "重新办理",
    Event.INFORMED: "情况通报",
    Event.CLEARED: "监测恢复正常",
}


class ChannelName(StrEnum):
    """The channels. ``webhook`` and ``screens`` are global (no recipient); the rest per person."""

    WEBHOOK = "webhook"  # the city's generic HMAC-signed webhook
    SCREENS = "screens"  # MQTT topic the command-centre screens subscribe to
    DINGTALK = "dingtalk"  # a DingTalk group robot
    WECOM = "wecom"  # a WeCom (企业微信) group robot
    EMAIL = "email"
    SMS = "sms"  # the SMS gateway's HTTP webhook

    @property
    def is_global(self) -> bool:
        return self in (ChannelName.WEBHOOK, ChannelName.SCREENS)


class Recipient(BaseModel):
    """One person on duty (or a group robot) and the ways to reach them; all optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    user_id: int | None = None
    email: _Email | None = None
    phone: _Phone | None = None
    dingtalk_webhook: _Url | None = None
    # The robot's 加签 secret (``SEC…``), when the robot has that security setting.
    dingtalk_secret: SecretStr | None = None
    wecom_webhook: _Url | None = None


class Notification(BaseModel):
    """One event of one incident, for some recipients, over some (default: all) channels.

    ``township``/``village`` are the roster's ids (they scope who may see the notification);
    ``township_name``/``village_name`` are what the text shows, ids when left out
    (:meth:`with_area_names` fills them from the roster).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: int = Field(ge=1)
    event: Event
    grade: Grade
    level: Level
    township: _AreaId
    village: _AreaId | None = None
    township_name: str | None = Field(default=None, max_length=40)
    village_name: str | None = Field(default=None, max_length=40)
    title: str = Field(min_length=1, max_length=120)
    summary: str = Field(default="", max_length=2000)
    url: _Url | None = None
    at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    recipients: list[Recipient] = Field(default_factory=list, max_length=500)
    channels: frozenset[ChannelName] | None = None

    def with_area_names(self, city: City) -> Notification:
        """A copy whose area names come from the roster (``app.state.city``)."""
        township = city.township(self.township)
        found = city.village(self.village) if self.village else None
        return self.model_copy(
            update={
                "township_name": self.township_name or (township.name if township else None),
                "village_name": self.village_name or (found[1].name if found else None),
            }
        )

    def message(self) -> Notification:
        """What the outbox stores for every delivery: the notification without recipients."""
        return self.model_copy(update={"recipients": [], "channels": None})
