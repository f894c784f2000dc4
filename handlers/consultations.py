"""咨询和反馈: intake (mini-program and offline), the enterprise's cases, the consultant's
workbench, supervision actions and the moderation queue."""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from handlers.base import Call, endpoint, render
from services.auth.roles import ENTERPRISE, Role
from services.consultations import service as cases
from services.consultations import views
from services.consultations.schemas import (CHANNEL_LABELS, ELEMENT_LABELS, KIND_LABELS, AssignBody,
                                            ClassificationBody, ConsultantList, ConsultationCreate,
                                            ConsultationOptions, ConsultationPage, ConsultationRead,
                                            DuplicateList, Kind, MergeBody, MessageWrite, OfflineIntake,
                                            ReasonBody, RequiredReason, ReturnBody, Status, TopicList)
from services.consultations.workflow import STATUS_LABELS
from services.errors import ValidationFailed

TAG = "咨询和反馈"
STAFF_TAG = "咨询办理"
CASE_STAFF = frozenset({Role.CONSULTANT, Role.SUPERVISOR})
#: Enterprises and the staff who handle cases: the roles that may open one case.
CASE_READERS = ENTERPRISE | CASE_STAFF
SUPERVISORS = frozenset({Role.SUPERVISOR})
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


def _idempotency_key(call: Call) -> str | None:
    key = call.request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not _KEY.match(key):
        raise ValidationFailed.field("Idempotency-Key", "Idempotency-Key 应为 8–64 位字母、数字或 _.:-",
                                     code="invalid_idempotency_key")
    return key


async def _read(call: Call, case_id: int) -> dict:
    row = await cases.load_for(call.user, case_id)
    return await views.detail(row, call.user)


def _created(body: dict, created: bool) -> web.Response:
    resp = render(body, 201)
    if not created:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


class ListQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    scope: str = Field(default="mine", pattern="^(mine|department|unrouted|all)$",
                       description="工作人员：mine 我的、department 本部门、unrouted 未分派部门、all 全部（含已结束）")
    status: Status | None = None
    state: str | None = Field(default=None, pattern="^(open|answered|finished)$",
                              description="状态分组：open 办理中、answered 已答复、finished 已结束（与 status 二选一）")
    kind: Kind | None = None
    overdue: bool | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


@endpoint("POST", "/api/v1/consultations", roles=ENTERPRISE, tag=TAG, status=201, body=ConsultationCreate,
          response=ConsultationRead, errors=(403, 409, 422, 429), idempotent=True, counts=cases.RATE_BUCKET,
          summary="提交咨询、建议或投诉（经内容安全检查；同一 Idempotency-Key 只创建一次）")
async def create(call: Call) -> web.Response:
    row, created = await cases.create(call.rt, data=call.body, viewer=call.user,
                                      idempotency_key=_idempotency_key(call), ip=call.client_ip,
                                      request_id=call.request_id, counted=call.counted)
    body = await (views.created(call.rt, row, call.user) if created else views.detail(row, call.user))
    return _created(body, created)


@endpoint("POST", "/api/v1/consultations/offline", roles=CASE_STAFF, tag=STAFF_TAG, status=201, body=OfflineIntake,
          response=ConsultationRead, errors=(409, 422), idempotent=True,
          summary="代企业登记电话、窗口或 12345 热线咨询（记录来源渠道）")
async def create_offline(call: Call) -> web.Response:
    row, created = await cases.create_offline(call.rt, data=call.body, viewer=call.user,
                                              idempotency_key=_idempotency_key(call), ip=call.client_ip,
                                              request_id=call.request_id)
    return _created(await views.detail(row, call.user), created)


@endpoint("GET", "/api/v1/consultations", roles=CASE_READERS, tag=TAG, query=ListQuery, response=ConsultationPage,
          summary="咨询列表：企业看本企业的；咨询员看我的或本部门的待办（按期限排序）；主管看本部门")
