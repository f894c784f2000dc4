"""常用答复 and the knowledge base (FAQ): what consultants answer with, suggestions for one
case, publishing an answered case as a de-identified FAQ entry, and reading the FAQ."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from handlers.base import Call, endpoint
from services.auth.roles import WECHAT_ROLES, Role
from services.consultations import knowledge
from services.consultations.knowledge import (CannedAnswerList, CannedAnswerRead, CannedAnswerWrite, FaqPage,
                                              FaqPublish, FaqRead, FaqStatus, SuggestedAnswers)

TAG = "常用答复与知识库"
CASE_STAFF = frozenset({Role.CONSULTANT, Role.SUPERVISOR})
SUPERVISORS = frozenset({Role.SUPERVISOR})
#: Everyone logged in who serves or is served: enterprises and visitors read the FAQ in
#: the mini-program, staff who answer enterprises in the console. Admins have no
#: business with it (三员分立).
FAQ_READERS = WECHAT_ROLES | CASE_STAFF | {Role.POLICY_OFFICER}


class CannedQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    topic_code: str | None = Field(default=None, max_length=32, description="主题编码")
    q: str | None = Field(default=None, max_length=64, description="标题或正文关键字")


class FaqQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    q: str | None = Field(default=None, max_length=64, description="问题或答复关键字")
    topic_code: str | None = Field(default=None, max_length=32, description="主题编码")
    service_item_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="相关事项")
    status: FaqStatus | None = Field(default=None, description="状态：不填为已发布；待审核、已撤回仅部门主管可查（其他人 403）")
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


@endpoint("GET", "/api/v1/canned-answers", roles=CASE_STAFF, tag=TAG, query=CannedQuery, response=CannedAnswerList,
          summary="常用答复：本部门的和全专区通用的，可按主题和关键字筛选")
async def list_canned(call: Call) -> dict:
    return {"items": await knowledge.list_canned(call.user, topic_code=call.query.topic_code, q=call.query.q)}


@endpoint("POST", "/api/v1/canned-answers", roles=SUPERVISORS, tag=TAG, status=201, body=CannedAnswerWrite,
          response=CannedAnswerRead, errors=(409, 422), summary="新增本部门的常用答复（部门主管）")
async def create_canned(call: Call) -> dict:
    return await knowledge.create_canned(call.user, call.body)


@endpoint("PUT", "/api/v1/canned-answers/{id}", roles=SUPERVISORS, tag=TAG, body=CannedAnswerWrite,
          response=CannedAnswerRead, errors=(404, 409, 422), summary="修改本部门的常用答复（部门主管）")
async def update_canned(call: Call) -> dict:
    return await knowledge.update_canned(call.user, call.path["id"], call.body)


@endpoint("DELETE", "/api/v1/canned-answers/{id}", roles=SUPERVISORS, tag=TAG, status=204, errors=(404,),
          summary="停用本部门的常用答复（部门主管；已发出的答复不受影响）")
async def delete_canned(call: Call) -> None:
    await knowledge.delete_canned(call.user, call.path["id"])


@endpoint("GET", "/api/v1/consultations/{id}/suggested-answers", roles=CASE_STAFF, tag=TAG,
          response=SuggestedAnswers, errors=(404,),
          summary="为该咨询推荐的常用答复和知识库条目（同主题优先，其次按内容相似度）")
async def suggested(call: Call) -> dict:
    return await knowledge.suggested(call.user, call.path["id"])


@endpoint("POST", "/api/v1/consultations/{id}/faq", roles=CASE_STAFF, tag=TAG, status=201, body=FaqPublish,
          response=FaqRead, errors=(404, 409, 422),
          summary="将已答复的咨询发布为知识库条目（自动去除企业名称、电话、证件号等，并经内容安全检查）")
async def publish_faq(call: Call) -> dict:
    return await knowledge.publish(call.rt, case_id=call.path["id"], data=call.body, viewer=call.user,
                                   ip=call.client_ip, request_id=call.request_id)


@endpoint("GET", "/api/v1/faq", roles=FAQ_READERS, tag=TAG, query=FaqQuery, response=FaqPage, errors=(403,),
          summary="知识库：已发布的常见问题；部门主管可用 status=held 查看待审核条目")
async def list_faq(call: Call) -> dict:
    q = call.query
    return await knowledge.list_faq(call.user, q=q.q, topic_code=q.topic_code, service_item_id=q.service_item_id,
                                    status=q.status, page=q.page, page_size=q.page_size)


@endpoint("POST", "/api/v1/faq/{id}/release", roles=SUPERVISORS, tag=TAG, response=FaqRead, errors=(404, 409),
          summary="放行待审核的知识库条目（部门主管）")
async def release_faq(call: Call) -> dict:
    return await knowledge.release(call.rt, call.user, call.path["id"], ip=call.client_ip,
                                   request_id=call.request_id)


@endpoint("POST", "/api/v1/faq/{id}/withdraw", roles=SUPERVISORS, tag=TAG, response=FaqRead, errors=(404, 409),
          summary="撤回知识库条目（部门主管；企业端不再显示）")
async def withdraw_faq(call: Call) -> dict:
    return await knowledge.withdraw(call.rt, call.user, call.path["id"], ip=call.client_ip,
                                    request_id=call.request_id)
