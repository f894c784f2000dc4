"""The enterprise user's messages: inbox, notification preferences, subscribe consents."""

from __future__ import annotations

from handlers.base import Call, endpoint
from services.auth.roles import WECHAT_ROLES, Role
from services.messages import service as messages
from services.messages.schemas import (InboxItem, InboxPage, InboxQuery, PreferencesRead,
                                       PreferencesWrite, SubscriptionList, SubscriptionResults)

TAG = "消息与订阅"


#: Consultants and supervisors get their case notices (assignment, reminders, 催办,
#: 通报) in the same inbox; the console shows it.
INBOX_ROLES = WECHAT_ROLES | {Role.CONSULTANT, Role.SUPERVISOR}

@endpoint("GET", "/api/v1/inbox", roles=INBOX_ROLES, tag=TAG, summary="我的消息（含未读数）",
          query=InboxQuery, response=InboxPage)
async def inbox(call: Call) -> InboxPage:
    q = call.query
    return await messages.list_inbox(principal=call.user, unread_only=q.unread_only, page=q.page,
                                     page_size=q.page_size)


@endpoint("POST", "/api/v1/inbox/{id}/read", roles=INBOX_ROLES, tag=TAG, summary="标记消息已读",
          response=InboxItem, errors=(404,))
async def read(call: Call) -> InboxItem:
    return await messages.read_message(principal=call.user, message_id=call.path["id"])


@endpoint("GET", "/api/v1/preferences", roles=WECHAT_ROLES, tag=TAG,
          summary="推送偏好：关注的政策类型与部门、即时或每日汇总、免打扰时段", response=PreferencesRead)
async def preferences(call: Call) -> PreferencesRead:
    return await messages.get_preferences(principal=call.user)


@endpoint("PUT", "/api/v1/preferences", roles=WECHAT_ROLES, tag=TAG, summary="修改推送偏好",
          body=PreferencesWrite, response=PreferencesRead, errors=(422,))
async def update_preferences(call: Call) -> PreferencesRead:
    return await messages.update_preferences(principal=call.user, data=call.body)


@endpoint("GET", "/api/v1/subscriptions", roles=WECHAT_ROLES, tag=TAG,
          summary="我的订阅消息授权（各模板剩余条数）", response=SubscriptionList, errors=(422,))
async def subscriptions(call: Call) -> SubscriptionList:
    return await messages.list_subscriptions(call.rt, principal=call.user)


@endpoint("POST", "/api/v1/subscriptions/results", roles=WECHAT_ROLES, tag=TAG,
          summary="上报订阅消息授权结果（wx.requestSubscribeMessage）", body=SubscriptionResults,
          response=SubscriptionList, errors=(422,))
async def record_subscriptions(call: Call) -> SubscriptionList:
    """Each ``accept`` allows one subscribe message of that template; WeChat's own
    popup event reports the same tap and is not counted twice."""
    return await messages.record_subscriptions(call.rt, principal=call.user, data=call.body)