async def list_(call: Call) -> dict:
    q = call.query
    rows, total = await cases.list_for(call.user, scope=q.scope, status=q.status, state=q.state, kind=q.kind,
                                       overdue=q.overdue,
                                       page=q.page, page_size=q.page_size)
    return {"items": await views.summaries(rows, call.user), "total": total, "page": q.page,
            "page_size": q.page_size}


@endpoint("GET", "/api/v1/consultations/{id}", roles=CASE_READERS, tag=TAG, response=ConsultationRead,
          errors=(404,), summary="咨询详情：对话、期限、可进行的操作（企业看不到内部备注）")
async def read(call: Call) -> dict:
    return await _read(call, call.path["id"])


@endpoint("POST", "/api/v1/consultations/{id}/messages", roles=CASE_READERS, tag=TAG, body=MessageWrite,
          response=ConsultationRead, errors=(404, 409, 422),
          summary="发送消息：咨询员的答复、企业的补充或追问；工作人员可写内部备注")
async def message(call: Call) -> dict:
    await cases.post_message(call.rt, case_id=call.path["id"], body=call.body.body, internal=call.body.internal,
                             viewer=call.user)
    return await _read(call, call.path["id"])


def _action(path: str, action: str, roles, summary: str, body=ReasonBody):
    @endpoint("POST", f"/api/v1/consultations/{{id}}/{path}", roles=roles, tag=TAG if roles is ENTERPRISE else STAFF_TAG,
              body=body, response=ConsultationRead, errors=(403, 404, 409, 422), summary=summary)
    async def handler(call: Call) -> dict:
        b = call.body
        await cases.act(call.rt, case_id=call.path["id"], action=action, viewer=call.user,
                        reason=getattr(b, "reason", ""), body=getattr(b, "body", ""))
        return await _read(call, call.path["id"])

    handler.__name__ = f"consultation_{action}"
    return handler


class RequestInfoBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    body: str = Field(min_length=2, max_length=20000, description="需要企业补充的内容")


resolve = _action("resolve", "resolve", ENTERPRISE, "确认问题已解决（之后可以评价）")
reopen = _action("reopen", "reopen", ENTERPRISE, "重新打开（问题没有解决）")
withdraw = _action("withdraw", "withdraw", ENTERPRISE, "撤回咨询")
request_info = _action("request-info", "request_info", CASE_STAFF, "请企业补充材料或说明（期限不停止计算）",
                       body=RequestInfoBody)
close = _action("close", "close", CASE_STAFF, "办结（企业已确认或长期未回复）")


@endpoint("POST", "/api/v1/consultations/{id}/claim", roles={Role.CONSULTANT}, tag=STAFF_TAG,
          response=ConsultationRead, errors=(403, 404, 409), summary="认领本部门待派单的事项")
async def claim(call: Call) -> dict:
    await cases.claim(call.rt, case_id=call.path["id"], viewer=call.user)
    return await _read(call, call.path["id"])


@endpoint("POST", "/api/v1/consultations/{id}/assign", roles=SUPERVISORS, tag=STAFF_TAG, body=AssignBody,
          response=ConsultationRead, errors=(404, 409, 422), summary="派单或改派（改派须写明原因）")
async def assign(call: Call) -> dict:
    await cases.assign(call.rt, case_id=call.path["id"], assignee_id=call.body.assignee_id, reason=call.body.reason,
                       viewer=call.user, ip=call.client_ip, request_id=call.request_id)
    return await _read(call, call.path["id"])


@endpoint("POST", "/api/v1/consultations/{id}/return", roles=CASE_STAFF, tag=STAFF_TAG, body=ReturnBody,
          response=ConsultationRead, errors=(403, 404, 409, 422),
          summary="退单：退回本部门派单队列，或转交其他部门（期限从受理时起算，不重新计算）")
async def return_(call: Call) -> dict:
    row = await cases.return_case(call.rt, case_id=call.path["id"], reason=call.body.reason,
                                  department_code=call.body.department_code, viewer=call.user)
    if not cases.can_see(row, call.user):  # handed to another department: no longer ours to show
        return await views.detail(row, call.user) | {"actions": []}
    return await _read(call, call.path["id"])


