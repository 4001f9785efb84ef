"""KPIs of the 三级机长制 for an area, a level and a period."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.models.common import ResponseModel


class KpiValuesPublic(ResponseModel):
    raised: int
    closed: int
    open: int
    completion_rate: float | None = Field(description="事件完成率 = closed ÷ raised")
    on_time: int
    late: int
    on_time_rate: float | None = Field(description="resolved within the grade's deadline")
    mtta_s: float | None = Field(description="mean time from raised to acknowledged")
    mttr_s: float | None = Field(description="mean time from raised to resolved")
    escalations: int
    escalated_incidents: int


class KpiReport(ResponseModel):
    township: str | None
    village: str | None
    level: str | None = Field(description="only incidents held at this level, when asked")
    period: str
    start: datetime
    end: datetime
    totals: KpiValuesPublic
    by_level: dict[str, KpiValuesPublic]
    by_grade: dict[str, KpiValuesPublic]
