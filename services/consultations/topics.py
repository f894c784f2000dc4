"""The managed taxonomy of consultation topics (主题分类).

Policy staff add topics (also from an emerging cluster in the insights), rename them,
change their keywords or default department, and retire them. A retired topic stays on
old cases for statistics; classification stops proposing it. Intake reads the taxonomy
from a per-process copy tied to the catalogue version, so every write bumps it.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.catalogue import Department
from models.consultation import Topic
from services import audit
from services.auth.principal import Principal
from services.errors import Conflict, NotFound, ValidationFailed
from services.runtime import Runtime

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


class TopicWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=32, description="主题名称")
    keywords: list[str] = Field(min_length=1, max_length=40, description="识别关键词（至少一个）")
    department_code: str | None = Field(default=None, max_length=16, description="默认承办部门")
    is_active: bool = Field(default=True, description="停用后不再自动归类到此主题")

    @field_validator("keywords")
    @classmethod
    def _clean(cls, v: list[str]) -> list[str]:
        words = list(dict.fromkeys(w.strip() for w in v if w and w.strip()))
        if not words:
            raise ValueError("请至少填写一个关键词")
        if any(len(w) > 16 for w in words):
            raise ValueError("每个关键词最多 16 个字")
        return words


class TopicCreate(TopicWrite):
    code: str = Field(min_length=2, max_length=32, description="主题编码（小写字母、数字、下划线）")

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not _CODE.match(v):
            raise ValueError("编码应以小写字母开头，只含小写字母、数字和下划线")
        return v


class TopicAdmin(BaseModel):
    id: int
    code: str
    name: str
    keywords: list[str]
    department: dict | None
    is_active: bool


class TopicAdminList(BaseModel):
    items: list[TopicAdmin]


async def _view(t: Topic) -> dict:
    dept = await Department.get_or_none(id=t.department_id) if t.department_id else None
    return {"id": t.id, "code": t.code, "name": t.name, "keywords": list(t.keywords or []),
            "department": {"code": dept.code, "name": dept.name} if dept else None, "is_active": t.is_active}


async def list_all() -> dict:
    return {"items": [await _view(t) for t in await Topic.all().order_by("sort_order", "id")]}


async def _department_id(code: str | None) -> int | None:
    if code is None:
        return None
    dept = await Department.get_or_none(code=code)
    if dept is None:
        raise ValidationFailed.field("department_code", "部门不存在", code="unknown_department")
    return dept.id


async def _changed(rt: Runtime) -> None:
    from services.service_items.service import bump_version

    await bump_version(rt)


async def create(rt: Runtime, *, data: TopicCreate, actor: Principal, ip: str = "", request_id: str = "") -> dict:
    if await Topic.filter(code=data.code).exists():
        raise Conflict("主题编码已存在", code="duplicate_topic")
    order = await Topic.all().count()
    t = await Topic.create(code=data.code, name=data.name, keywords=data.keywords, is_active=data.is_active,
                           department_id=await _department_id(data.department_code), sort_order=order)
    await _changed(rt)
    await audit.record("topic_created", actor=actor, target_type="topic", target_id=t.id, ip=ip,
                       request_id=request_id, details={"code": t.code})
    return await _view(t)


async def update(rt: Runtime, *, topic_id: int, data: TopicWrite, actor: Principal, ip: str = "",
                 request_id: str = "") -> dict:
    t = await Topic.get_or_none(id=topic_id)
    if t is None:
        raise NotFound("主题不存在", code="topic_not_found")
    t.name, t.keywords, t.is_active = data.name, data.keywords, data.is_active
    t.department_id = await _department_id(data.department_code)
    await t.save()
    await _changed(rt)
    await audit.record("topic_updated", actor=actor, target_type="topic", target_id=t.id, ip=ip,
                       request_id=request_id, details={"code": t.code, "is_active": t.is_active})
    return await _view(t)
