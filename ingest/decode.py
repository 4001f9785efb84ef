"""Turn one MQTT message into its line-protocol point, or the reason it is refused.

The checks are the contract's (``city.inbound``); what the ingester adds is the point it
stores. Decoding never raises, so one bad payload cannot stop the stream.
"""

from __future__ import annotations

from city.inbound import InboundChecker, Limits, Rejected, Telemetry
from city.schema import reading_line, status_line
from city.topology import City

__all__ = ["Decoder", "Limits", "Rejected"]


class Decoder:
    """One instance per ingester: a message → a line-protocol ``str`` or ``Rejected``."""

    def __init__(self, city: City, limits: Limits | None = None) -> None:
        self._checker = InboundChecker(city, limits)
        self.limits = self._checker.limits

    def decode(self, topic: str, payload: bytes | bytearray, now_ms: int) -> str | Rejected:
        checked = self._checker.check(topic, payload, now_ms)
        if isinstance(checked, Rejected):
            return checked
        where = checked.where
        if isinstance(checked, Telemetry):
            return reading_line(checked.reading, where.township, where.village)
        # No time window for a status: a retained birth is as old as the connection it
        # announces and is replayed to every new subscription; rewriting it is idempotent.
        return status_line(
            checked.status,
            device_id=where.device_id,
            kind=where.kind,
            township=where.township,
            village=where.village,
            ts=now_ms,
        )
