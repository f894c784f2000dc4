"""督办: the supervisor's overview of their department — what is late, what has been
escalated (通报), what waits for a moderator. The ladder itself runs in the scheduler
(services.consultations.supervision.sweep); this is its read side."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from handlers.base import Call, endpoint
from services.auth.roles import Role
from services.consultations import supervision
from services.consultations.schemas import CodeRef


class LateCase(BaseModel):
    id: int
    title: str = Field(description="内容的前 40 个字")
    status: str
    status_label: str
    assignee_name: str | None = Field(description="承办人；未派单时为空")
    due_at: datetime = Field(description="办理期限（北京时间）")
    overdue_hours: int = Field(ge=0, description="已超期小时数（未到期为 0）")
    escalated: bool = Field(description="是否已通报部门负责人")


class SupervisionOverview(BaseModel):
    department: CodeRef | None = Field(description="主管所在部门；无部门的主管看全部")
    open: int = Field(description="未结事项")
    overdue: int = Field(description="超期未答复")
    due_today: int = Field(description="今日到期（尚未超期）未答复")
    escalated: int = Field(description="已通报且仍未办结")
    held_for_moderation: int = Field(description="待内容审核（全部部门）")
    cases: list[LateCase] = Field(description="超期或已通报的事项，按期限排序（最多 100 条）")


@endpoint("GET", "/api/v1/supervision/overview", roles={Role.SUPERVISOR}, tag="咨询办理",
          response=SupervisionOverview, summary="督办总览：本部门未结、超期、今日到期、已通报事项与待审核数")
async def overview(call: Call) -> dict:
    return await supervision.overview(call.user)
