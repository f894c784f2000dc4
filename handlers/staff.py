"""Staff accounts (系统管理员) and role grants / unlocks (安全管理员)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from handlers.auth import user_read
from handlers.base import Call, endpoint
from handlers.schemas import UserRead
from services.auth import service as auth
from services.auth.roles import Role


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=10, max_length=128)
    role: Role
    display_name: str = Field(default="", max_length=64)
    department_code: str | None = Field(default=None, max_length=16)


class StaffRead(UserRead):
    department_code: str | None = None
    department_name: str | None = None
    locked_until: datetime | None = None
    is_active: bool = True


class StaffPage(BaseModel):
    items: list[StaffRead]
    total: int
    page: int
    page_size: int


class StaffQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=50, ge=1, le=100)


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


async def staff_read(user) -> StaffRead:
    await user.fetch_related("department")
    dept = user.department
    return StaffRead(**user_read(user).model_dump(), locked_until=user.locked_until,
                     is_active=user.is_active, department_code=dept.code if dept else None,
                     department_name=dept.name if dept else None)


@endpoint("GET", "/api/v1/staff", roles={Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN}, tag="账号管理",
          summary="工作人员账号列表", query=StaffQuery, response=StaffPage)
async def list_staff(call: Call) -> StaffPage:
    rows, total = await auth.list_staff(page=call.query.page, page_size=call.query.page_size)
    return StaffPage(items=[await staff_read(u) for u in rows], total=total, page=call.query.page,
                     page_size=call.query.page_size)


@endpoint("POST", "/api/v1/staff", roles={Role.SYSTEM_ADMIN}, tag="账号管理", status=201,
          summary="创建工作人员账号（业务角色；管理员角色由安全管理员授予）", body=StaffCreate,
          response=StaffRead, errors=(409, 422))
async def create_staff(call: Call) -> StaffRead:
    b = call.body
    user = await auth.create_staff(username=b.username, password=b.password, role=b.role,
                                   display_name=b.display_name, department_code=b.department_code,
                                   actor=call.user, ip=call.client_ip, request_id=call.request_id)
    return await staff_read(user)


@endpoint("PUT", "/api/v1/staff/{id}/role", roles={Role.SECURITY_ADMIN}, tag="账号管理",
          summary="授予或变更角色（其现有登录全部失效）", body=RoleChange, response=StaffRead,
          errors=(404, 422))
async def change_role(call: Call) -> StaffRead:
    user = await auth.change_role(call.rt, user_id=call.path["id"], role=call.body.role, actor=call.user,
                                  ip=call.client_ip, request_id=call.request_id)
    return await staff_read(user)


@endpoint("POST", "/api/v1/staff/{id}/unlock", roles={Role.SECURITY_ADMIN}, tag="账号管理",
          summary="解除账号锁定", response=StaffRead, errors=(404,))
async def unlock(call: Call) -> StaffRead:
    user = await auth.unlock(call.rt, user_id=call.path["id"], actor=call.user, ip=call.client_ip,
                             request_id=call.request_id)
    return await staff_read(user)
