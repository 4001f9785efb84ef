"""The four kinds of device the district deploys, as they appear on the wire and in InfluxDB."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    STREETLIGHT = "streetlight"
    MANHOLE = "manhole"
    PARKING = "parking"
    WATER = "water"

    @property
    def display_name(self) -> str:
        return _DISPLAY_NAMES[self]

    @property
    def heartbeat_s(self) -> int:
        """How often a healthy device of this kind reports at the latest (its heartbeat).

        Event-driven kinds (manhole covers, parking bays) also send at once on change; this is the
        silent-device reference that no-data rules multiply.
        """
        return _HEARTBEAT_S[self]

    @property
    def id_prefix(self) -> str:
        return _ID_PREFIX[self]


_DISPLAY_NAMES = {
    Kind.STREETLIGHT: "单灯控制器",
    Kind.MANHOLE: "智能井盖",
    Kind.PARKING: "地磁车位",
    Kind.WATER: "水情监测",
}

# Vendor defaults from docs/device-contract.md: lamps every 10 min, covers every 30 min,
# parking bays every 30 min, water stations every 5 min.
_HEARTBEAT_S = {
    Kind.STREETLIGHT: 600,
    Kind.MANHOLE: 1800,
    Kind.PARKING: 1800,
    Kind.WATER: 300,
}

_ID_PREFIX = {
    Kind.STREETLIGHT: "sl",
    Kind.MANHOLE: "mh",
    Kind.PARKING: "pk",
    Kind.WATER: "wt",
}
