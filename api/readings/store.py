"""Run reading queries against InfluxDB and shape the answers.

A database that does not exist yet (a fresh platform before the first point) reads as "no
data", not as an error; an unreachable InfluxDB propagates as ``influxv1.RetryableError``, which
the app answers with 503.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from api.core.scope import Scope
from api.models.devices import LatestReading
from api.models.readings import HistoryPoint, HistorySeries
from api.readings import queries
from api.readings.queries import Query
from city.kinds import Kind
from influxv1 import InfluxClient, QueryError, Series

_TAG_COLUMNS = frozenset({"time", "device", "township", "village", "road", "river", "site", "kind"})


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class ReadingsStore:
    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def _series(self, query: Query) -> list[Series]:
        try:
            return self.client.query(query.text, query.params)[0]
        except QueryError as exc:
            if "database not found" in str(exc):
                return []
            raise

    def latest(self, kind: Kind, device_id: str, scope: Scope) -> LatestReading | None:
        for series in self._series(queries.latest_point(kind, device_id, scope)):
            for row in series.rows():
                values: dict[str, Any] = {
                    k: v for k, v in row.items() if k not in _TAG_COLUMNS and v is not None
                }
                return LatestReading(time=_time(row["time"]), values=values)
        return None

    def statuses(
        self, scope: Scope, device_ids: Sequence[str] | None = None
    ) -> dict[str, tuple[bool, datetime]]:
        """device id → (online, time of that status), for devices with a status point."""
        out: dict[str, tuple[bool, datetime]] = {}
        for series in self._series(queries.latest_status(scope, device_ids)):
            device = series.tags.get("device")
            if device is None or not series.values:
                continue
            ms, online = series.values[0][0], series.values[0][1]
            out[device] = (bool(online), _time(ms))
        return out

    def history(self, query: Query) -> list[HistorySeries]:
        return [
            HistorySeries(
                tags=dict(series.tags),
                points=[HistoryPoint(time=_time(t), value=v) for t, v in series.values],
            )
            for series in self._series(query)
        ]
