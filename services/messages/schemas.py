from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PolicyType = Literal["reduction", "subsidy", "right", "qualification"]
Mode = Literal["immediate", "digest"]
SubscribeOutcome = Literal["accept", "reject", "ban", "filter"]
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class InboxItem(BaseModel):
    id: int
    campaign_id: int
    kind: str = Field(description="policy 政策推送 / consultation 咨询回复 / notice 通知")
    source_id: int = Field(description="所指内容的编号（如政策编号）")
    title: str
    summary: str
    page: str = Field(description="点击后打开的小程序页面")
    critical: bool = Field(description="与本人办件直接相关（不受免打扰与汇总设置影响）")
    created_at: datetime
    read_at: datetime | None
    read: bool


class InboxPage(BaseModel):
    items: list[InboxItem]
    total: int
    unread: int = Field(description="未读消息数")
    page: int
    page_size: int


class InboxQuery(BaseModel):
    unread_only: bool = Field(default=False, description="只看未读")
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


class PreferencesWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    policy_types: list[PolicyType] = Field(
        default_factory=list, max_length=4,
        description="关注的政策类型：reduction 减税降费、subsidy 资金补贴、right 权益保障、"
                    "qualification 资质认定；空表示全部")
    departments: list[str] = Field(default_factory=list, max_length=50,
                                   description="关注的部门编码；空表示全部")
    mode: Mode = Field(default="immediate", description="immediate 即时推送 / digest 每日汇总一次")
    quiet_start: str = Field(default="21:00", pattern=HHMM, description="免打扰开始（北京时间 HH:MM）")
    quiet_end: str = Field(default="08:00", pattern=HHMM,
                           description="免打扰结束（HH:MM）；与开始相同表示不设免打扰")

    @field_validator("policy_types", "departments")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @field_validator("departments")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        for code in v:
            if not code or len(code) > 16 or not all(ch.isalnum() or ch in "-_" for ch in code) or not code.isascii():
                raise ValueError("部门编码格式不正确")
        return v


class PreferencesRead(PreferencesWrite):
    model_config = ConfigDict(extra="ignore")

    updated_at: datetime | None = Field(default=None, description="最近修改时间；从未设置过为空")


class SubscriptionResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1, max_length=128, description="订阅消息模板编号")
    outcome: SubscribeOutcome = Field(
        description="wx.requestSubscribeMessage 的结果：accept 同意、reject 拒绝、ban 被封禁、filter 被过滤")


class SubscriptionResults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: list[SubscriptionResult] = Field(min_length=1, max_length=10)


class SubscriptionCredit(BaseModel):
    template_id: str
    purpose: Literal["policy", "notice"] = Field(description="policy 惠企政策推送 / notice 办件通知")
    credits: int = Field(description="剩余可接收的订阅消息条数")
    last_outcome: str = Field(description="最近一次授权结果（accept/reject/ban/filter/refused），未授权过为空")


class SubscriptionList(BaseModel):
    items: list[SubscriptionCredit]
