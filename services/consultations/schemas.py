"""API shapes of consultations and feedback (hand-written so the API can evolve apart
from storage). Times are ISO 8601 in Asia/Shanghai (``+08:00``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["consultation", "suggestion", "complaint"]
Channel = Literal["miniprogram", "phone", "walk_in", "hotline_12345"]
OfflineChannel = Literal["phone", "walk_in", "hotline_12345"]
Element = Literal["materials", "steps", "time_limit", "fees", "online", "other"]
Status = Literal["new", "assigned", "answered", "awaiting_enterprise", "resolved", "closed", "reopened",
                 "merged", "withdrawn"]
Moderation = Literal["pass", "held", "pending", "released", "rejected"]

KIND_LABELS = {"consultation": "咨询", "suggestion": "建议", "complaint": "投诉"}
CHANNEL_LABELS = {"miniprogram": "小程序", "phone": "电话", "walk_in": "窗口", "hotline_12345": "12345热线"}
ELEMENT_LABELS = {"materials": "申请材料", "steps": "办理流程", "time_limit": "办理时限", "fees": "收费",
                  "online": "网上办理", "other": "其他"}
MODERATION_LABELS = {"pass": "", "held": "内容审核中", "pending": "待内容检查", "released": "审核已放行",
                     "rejected": "审核未通过"}


class ConsultationCreate(BaseModel):
    """What an enterprise user sends from the mini-program."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    content: str = Field(min_length=5, max_length=20000, description="问题或意见（5 个字以上）")
    kind: Kind = Field(default="consultation", description="类型：咨询、建议、投诉")
    service_item_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="相关事项")
    policy_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="相关政策")
    element: Element | None = Field(default=None, description="针对事项的哪个要素（建议、投诉）")
    element_detail: str = Field(default="", max_length=128, description="要素细节，例如哪一项材料")

    @model_validator(mode="after")
    def _element_needs_item(self) -> "ConsultationCreate":
        if self.element is not None and self.service_item_id is None and self.policy_id is None:
            raise ValueError("指明事项要素时请同时选择相关事项")
        return self


class OfflineIntake(ConsultationCreate):
    """A phone, walk-in or 12345 case a consultant records for an enterprise."""

    enterprise_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="企业编号")
    credit_code: str | None = Field(default=None, min_length=18, max_length=18, description="或统一社会信用代码")
    channel: OfflineChannel = Field(description="来源渠道：电话、窗口、12345热线")
    contact_name: str = Field(default="", max_length=32, description="来电或来访人姓名")

    @model_validator(mode="after")
    def _one_enterprise(self) -> "OfflineIntake":
        if (self.enterprise_id is None) == (self.credit_code is None):
            raise ValueError("请填写企业编号或统一社会信用代码（二选一）")
        return self


class Ref(BaseModel):
    id: int
    name: str


class CodeRef(BaseModel):
    code: str
    name: str


class MessageRead(BaseModel):
    id: int
    author_role: str
    author_name: str
    body: str
    internal: bool
    mine: bool
    created_at: datetime


class EventRead(BaseModel):
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor_name: str
    detail: dict
    at: datetime


class RatingRead(BaseModel):
    score: int
    label: str
    comment: str
    created_at: datetime
    changeable_until: datetime


class ConsultationSummary(BaseModel):
    id: int
    kind: Kind
    kind_label: str
    channel: Channel
    status: Status
    status_label: str
    title: str = Field(description="内容的前 40 个字")
    topic: CodeRef | None
    department: CodeRef | None
    service_item: Ref | None
    accepted_at: datetime
    due_at: datetime
    overdue: bool
    time_left_seconds: int = Field(description="距办理期限的秒数（已超期为负数）")
    moderation: Moderation
    enterprise: Ref | None = Field(default=None, description="仅工作人员可见")
    assignee: Ref | None = Field(default=None, description="仅工作人员可见")


class ConsultationPage(BaseModel):
    items: list[ConsultationSummary]
    total: int
    page: int
    page_size: int


class ConsultationRead(ConsultationSummary):
    content: str
    policy: Ref | None
    element: Element | None
    element_label: str
    element_detail: str
    due_provisional: bool
    answered_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    merged_into_id: int | None
    messages: list[MessageRead]
    actions: list[str] = Field(description="当前用户现在可以进行的操作")
    rating: RatingRead | None
    # staff only
    contact_name: str | None = None
    recorded_by: str | None = None
    suggestion: dict | None = None
    corrected: bool | None = None
    events: list[EventRead] | None = None


class MessageWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    body: str = Field(min_length=1, max_length=20000, description="消息内容")
    internal: bool = Field(default=False, description="内部备注（仅工作人员可见，企业永远看不到）")


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(default="", max_length=500, description="原因")


class RequiredReason(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=2, max_length=500, description="原因（必填）")


class ReturnBody(RequiredReason):
    department_code: str | None = Field(default=None, max_length=16,
                                        description="转交的部门（不填则退回本部门派单队列）")


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    assignee_id: int = Field(ge=1, le=2_147_483_647, description="承办咨询员")
    reason: str = Field(default="", max_length=500, description="改派原因（改派时必填）")


class MergeBody(RequiredReason):
    into_id: int = Field(ge=1, le=2_147_483_647, description="合并到的事项编号")


class ClassificationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    topic_code: str | None = Field(default=None, max_length=32)
    service_item_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    department_code: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _something(self) -> "ClassificationBody":
        if self.topic_code is None and self.service_item_id is None and self.department_code is None:
            raise ValueError("请至少更正一项：主题、事项或部门")
        return self


class DuplicateRead(BaseModel):
    id: int
    title: str
    status: Status
    status_label: str
    similarity: float
    accepted_at: datetime


class DuplicateList(BaseModel):
    items: list[DuplicateRead]


class TopicRead(BaseModel):
    code: str
    name: str
    department: CodeRef | None


class TopicList(BaseModel):
    items: list[TopicRead]


class ConsultantRead(BaseModel):
    id: int
    name: str
    department: CodeRef | None
    open_cases: int
    skills: list[str]


class ConsultantList(BaseModel):
    items: list[ConsultantRead]


class ConsultationOptions(BaseModel):
    kinds: dict[str, str]
    channels: dict[str, str]
    elements: dict[str, str]
    statuses: dict[str, str]
    max_chars: int
    default_days: dict[str, int]
