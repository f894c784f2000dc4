"""Logging in (WeChat and staff), logging out, and staff accounts.

Staff passwords are argon2 hashes. Five failures lock the account for 30 minutes;
the lock is a column, not a Redis key, so flushing Redis cannot unlock anyone.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.expressions import F

from models import Enterprise, User
from services import audit
from services.auth import sessions
from services.auth.principal import Principal
from services.auth.roles import STAFF_ROLES, WECHAT_ROLES, Role
from services.errors import (Conflict, Locked, NotAuthenticated, NotFound, PermissionDenied,
                             Unavailable, ValidationFailed)
from services.runtime import Runtime

TZ = ZoneInfo("Asia/Shanghai")


def _password_hasher() -> PasswordHasher:
    """argon2id at the library's defaults (RFC 9106's low-memory choice: 64 MiB, 3 passes;
    100–200 ms a hash on a 2-core host), unless ``PASSWORD_HASH_PROFILE=test``.

    The test suites set that profile (tests/conftest.py) because they create staff
    accounts (a hash each) and log them in (a verify each) hundreds of times, and at
    100–200 ms apiece that was much of their run. The profile keeps the same code and the same hash format at 1 MiB
    and 1 pass (under a millisecond). Verification reads its costs from the stored
    hash, so either kind of hash verifies under either profile; a process that runs
    with the test profile says so at start (``server.__main__``)."""
    if hashes_at_test_strength():
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def hashes_at_test_strength() -> bool:
    """Whether this process hashes passwords at test strength (see :func:`_password_hasher`)."""
    return os.environ.get("PASSWORD_HASH_PROFILE", "") == "test"


_hasher = _password_hasher()
# Verified against when the username does not exist, so timing does not reveal which.
_DUMMY_HASH = _hasher.hash("no-such-user-dummy-password")
#: Roles the system admin may give when creating an account; admin roles are the
#: security admin's to grant (三员分立).
BUSINESS_STAFF_ROLES = frozenset({Role.CONSULTANT, Role.SUPERVISOR, Role.POLICY_OFFICER})


@dataclass
class LoginResult:
    token: str
    user: User


def now() -> datetime:
    return datetime.now(TZ)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(hash_: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(hash_, password)
        except (VerificationError, InvalidHashError):
            return False
    return await asyncio.to_thread(check)


def role_of_wechat_user(user: User, enterprise: Enterprise | None) -> Role:
    if enterprise is None:
        return Role.VISITOR
    return Role.ENTERPRISE_OWNER if enterprise.owner_id == user.id else Role.ENTERPRISE_MEMBER


async def wechat_login(rt: Runtime, *, code: str, ip: str = "") -> LoginResult:
    from wechat.gateway import WeChatError  # the adapter's error type only

    try:
        session = await rt.gateway.code2session(code)
    except WeChatError as exc:
        if exc.transient:
            raise Unavailable("微信服务暂时不可用，请稍后重试") from None
        raise NotAuthenticated("微信登录凭证无效或已过期，请重新进入小程序", code="invalid_wechat_code") from None
    user = await User.get_or_none(openid=session.openid)
    if user is None:
        user = await User.create(kind="wechat", openid=session.openid, unionid=session.unionid,
                                 role=Role.VISITOR, display_name="微信用户")
    elif session.unionid and user.unionid != session.unionid:
        user.unionid = session.unionid
    enterprise = await Enterprise.get_or_none(id=user.enterprise_id) if user.enterprise_id else None
    user.role = role_of_wechat_user(user, enterprise)
    user.last_login_at = now()
    await user.save()
    # session_key stays here: we never return or store it; our own token stands in for it.
    token = await sessions.create(rt, user_id=user.id, role=Role(user.role),
                                  enterprise_id=user.enterprise_id, openid=user.openid)
    return LoginResult(token=token, user=user)


async def staff_login(rt: Runtime, *, username: str, password: str, ip: str = "",
                      request_id: str = "") -> LoginResult:
    user = await User.get_or_none(username=username, kind="staff")
    if user is None or not user.is_active:
        await _verify(_DUMMY_HASH, password)
        await audit.record("login_failed", target_type="staff", target_id=username[:64], outcome="failure",
                           ip=ip, request_id=request_id, details={"reason": "unknown_user"})
        raise NotAuthenticated("用户名或密码错误", code="invalid_credentials")
    t = now()
    if user.locked_until and user.locked_until > t:
        minutes = int((user.locked_until - t).total_seconds() // 60) + 1
        await audit.record("login_refused_locked", actor_id=user.id, actor_role=user.role,
                           target_type="staff", target_id=user.id, outcome="failure", ip=ip,
                           request_id=request_id)
        raise Locked(f"登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试")
    if not await _verify(user.password_hash or _DUMMY_HASH, password):
        await User.filter(id=user.id).update(failed_logins=F("failed_logins") + 1)
        await user.refresh_from_db(fields=["failed_logins"])
        await audit.record("login_failed", actor_id=user.id, actor_role=user.role, target_type="staff",
                           target_id=user.id, outcome="failure", ip=ip, request_id=request_id,
                           details={"failures": user.failed_logins})
        if user.failed_logins >= rt.settings.login_max_failures:
            user.locked_until = t + timedelta(minutes=rt.settings.login_lock_minutes)
            user.failed_logins = 0
            await user.save(update_fields=["locked_until", "failed_logins"])
            await sessions.revoke_all(rt, user.id)
            await audit.record("account_locked", actor_id=user.id, actor_role=user.role,
                               target_type="staff", target_id=user.id, ip=ip, request_id=request_id,
                               details={"minutes": rt.settings.login_lock_minutes})
            raise Locked(f"连续 {rt.settings.login_max_failures} 次密码错误，账号已锁定 "
                         f"{rt.settings.login_lock_minutes} 分钟")
        left = rt.settings.login_max_failures - user.failed_logins
        raise NotAuthenticated(f"用户名或密码错误，还可尝试 {left} 次", code="invalid_credentials")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = t
    await user.save(update_fields=["failed_logins", "locked_until", "last_login_at"])
    token = await sessions.create(rt, user_id=user.id, role=Role(user.role), enterprise_id=None,
                                  department_id=user.department_id)
    await audit.record("login_success", actor_id=user.id, actor_role=user.role, target_type="staff",
                       target_id=user.id, ip=ip, request_id=request_id)
    return LoginResult(token=token, user=user)


async def logout(rt: Runtime, *, principal: Principal, ip: str = "", request_id: str = "") -> None:
    await sessions.revoke(rt, principal)
    if principal.is_staff:
        await audit.record("logout", actor=principal, target_type="staff", target_id=principal.user_id,
                           ip=ip, request_id=request_id)


async def get_user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


async def create_staff(*, username: str, password: str, role: Role, display_name: str = "",
                       department_code: str | None = None, actor: Principal | None = None,
                       ip: str = "", request_id: str = "") -> User:
    """Create a staff account. Through the API the system admin may create business
    roles only; ``actor=None`` is the command line, which bootstraps the admins."""
    from models import Department

    if role not in STAFF_ROLES:
        raise ValidationFailed.field("role", "只能创建工作人员角色")
    if actor is not None and role not in BUSINESS_STAFF_ROLES:
        raise PermissionDenied("管理员角色只能由安全管理员授予")
    if len(password) < 10:
        raise ValidationFailed.field("password", "密码至少 10 位")
    if await User.filter(username=username).exists():
        raise Conflict("用户名已存在")
    department = None
    if department_code:
        department = await Department.get_or_none(code=department_code)
        if department is None:
            raise ValidationFailed.field("department_code", "部门不存在")
    user = await User.create(kind="staff", username=username, role=role,
                             password_hash=await hash_password(password),
                             display_name=display_name or username, department=department)
    await audit.record("staff_created", actor=actor, target_type="staff", target_id=user.id, ip=ip,
                       request_id=request_id, details={"username": username, "role": str(role)})
    return user


async def list_staff(*, page: int, page_size: int) -> tuple[list[User], int]:
    qs = User.filter(kind="staff")
    return await qs.order_by("id").offset((page - 1) * page_size).limit(page_size), await qs.count()


async def change_role(rt: Runtime, *, user_id: int, role: Role, actor: Principal, ip: str = "",
                      request_id: str = "") -> User:
    if role not in STAFF_ROLES:
        raise ValidationFailed.field("role", "只能授予工作人员角色")
    if user_id == actor.user_id:
        raise PermissionDenied("不能修改自己的角色")
    user = await User.get_or_none(id=user_id, kind="staff")
    if user is None:
        raise NotFound("工作人员不存在")
    old = user.role
    user.role = role
    await user.save(update_fields=["role"])
    await sessions.revoke_all(rt, user.id)
    await audit.record("role_changed", actor=actor, target_type="staff", target_id=user.id, ip=ip,
                       request_id=request_id, details={"from": old, "to": str(role)})
    return user


async def unlock(rt: Runtime, *, user_id: int, actor: Principal, ip: str = "", request_id: str = "") -> User:
    user = await User.get_or_none(id=user_id, kind="staff")
    if user is None:
        raise NotFound("工作人员不存在")
    user.locked_until = None
    user.failed_logins = 0
    await user.save(update_fields=["locked_until", "failed_logins"])
    await audit.record("account_unlocked", actor=actor, target_type="staff", target_id=user.id, ip=ip,
                       request_id=request_id)
    return user


def is_wechat_role(role: str) -> bool:
    return role in WECHAT_ROLES
