"""MQTT topic scheme: ``tianqu/v1/{township}/{village}/{kind}/{device_id}/{channel}``.

The area is in the topic so that the broker's ACL can pin a device to its own topics, the ingester
can tag a point without a registry lookup, and a village screen can subscribe to its village alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from city.kinds import Kind
from city.telemetry import DEVICE_ID_PATTERN
from city.topology import SLUG_PATTERN

ROOT = "tianqu/v1"
Channel = Literal["telemetry", "status"]
CHANNELS: tuple[Channel, ...] = ("telemetry", "status")

# The ingester subscribes to the whole tree, not just the well-formed shape, so that a device
# publishing to a malformed topic is dead-lettered with a reason instead of vanishing unseen.
ALL_DEVICES = f"{ROOT}/#"

_SLUG = SLUG_PATTERN.strip("^$")
_DEVICE = DEVICE_ID_PATTERN.strip("^$")
_TOPIC = re.compile(
    rf"^{re.escape(ROOT)}/(?P<township>{_SLUG})/(?P<village>{_SLUG})/(?P<kind>[a-z]+)"
    rf"/(?P<device_id>{_DEVICE})/(?P<channel>telemetry|status)$"
)


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    township: str
    village: str
    kind: Kind
    device_id: str
    channel: Channel

    def __str__(self) -> str:
        return device_topic(self.township, self.village, self.kind, self.device_id, self.channel)


class TopicError(ValueError):
    """The topic is not of the scheme; ``reason`` is a short machine-readable cause."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


def device_topic(township: str, village: str, kind: Kind, device_id: str, channel: Channel) -> str:
    return f"{ROOT}/{township}/{village}/{kind.value}/{device_id}/{channel}"


def parse_topic(topic: str) -> DeviceTopic:
    match = _TOPIC.match(topic)
    if match is None:
        raise TopicError(
            "bad_topic",
            f"topic {topic[:200]!r} is not {ROOT}/<township>/<village>/<kind>/<device_id>/"
            "telemetry|status",
        )
    try:
        kind = Kind(match["kind"])
    except ValueError:
        raise TopicError(
            "unknown_kind",
            f"kind {match['kind']!r} is not one of {', '.join(k.value for k in Kind)}",
        ) from None
    channel: Channel = "telemetry" if match["channel"] == "telemetry" else "status"
    return DeviceTopic(match["township"], match["village"], kind, match["device_id"], channel)


def device_filter(device_id: str) -> str:
    """ACL pattern for one device's own topics (mosquitto substitutes %u with the username)."""
    return f"{ROOT}/+/+/+/{device_id}/#"
