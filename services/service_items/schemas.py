from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Stage = Literal["start", "operate", "change", "close"]
STAGE_LABELS = {"start": "开办", "operate": "经营", "change": "变更", "close": "注销"}
ITEM_TYPES = ("行政许可", "行政确认", "行政备案", "行政给付", "行政征收", "行政裁决", "行政奖励",
              "公共服务", "其他行政权力")
ItemType = Literal["行政许可", "行政确认", "行政备案", "行政给付", "行政征收", "行政裁决", "行政奖励",
                   "公共服务", "其他行政权力"]
MaterialForm = Literal["original", "copy", "electronic"]


class Material(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=128)
    required: bool = True
    form: MaterialForm = "original"
    count: int = Field(default=1, ge=0, le=99)
    notes: str = Field(default="", max_length=500)


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=1000)


class Faq(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    q: str = Field(min_length=1, max_length=300)
    a: str = Field(min_length=1, max_length=2000)


class ServiceItemWrite(BaseModel):
    """Create or replace a service item (staff)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-.]+$", description="事项编码")
    name: str = Field(min_length=2, max_length=128, description="事项名称")
    item_type: ItemType = Field(description="事项类型")
    department: str = Field(min_length=1, max_length=16, description="部门编码")
    implementing_body: str = Field(default="", max_length=128, description="实施主体")
    legal_basis: str = Field(default="", max_length=4000, description="设定依据")
    summary: str = Field(default="", max_length=256, description="一句话说明")
    keywords: list[str] = Field(default_factory=list, max_length=30, description="群众常用说法")
    materials: list[Material] = Field(default_factory=list, max_length=60)
    steps: list[Step] = Field(default_factory=list, max_length=30)
    statutory_days: int = Field(ge=0, le=365, description="法定办结时限（工作日）")
    committed_days: int = Field(ge=0, le=365, description="承诺办结时限（工作日），0 为即办")
    fees: str = Field(default="不收费", max_length=256)
    online_available: bool = False
    online_url: str | None = Field(default=None, max_length=512, pattern=r"^https?://\S+$")
    offline_location: str = Field(default="", max_length=256)
    stage: Stage = Field(description="生命周期：开办/经营/变更/注销")
    faq: list[Faq] = Field(default_factory=list, max_length=30)

    @field_validator("committed_days")
    @classmethod
    def _committed_within_statutory(cls, v: int, info: ValidationInfo) -> int:
        statutory = info.data.get("statutory_days")
        if statutory and v > statutory:
            raise ValueError("承诺时限不能超过法定时限")
        return v

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, v: list[str]) -> list[str]:
        return [k.strip()[:32] for k in v if k and k.strip()]


class DepartmentRead(BaseModel):
    code: str
    name: str
    short_name: str


class DepartmentList(BaseModel):
    items: list[DepartmentRead]


class ServiceItemSummary(BaseModel):
    id: int
    code: str
    name: str
    item_type: str
    department: DepartmentRead
    stage: Stage
    stage_label: str
    statutory_days: int
    committed_days: int
    online_available: bool
    summary: str


class ServiceItemRead(ServiceItemSummary):
    implementing_body: str
    legal_basis: str
    keywords: list[str]
    materials: list[Material]
    steps: list[Step]
    fees: str
    online_url: str | None
    offline_location: str
    faq: list[Faq]
    updated_at: datetime


class ServiceItemPage(BaseModel):
    items: list[ServiceItemSummary]
    total: int
    page: int
    page_size: int
    query_terms: list[str] = Field(default_factory=list, description="检索时使用的词（含同义词）")


class ServiceItemQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    q: str | None = Field(default=None, max_length=64, description="用大白话搜索，如“办营业执照”")
    department: str | None = Field(default=None, max_length=16, description="部门编码")
    stage: Stage | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=50)


class ImportRejection(BaseModel):
    row: int = Field(description="表格中的行号（含表头）")
    code: str
    errors: list[dict[str, str]]


class ImportReport(BaseModel):
    total_rows: int
    created: int
    updated: int
    rejected: list[ImportRejection]
