"""Why the platform refuses a message: the dead-letter reasons a device maker can look up."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    BAD_TOPIC = "bad_topic"  # not tianqu/v1/<township>/<village>/<kind>/<device_id>/<channel>
    UNKNOWN_KIND = "unknown_kind"  # the topic names a kind the platform does not know
    UNKNOWN_AREA = "unknown_area"  # township, village, road or river not in the city roster
    OVERSIZED = "oversized"  # payload larger than the ingester accepts
    BAD_JSON = "bad_json"  # not a UTF-8 JSON object
    INVALID_FIELD = "invalid_field"  # a field missing, unknown, or of the wrong type
    OUT_OF_RANGE = "out_of_range"  # a quantity outside the bounds of the contract
    TOPIC_MISMATCH = "topic_mismatch"  # payload device id or kind differs from the topic's
    STALE_OR_FUTURE = "stale_or_future"  # device timestamp outside the accepted window
    REJECTED_BY_DATABASE = "rejected_by_database"  # InfluxDB refused the point (type conflict…)
