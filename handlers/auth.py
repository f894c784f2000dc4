from __future__ import annotations

from handlers.base import Call, endpoint
from handlers.schemas import LoginResponse, StaffLogin, UserRead, WeChatLogin
from models import User
from services.auth import service as auth
from services.auth.roles import ANY_USER, ROLE_LABELS, Role


def user_read(user: User) -> UserRead:
    return UserRead(id=user.id, kind=user.kind, role=user.role, role_label=ROLE_LABELS[Role(user.role)],
                    display_name=user.display_name, enterprise_id=user.enterprise_id,
                    department_id=user.department_id, username=user.username)


@endpoint("POST", "/api/v1/auth/wechat-login", roles=None, tag="登录",
          summary="小程序登录：用 wx.login 的 code 换取本系统的登录凭证",
          body=WeChatLogin, response=LoginResponse, errors=(401, 503))
async def wechat_login(call: Call) -> LoginResponse:
    result = await auth.wechat_login(call.rt, code=call.body.code, ip=call.client_ip)
    return LoginResponse(token=result.token, user=user_read(result.user))


@endpoint("POST", "/api/v1/auth/staff-login", roles=None, tag="登录", summary="工作人员登录",
          body=StaffLogin, response=LoginResponse, errors=(401, 423))
async def staff_login(call: Call) -> LoginResponse:
    result = await auth.staff_login(call.rt, username=call.body.username, password=call.body.password,
                                    ip=call.client_ip, request_id=call.request_id)
    return LoginResponse(token=result.token, user=user_read(result.user))


@endpoint("POST", "/api/v1/auth/logout", roles=ANY_USER, tag="登录", summary="退出登录（吊销当前凭证）",
          status=204)
async def logout(call: Call) -> None:
    await auth.logout(call.rt, principal=call.user, ip=call.client_ip, request_id=call.request_id)


@endpoint("GET", "/api/v1/me", roles=ANY_USER, tag="登录", summary="当前用户", response=UserRead)
async def me(call: Call) -> UserRead:
    user = await auth.get_user(call.user.user_id)
    read = user_read(user)
    # The session is the truth for the role (it changes on registration without a new login).
    read.role, read.role_label = str(call.user.role), ROLE_LABELS[call.user.role]
    read.enterprise_id = call.user.enterprise_id
    return read