@endpoint("POST", "/api/v1/consultations/{id}/classification", roles=CASE_STAFF, tag=STAFF_TAG,
          body=ClassificationBody, response=ConsultationRead, errors=(404, 409, 422),
          summary="更正主题、事项或部门（保留系统建议和更正记录）")
async def classification(call: Call) -> dict:
    row = await cases.correct(call.rt, case_id=call.path["id"], data=call.body, viewer=call.user)
    if not cases.can_see(row, call.user):
        return await views.detail(row, call.user) | {"actions": []}
    return await _read(call, call.path["id"])


@endpoint("GET", "/api/v1/consultations/{id}/duplicates", roles=CASE_STAFF, tag=STAFF_TAG, response=DuplicateList,
          errors=(404,), summary="并单建议：同一企业相似的未结事项")
async def duplicates(call: Call) -> dict:
    return {"items": await cases.duplicates(case_id=call.path["id"], viewer=call.user)}


@endpoint("POST", "/api/v1/consultations/{id}/merge", roles=SUPERVISORS, tag=STAFF_TAG, body=MergeBody,
          response=ConsultationRead, errors=(403, 404, 409, 422),
          summary="并单：本事项并入另一事项办理（原事项保留，计入需求统计）")
async def merge(call: Call) -> dict:
    await cases.merge(call.rt, case_id=call.path["id"], into_id=call.body.into_id, reason=call.body.reason,
                      viewer=call.user)
    return await _read(call, call.path["id"])


@endpoint("GET", "/api/v1/moderation/consultations", roles=SUPERVISORS, tag=STAFF_TAG, query=PageQuery,
          response=ConsultationPage, summary="内容审核队列：待人工审核和待重新检查的事项")
async def moderation_queue(call: Call) -> dict:
    rows, total = await cases.moderation_queue(call.user, page=call.query.page, page_size=call.query.page_size)
    return {"items": await views.summaries(rows, call.user), "total": total, "page": call.query.page,
            "page_size": call.query.page_size}


@endpoint("POST", "/api/v1/moderation/consultations/{id}/release", roles=SUPERVISORS, tag=STAFF_TAG,
          response=ConsultationRead, errors=(404, 409), summary="审核放行并派单")
async def release(call: Call) -> dict:
    await cases.release(call.rt, case_id=call.path["id"], viewer=call.user, ip=call.client_ip,
                        request_id=call.request_id)
    return await _read(call, call.path["id"])


@endpoint("POST", "/api/v1/moderation/consultations/{id}/reject", roles=SUPERVISORS, tag=STAFF_TAG,
          body=RequiredReason, response=ConsultationRead, errors=(404, 409, 422),
          summary="审核不通过：撤回该事项并告知企业原因")
async def reject_content(call: Call) -> dict:
    await cases.reject_content(call.rt, case_id=call.path["id"], reason=call.body.reason, viewer=call.user,
                               ip=call.client_ip, request_id=call.request_id)
    return await _read(call, call.path["id"])


@endpoint("GET", "/api/v1/topics", roles=CASE_READERS | {Role.POLICY_OFFICER}, tag=TAG, response=TopicList,
          summary="咨询主题分类")
async def topics(call: Call) -> dict:
    return {"items": await cases.topics()}


@endpoint("GET", "/api/v1/consultants", roles=SUPERVISORS, tag=STAFF_TAG, response=ConsultantList,
          summary="本部门咨询员及其在办数量、擅长主题（派单用）")
async def consultants(call: Call) -> dict:
    return {"items": await cases.consultants(call.user)}


@endpoint("GET", "/api/v1/reference/consultation-options", roles=None, tag=TAG, response=ConsultationOptions,
          summary="咨询的类型、渠道、事项要素、状态名称和默认期限")
async def options(call: Call) -> dict:
    s = call.rt.settings
    return {"kinds": KIND_LABELS, "channels": CHANNEL_LABELS, "elements": ELEMENT_LABELS, "statuses": STATUS_LABELS,
            "max_chars": s.consultation_max_chars,
            "default_days": {"consultation": s.consultation_days, "suggestion": s.feedback_days,
                             "complaint": s.feedback_days}}
