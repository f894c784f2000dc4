"""惠企政策: the library (staff), the feed and browsing (enterprises), 免申即享 consent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from handlers.base import Call, endpoint
from services.auth.roles import ENTERPRISE, WECHAT_ROLES, Role
from services.policies import service as policies
from services.policies.schemas import (CampaignFigures, ConsentPage, ConsentRead, EnterpriseTagsRead,
                                       EnterpriseTagsWrite, MatchPreview, MatchPreviewRequest,
                                       PolicyOptions, PolicyPage, PolicyRead, PolicyStatus, PolicyType,
                                       PolicyWrite, RecommendedPage, ReviewComment, WithdrawRequest)

OFFICERS = frozenset({Role.POLICY_OFFICER})
#: Staff who read the library: policy officers write it, supervisors and consultants
#: need it to answer enterprises. Admins have no business here (三员分立).
STAFF_READERS = frozenset({Role.POLICY_OFFICER, Role.SUPERVISOR, Role.CONSULTANT})
#: Visitors (logged in, no enterprise yet) may browse what is in force before registering.
READERS = WECHAT_ROLES | STAFF_READERS
TAG = "惠企政策"
ADMIN_TAG = "政策管理"


class PolicyQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    type: PolicyType | None = Field(default=None, description="政策类型")
    # The field is called policy_type in every policy body; both spellings filter.
    policy_type: PolicyType | None = Field(default=None, description="政策类型（同 type）")
    department: str | None = Field(default=None, max_length=16, description="发文部门编码")
    q: str | None = Field(default=None, max_length=64, description="标题、摘要或文号关键字")
    no_application: bool | None = Field(default=None, description="只看免申即享")
    status: PolicyStatus | None = Field(default=None, description="状态（仅工作人员；企业只能看到已发布的）")
    series_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="同一政策的各版本（仅工作人员）")
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=50)


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


class DetailQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str | None = Field(default=None, alias="from", max_length=16,
                              description="打开来源：message（订阅消息）或 inbox（消息列表），用于已读回执")
    delivery_id: int | None = Field(default=None, ge=1, description="订阅消息的投递编号")


@endpoint("GET", "/api/v1/policies", roles=READERS, tag=TAG, query=PolicyQuery, response=PolicyPage,
          summary="政策库：按类型、部门、关键字浏览（企业只看到现行有效的政策）")
async def list_(call: Call) -> PolicyPage:
    q = call.query
    return await policies.list_(viewer=call.user, policy_type=q.type or q.policy_type, department=q.department, q=q.q,
                                status=q.status, no_application=q.no_application, series_id=q.series_id,
                                page=q.page, page_size=q.page_size)


@endpoint("GET", "/api/v1/policies/recommended", roles=ENTERPRISE, tag=TAG, query=PageQuery,
          response=RecommendedPage, errors=(404,),
          summary="为本企业推荐的政策：符合条件的现行政策，匹配度高的在前，附符合理由和缺少的资料")
async def recommended(call: Call) -> dict:
    return await policies.recommended(call.rt, viewer=call.user, page=call.query.page,
                                      page_size=call.query.page_size)


@endpoint("GET", "/api/v1/policies/{id}", roles=READERS, tag=TAG, query=DetailQuery, response=PolicyRead,
          errors=(404,), summary="政策详情（企业用户附本企业的匹配情况；工作人员附版本和审核记录）")
async def read(call: Call) -> PolicyRead:
    return await policies.get(call.rt, policy_id=call.path["id"], viewer=call.user, source=call.query.from_)


@endpoint("POST", "/api/v1/policies", roles=OFFICERS, tag=ADMIN_TAG, status=201, body=PolicyWrite,
          response=PolicyRead, errors=(422,), summary="起草政策（草稿；返回当前符合条件的企业数）")
async def create(call: Call) -> PolicyRead:
    return await policies.create(call.rt, data=call.body, actor=call.user, ip=call.client_ip,
                                  request_id=call.request_id)


@endpoint("PUT", "/api/v1/policies/{id}", roles=OFFICERS, tag=ADMIN_TAG, body=PolicyWrite, response=PolicyRead,
          errors=(404, 409, 422), summary="修改草稿（已发布的政策只能通过新版本修改）")
async def update(call: Call) -> PolicyRead:
    return await policies.update(call.rt, policy_id=call.path["id"], data=call.body, actor=call.user,
                                  ip=call.client_ip, request_id=call.request_id)


@endpoint("POST", "/api/v1/policies/{id}/submit", roles=OFFICERS, tag=ADMIN_TAG, response=PolicyRead,
          errors=(404, 409), summary="提交审核（由另一位政策专员审核）")
async def submit(call: Call) -> PolicyRead:
    return await policies.submit(call.rt, policy_id=call.path["id"], actor=call.user, ip=call.client_ip,
                                  request_id=call.request_id)


@endpoint("POST", "/api/v1/policies/{id}/approve", roles=OFFICERS, tag=ADMIN_TAG, response=PolicyRead,
          errors=(404, 409), summary="审核通过并发布：替代现行版本，向符合条件的企业推送")
async def approve(call: Call) -> PolicyRead:
    return await policies.approve(call.rt, policy_id=call.path["id"], actor=call.user, ip=call.client_ip,
                                   request_id=call.request_id)


@endpoint("POST", "/api/v1/policies/{id}/reject", roles=OFFICERS, tag=ADMIN_TAG, body=ReviewComment,
          response=PolicyRead, errors=(404, 409), summary="审核退回修改（附意见）")
async def reject(call: Call) -> PolicyRead:
    return await policies.reject(call.rt, policy_id=call.path["id"], comment=call.body.comment,
                                  actor=call.user, ip=call.client_ip, request_id=call.request_id)


@endpoint("POST", "/api/v1/policies/{id}/withdraw", roles=OFFICERS, tag=ADMIN_TAG, body=WithdrawRequest,
          response=PolicyRead, errors=(404, 409), summary="撤回已发布的政策（附原因）")
async def withdraw(call: Call) -> PolicyRead:
    return await policies.withdraw(call.rt, policy_id=call.path["id"], reason=call.body.reason,
                                    actor=call.user, ip=call.client_ip, request_id=call.request_id)


@endpoint("POST", "/api/v1/policies/{id}/versions", roles=OFFICERS, tag=ADMIN_TAG, status=201,
          response=PolicyRead, errors=(404, 409),
          summary="基于最新版本创建新版本（复制内容的草稿；发布后替代现行版本）")
async def new_version(call: Call) -> PolicyRead:
    return await policies.new_version(call.rt, policy_id=call.path["id"], actor=call.user, ip=call.client_ip,
                                       request_id=call.request_id)


@endpoint("POST", "/api/v1/policies/match-preview", roles=OFFICERS, tag=ADMIN_TAG, body=MatchPreviewRequest,
          response=MatchPreview, errors=(422,), summary="实时预览：当前有多少企业符合这些条件")
async def match_preview(call: Call) -> MatchPreview:
    return await policies.preview(rules=call.body.rules)


@endpoint("POST", "/api/v1/policies/{id}/consent", roles=ENTERPRISE, tag=TAG, response=ConsentRead,
          errors=(404, 409), summary="免申即享：确认享受（每个企业一次，重复确认不变）")
async def consent(call: Call) -> ConsentRead:
    return await policies.consent(call.rt, policy_id=call.path["id"], viewer=call.user, ip=call.client_ip,
                                   request_id=call.request_id)


@endpoint("GET", "/api/v1/policies/{id}/consents", roles={Role.POLICY_OFFICER, Role.SUPERVISOR}, tag=ADMIN_TAG,
          query=PageQuery, response=ConsentPage, errors=(404,), summary="免申即享确认名单（各版本合计）")
async def consents(call: Call) -> ConsentPage:
    return await policies.consents(policy_id=call.path["id"], page=call.query.page,
                                   page_size=call.query.page_size)


@endpoint("GET", "/api/v1/policies/{id}/campaign", roles=OFFICERS, tag=ADMIN_TAG, response=CampaignFigures,
          errors=(404,), summary="该版本发布时的推送情况：匹配、送达、已读")
async def campaign(call: Call) -> CampaignFigures:
    return await policies.campaign(policy_id=call.path["id"])


@endpoint("GET", "/api/v1/reference/policy-options", roles=None, tag=TAG, response=PolicyOptions,
          summary="政策类型、状态、企业规模、企业资质和划型行业类别的代码表")
async def policy_options(call: Call) -> PolicyOptions:
    return policies.options()


@endpoint("GET", "/api/v1/enterprises/{id}/tags", roles=ENTERPRISE | STAFF_READERS, tag=TAG,
          response=EnterpriseTagsRead, errors=(404,), summary="企业资质标签（政策匹配使用）")
async def get_tags(call: Call) -> EnterpriseTagsRead:
    return await policies.get_tags(viewer=call.user, enterprise_id=call.path["id"])


@endpoint("PUT", "/api/v1/enterprises/{id}/tags", roles={Role.ENTERPRISE_OWNER, Role.POLICY_OFFICER}, tag=TAG,
          body=EnterpriseTagsWrite, response=EnterpriseTagsRead, errors=(404, 422),
          summary="设置企业资质标签（企业负责人填报，政策专员可核实更正）")
async def set_tags(call: Call) -> EnterpriseTagsRead:
    return await policies.set_tags(call.rt, viewer=call.user, enterprise_id=call.path["id"], tags=call.body.tags,
                                    ip=call.client_ip, request_id=call.request_id)
