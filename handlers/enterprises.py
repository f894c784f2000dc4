from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from handlers.base import Call, endpoint
from services.auth.roles import ENTERPRISE, SERVICE_STAFF, Role
from services.enterprises import service as enterprises
from services.enterprises.schemas import (EnterprisePage, EnterpriseRead, EnterpriseWrite,
                                          IndustryList, InvitationRead, JoinRequest)

READERS = ENTERPRISE | SERVICE_STAFF


class EnterpriseQuery(BaseModel):
    q: str | None = Field(default=None, max_length=64, description="企业名称关键字")
    size_class: Literal["large", "medium", "small", "micro"] | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


@endpoint("POST", "/api/v1/enterprises", roles={Role.VISITOR}, tag="企业", status=201,
          summary="企业认证：登记企业信息并自动划型（大/中/小/微）",
          body=EnterpriseWrite, response=EnterpriseRead, errors=(409, 422))
async def register(call: Call) -> EnterpriseRead:
    return await enterprises.create(call.rt, principal=call.user, data=call.body, ip=call.client_ip,
                                    request_id=call.request_id)


@endpoint("GET", "/api/v1/enterprises/{id}", roles=READERS, tag="企业", summary="企业信息",
          response=EnterpriseRead, errors=(404,))
async def read(call: Call) -> EnterpriseRead:
    return await enterprises.get(call.rt, principal=call.user, enterprise_id=call.path["id"])


@endpoint("PUT", "/api/v1/enterprises/{id}", roles={Role.ENTERPRISE_OWNER}, tag="企业",
          summary="修改企业信息（重新划型）", body=EnterpriseWrite, response=EnterpriseRead,
          errors=(404, 422))
async def update(call: Call) -> EnterpriseRead:
    return await enterprises.update(call.rt, principal=call.user, enterprise_id=call.path["id"],
                                    data=call.body, ip=call.client_ip, request_id=call.request_id)


@endpoint("GET", "/api/v1/enterprises", roles=SERVICE_STAFF, tag="企业", summary="企业列表（工作人员）",
          query=EnterpriseQuery, response=EnterprisePage)
async def list_(call: Call) -> EnterprisePage:
    q = call.query
    return await enterprises.list_(call.rt, principal=call.user, q=q.q, size_class=q.size_class,
                                   page=q.page, page_size=q.page_size)


@endpoint("POST", "/api/v1/enterprises/{id}/invitations", roles={Role.ENTERPRISE_OWNER}, tag="企业",
          summary="生成一次性邀请码（72 小时内有效）", status=201, response=InvitationRead, errors=(404,))
async def invite(call: Call) -> InvitationRead:
    return await enterprises.invite(principal=call.user, enterprise_id=call.path["id"],
                                    ip=call.client_ip, request_id=call.request_id)


@endpoint("POST", "/api/v1/enterprises/join", roles={Role.VISITOR}, tag="企业",
          summary="凭邀请码加入企业", body=JoinRequest, response=EnterpriseRead,
          errors=(404, 409, 410, 422))
async def join(call: Call) -> EnterpriseRead:
    return await enterprises.join(call.rt, principal=call.user, code=call.body.code,
                                  ip=call.client_ip, request_id=call.request_id)


@endpoint("GET", "/api/v1/reference/industries", roles=None, tag="企业",
          summary="行业选择列表（GB/T 4754-2017）及各行业划型所需指标", response=IndustryList)
async def industries(call: Call) -> IndustryList:
    return enterprises.industries()
