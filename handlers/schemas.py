"""Small response shapes shared by several handlers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Hello(BaseModel):
    message: str


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


class UserRead(BaseModel):
    id: int
    kind: str = Field(description="wechat 或 staff")
    role: str
    role_label: str
    display_name: str
    enterprise_id: int | None = None
    department_id: int | None = None
    username: str | None = None


class LoginResponse(BaseModel):
    token: str = Field(description="放在 Authorization: Bearer 中使用")
    user: UserRead


class WeChatLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=128, description="wx.login 得到的 code")


class StaffLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ErrorDetail(BaseModel):
    code: str
    message: str = Field(description="中文错误说明")
    details: list[dict[str, str]] | dict | None = None
    request_id: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str = Field(default="", description="操作人用户名或显示名")
    actor_role: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    ip: str
    request_id: str
    details: dict


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    total: int
    page: int
    page_size: int
