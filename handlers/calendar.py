from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from handlers.base import Call, endpoint
from services.consultations.deadlines import due_after


class DueQuery(BaseModel):
    start: datetime = Field(description="受理时间，ISO 8601（无时区时按北京时间）")
    working_days: int = Field(ge=0, le=365, description="工作日数")

    @field_validator("start")
    @classmethod
    def _plausible(cls, v: datetime) -> datetime:
        if not 2000 <= v.year <= 2100:
            raise ValueError("受理时间应在 2000 年至 2100 年之间")
        return v


class DueRead(BaseModel):
    due_at: datetime = Field(description="截止时间（北京时间 23:59:59）")
    working_days: int
    provisional: bool = Field(description="所涉年份的节假日安排尚未发布时为 true（按周一至周五计算）")


@endpoint("GET", "/api/v1/calendar/due", roles=None, tag="工作日历",
          summary="按工作日计算办结期限（含法定节假日与调休）", query=DueQuery, response=DueRead)
async def due(call: Call) -> DueRead:
    d = due_after(call.query.start, call.query.working_days)
    return DueRead(due_at=d.due_at, working_days=d.working_days, provisional=d.provisional)
