"""主题分类管理: the taxonomy that classification and the statistics use (policy staff)."""

from __future__ import annotations

from handlers.base import Call, endpoint
from services.auth.roles import Role
from services.consultations import topics

TAG = "主题分类"
MANAGERS = frozenset({Role.POLICY_OFFICER})


@endpoint("GET", "/api/v1/topics/all", roles=MANAGERS | {Role.SUPERVISOR}, tag=TAG, response=topics.TopicAdminList,
          summary="全部主题（含停用的、关键词和默认部门）")
async def list_all(call: Call) -> dict:
    return await topics.list_all()


@endpoint("POST", "/api/v1/topics", roles=MANAGERS, tag=TAG, status=201, body=topics.TopicCreate,
          response=topics.TopicAdmin, errors=(409, 422), summary="新增主题")
async def create(call: Call) -> dict:
    return await topics.create(call.rt, data=call.body, actor=call.user, ip=call.client_ip,
                               request_id=call.request_id)


@endpoint("PUT", "/api/v1/topics/{id}", roles=MANAGERS, tag=TAG, body=topics.TopicWrite, response=topics.TopicAdmin,
          errors=(404, 422), summary="修改主题名称、关键词、默认部门或停用")
async def update(call: Call) -> dict:
    return await topics.update(call.rt, topic_id=call.path["id"], data=call.body, actor=call.user,
                               ip=call.client_ip, request_id=call.request_id)
