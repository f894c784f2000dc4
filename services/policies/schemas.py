"""API shapes of the policy library. Hand-written (not generated from tables) so the
API can evolve apart from storage."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.service_items.schemas import DepartmentRead

PolicyType = Literal["reduction", "subsidy", "right", "qualification"]
PolicyStatus = Literal["draft", "in_review", "published", "withdrawn", "expired", "superseded"]
SizeClass = Literal["large", "medium", "small", "micro"]
STATUS_LABELS = {"draft": "草稿", "in_review": "待审核", "published": "已发布", "withdrawn": "已撤回",
                 "expired": "已过期", "superseded": "已被新版本替代"}


# ----------------------------------------------------------------- rules


class IntRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: int | None = Field(default=None, ge=0, le=10_000_000)
    max: int | None = Field(default=None, ge=0, le=10_000_000)


class YearRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: int | None = Field(default=None, ge=0, le=200, description="成立满几年（含）")
    max: int | None = Field(default=None, ge=0, le=200, description="成立不满几年")


class AmountRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = Field(default=None, ge=0, le=1e10, description="万元（含）")
    max: float | None = Field(default=None, ge=0, le=1e10, description="万元（含）")


class PolicyRules(BaseModel):
    """Eligibility conditions; every one optional, all present ones must hold."""

    model_config = ConfigDict(extra="forbid")

    industries: list[str] | None = Field(
        default=None, max_length=100,
        description="GB/T 4754-2017 行业大类（两位）或房地产业、装卸搬运和仓储业中类（三位），前缀匹配；"
                    "或划型行业类别（如 industry 工业、software_it 软件和信息技术服务业）")
    size_classes: list[SizeClass] | None = Field(default=None, max_length=4, description="企业规模")
    regions: list[str] | None = Field(default=None, max_length=100,
                                      description="GB/T 2260 行政区划代码前缀（如 4403 深圳市、440305 南山区）")
    age_years: YearRange | None = Field(default=None, description="成立满 min 年、不满 max 年")
    employees: IntRange | None = Field(default=None, description="从业人员（人），含两端")
    revenue: AmountRange | None = Field(default=None, description="上年营业收入（万元），含两端")
    tags: list[str] | None = Field(default=None, max_length=20, description="企业资质，具备其一即可")

    @field_validator("industries", "regions", "tags")
    @classmethod
    def _short_items(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(len(item) > 32 for item in v):
            raise ValueError("每一项不能超过 32 个字符")
        return v


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=128)
    url: str = Field(max_length=512, pattern=r"^https?://\S+$")


class PolicyWrite(BaseModel):
    """Create a policy, or replace the content of a draft version."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=4, max_length=200, description="政策标题")
    doc_number: str = Field(min_length=2, max_length=64, description="文号，如 深府办规〔2025〕3号")
    department: str = Field(min_length=1, max_length=16, description="发文部门编码")
    policy_type: PolicyType = Field(description="reduction 减免、subsidy 奖补、right 权益、qualification 资质")
    summary: str = Field(min_length=1, max_length=500, description="一段话摘要（推送和列表中显示）")
    body: str = Field(default="", max_length=50_000, description="政策原文或要点")
    application_guide: str = Field(default="", max_length=20_000, description="申兑指南")
    effective_on: date = Field(description="施行日期")
    expires_on: date | None = Field(default=None, description="有效期至（含当日）；空为长期有效")
    service_item_ids: list[int] = Field(default_factory=list, max_length=30, description="关联事项")
    attachments: list[Attachment] = Field(default_factory=list, max_length=20, description="附件链接")
    tags: list[str] = Field(default_factory=list, max_length=10, description="政策标签（展示用），如 稳岗、研发")
    no_application: bool = Field(default=False, description="免申即享")
    rules: PolicyRules = Field(default_factory=PolicyRules, description="适用条件")

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for tag in v:
            tag = tag.strip()
            if len(tag) > 16:
                raise ValueError("政策标签每个不超过 16 个字符")
            if tag and tag not in out:
                out.append(tag)
        return out

    @field_validator("service_item_ids")
    @classmethod
    def _positive_ids(cls, v: list[int]) -> list[int]:
        if any(i < 1 or i > 2_147_483_647 for i in v):
            raise ValueError("事项编号不正确")
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _dates_in_order(self) -> "PolicyWrite":
        if self.expires_on is not None and self.expires_on < self.effective_on:
            raise ValueError("有效期截止日期不能早于施行日期")
        return self


class ReviewComment(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    comment: str = Field(min_length=2, max_length=500, description="退回意见")


class WithdrawRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=2, max_length=500, description="撤回原因")


class MatchPreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: PolicyRules


class MatchPreview(BaseModel):
    count: int = Field(description="当前符合条件的企业数")
    total: int = Field(description="已认证企业总数")
    conditions: list[str] = Field(description="条件的中文说明")


# ----------------------------------------------------------------- reading


class ServiceItemRef(BaseModel):
    id: int
    code: str
    name: str


class MissingField(BaseModel):
    field: str
    message: str


