from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SizeClass = Literal["large", "medium", "small", "micro"]

# GB/T 2260 province-level codes: the first two digits of any region code.
PROVINCES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
                       "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
                       "61", "62", "63", "64", "65", "71", "81", "82"})


class EnterpriseWrite(BaseModel):
    """Registration and update of the enterprise profile (both carry every field)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    credit_code: str = Field(min_length=1, max_length=32, description="统一社会信用代码（18 位）")
    name: str = Field(min_length=2, max_length=128, description="企业名称")
    industry_code: str = Field(pattern=r"^\d{2,3}$",
                               description="国民经济行业分类 GB/T 4754-2017 大类（两位），房地产业填中类（三位）")
    region_code: str = Field(pattern=r"^\d{6}$", description="行政区划代码 GB/T 2260（六位）")
    employees: int | None = Field(default=None, ge=0, le=10_000_000, description="从业人员（人）")
    revenue: float | None = Field(default=None, ge=0, le=1e10, description="上年营业收入（万元）")
    assets: float | None = Field(default=None, ge=0, le=1e10, description="资产总额（万元），建筑业等行业需要")
    founded_on: date | None = Field(default=None, description="成立日期")
    contact_phone: str = Field(pattern=r"^1[3-9]\d{9}$", description="联系人手机号")

    @field_validator("region_code")
    @classmethod
    def _province_exists(cls, v: str) -> str:
        if v[:2] not in PROVINCES:
            raise ValueError("行政区划代码不存在（前两位应为省级代码）")
        return v

    @field_validator("founded_on")
    @classmethod
    def _not_future(cls, v: date | None) -> date | None:
        if v is not None and (v > date.today() or v.year < 1949):
            raise ValueError("成立日期不正确")
        return v


class SizeInfo(BaseModel):
    label: str = Field(description="大型/中型/小型/微型")
    group_code: str
    group_label: str = Field(description="划型所依据的行业")
    rule_version: str = Field(description="划型标准及版本")
    inputs: dict[str, float] = Field(description="参与划型的指标")
    basis: str = Field(description="划型依据说明")


class EnterpriseRead(BaseModel):
    id: int
    credit_code: str
    name: str
    industry_code: str
    industry_name: str
    industry_group: str
    region_code: str
    employees: int | None
    revenue: float | None
    assets: float | None
    founded_on: date | None
    contact_phone: str = Field(description="本企业成员和服务人员可见完整号码，其他角色为脱敏号码")
    size_class: SizeClass
    size: SizeInfo
    created_at: datetime
    updated_at: datetime


class EnterprisePage(BaseModel):
    items: list[EnterpriseRead]
    total: int
    page: int
    page_size: int


class InvitationRead(BaseModel):
    code: str = Field(description="一次性邀请码，只显示这一次")
    expires_at: datetime


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=4, max_length=32)


class IndustryRead(BaseModel):
    code: str
    name: str
    group_code: str
    group_label: str
    indicators: list[str]


class IndustryList(BaseModel):
    items: list[IndustryRead]
