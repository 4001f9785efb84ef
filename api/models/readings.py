"""Readings out of InfluxDB: the latest point and aggregated history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.models.common import ResponseModel
from city.kinds import Kind

Aggregation = Literal["mean", "min", "max", "last"]
# Per-device series would multiply the answer: a device's history has its own route.
GroupBy = Literal["none", "township", "village"]


class HistoryPoint(ResponseModel):
    time: datetime
    value: float | int | str | None


class HistorySeries(ResponseModel):
    tags: dict[str, str] = Field(description="the group's tag values (empty when not grouped)")
    points: list[HistoryPoint]


class History(ResponseModel):
    kind: Kind
    field: str
    aggregation: Aggregation
    interval: str
    start: datetime
    end: datetime
    series: list[HistorySeries]