class MatchRead(BaseModel):
    eligible: bool
    score: int = Field(description="匹配度 0–100")
    reasons: list[str] = Field(description="满足的条件")
    missing: list[MissingField] = Field(description="不满足的条件，或企业资料未填写的项目")


class PolicySummary(BaseModel):
    id: int
    series_id: int
    version: int
    title: str
    doc_number: str
    department: DepartmentRead
    policy_type: PolicyType
    type_label: str
    summary: str
    effective_on: date
    expires_on: date | None
    tags: list[str]
    no_application: bool
    status: PolicyStatus
    status_label: str
    published_at: datetime | None


class VersionRef(BaseModel):
    id: int
    version: int
    status: PolicyStatus
    status_label: str


class TransitionRead(BaseModel):
    action: str
    from_status: str
    to_status: str
    actor_id: int | None
    actor_name: str
    comment: str
    at: datetime


class PolicyRead(PolicySummary):
    body: str
    application_guide: str
    service_items: list[ServiceItemRef]
    attachments: list[Attachment]
    rules: PolicyRules
    conditions: list[str] = Field(description="适用条件的中文说明")
    # Enterprise roles: how this policy fits the caller's enterprise.
    match: MatchRead | None = None
    consented_at: datetime | None = Field(default=None, description="本企业确认享受的时间（免申即享）")
    # Staff only.
    match_count: int | None = Field(default=None, description="保存时符合条件的企业数")
    campaign_id: int | None = None
    created_by: str | None = None
    submitted_by: str | None = None
    reviewed_by: str | None = None
    review_comment: str | None = None
    withdraw_reason: str | None = None
    superseded_by_id: int | None = None
    versions: list[VersionRef] | None = None
    transitions: list[TransitionRead] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class PolicyListItem(PolicySummary):
    """A row of the library. The two follow-up figures are for staff; enterprises get null."""

    match_count: int | None = Field(default=None, description="保存时符合条件的企业数（工作人员可见）")
    campaign_id: int | None = Field(default=None, description="发布时的推送任务；null 为尚未推送（工作人员可见）")


class PolicyPage(BaseModel):
    items: list[PolicyListItem]
    total: int
    page: int
    page_size: int


class RecommendedPolicy(PolicySummary):
    match: MatchRead


class RecommendedPage(BaseModel):
    items: list[RecommendedPolicy]
    total: int
    page: int
    page_size: int


class ConsentRead(BaseModel):
    policy_id: int
    series_id: int
    enterprise_id: int
    consented_at: datetime
    created: bool = Field(description="本次请求是否新记录（重复确认为 false）")


class ConsentEntry(BaseModel):
    enterprise_id: int
    enterprise_name: str
    credit_code: str
    user_id: int | None
    user_name: str
    policy_id: int
    version: int
    consented_at: datetime


class ConsentPage(BaseModel):
    items: list[ConsentEntry]
    total: int
    page: int
    page_size: int


class DeliveryStatusCounts(BaseModel):
    """Deliveries of one channel by outbox status (notifications/outbox.py STATUSES)."""

    model_config = ConfigDict(extra="forbid")
    queued: int = Field(ge=0, description="排队中")
    sending: int = Field(ge=0, description="发送中")
    delivered: int = Field(ge=0, description="已送达")
    retrying: int = Field(ge=0, description="重试中")
    failed: int = Field(ge=0, description="发送失败")
    skipped: int = Field(ge=0, description="已跳过（无订阅额度，转入摘要）")
    rejected: int = Field(ge=0, description="被拒收")


class CampaignChannels(BaseModel):
    """Per WeChat channel (notifications/outbox.py CHANNELS)."""

    model_config = ConfigDict(extra="forbid")
    subscribe: DeliveryStatusCounts = Field(description="小程序订阅消息")
    template: DeliveryStatusCounts = Field(description="公众号模板消息")


class CampaignFigures(BaseModel):
    """The push campaign's figures as the delivery side reports them."""

    model_config = ConfigDict(extra="forbid")
    policy_id: int
    campaign_id: int
    kind: str = Field(description="推送来源类别：policy")
    source_id: int = Field(description="来源编号（政策版本）")
    matched: int = Field(ge=0, description="匹配查询得到的接收人数")
    recipients: int = Field(ge=0, description="按推送设置筛选后的接收人数")
    channels: CampaignChannels
    read: int = Field(ge=0, description="已阅读的接收人数")
    consultations_14d: int = Field(ge=0, description="推送后 14 天内引用本政策的咨询数")


class Option(BaseModel):
    code: str
    label: str


class PolicyOptions(BaseModel):
    types: list[Option]
    statuses: list[Option]
    size_classes: list[Option]
    enterprise_tags: list[Option]
    industry_groups: list[Option]


class EnterpriseTagsWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: list[str] = Field(max_length=20, description="企业具有的资质（代码见 /api/v1/reference/policy-options）")


class EnterpriseTagsRead(BaseModel):
    enterprise_id: int
    tags: list[Option]
