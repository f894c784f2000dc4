"""好差评: the enterprise rates a case; the supervisor's team calls back every closed
case; a poor rating opens a rectification (整改) with evidence and an appeal (申诉复核).

Importing this module also registers the close hook that creates call-back tasks
(in ``services.consultations.quality``), so a running app always has it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from handlers.base import Call, endpoint
from services.auth.roles import ENTERPRISE, Role
from services.consultations import quality, views
from services.consultations.schemas import CodeRef, ConsultationRead, Kind, Ref, RatingRead

TAG = "咨询和反馈"
QUALITY_TAG = "服务质量（好差评）"
SUPERVISORS = frozenset({Role.SUPERVISOR})
CASE_STAFF = frozenset({Role.CONSULTANT, Role.SUPERVISOR})

CallbackStatus = Literal["open", "done", "unreachable"]
Outcome = Literal["satisfied", "neutral", "dissatisfied"]
RectStatus = Literal["open", "submitted", "closed", "appealed", "overturned"]


class RatingWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    score: int = Field(ge=1, le=5, description="1 非常不满意、2 不满意、3 基本满意、4 满意、5 非常满意")
    comment: str = Field(default="", max_length=500, description="评价内容（可选）")


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


class CallbackQuery(PageQuery):
    status: CallbackStatus | None = Field(default=None, description="open 待回访、done 已回访、unreachable 未联系上")


class CallbackWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: Literal["done", "unreachable"] = Field(description="done 已回访、unreachable 未联系上")
    outcome: Outcome | None = Field(default=None, description="回访结果（已回访时必填，由服务检查并指明字段）")
    notes: str = Field(default="", max_length=500, description="回访记录")


class CallbackRead(BaseModel):
    id: int
    consultation_id: int
    title: str = Field(description="咨询内容的前 40 个字")
    kind: Kind
    department: CodeRef | None
    enterprise: Ref | None
    contact_name: str = Field(description="来电或来访人（线下登记的事项）")
    contact_phone: str = Field(description="企业联系电话（完整号码，用于回访）")
    rating: RatingRead | None
    status: CallbackStatus
    status_label: str
    due_at: datetime
    overdue: bool
    outcome: Outcome | None
    outcome_label: str
    notes: str
    done_by: Ref | None
    done_at: datetime | None
    closed_at: datetime | None = Field(description="事项办结时间")
    created_at: datetime


class CallbackPage(BaseModel):
    items: list[CallbackRead]
    total: int
    page: int
    page_size: int


class RectQuery(PageQuery):
    model_config = ConfigDict(str_strip_whitespace=True)
    status: RectStatus | None = None
    scope: Literal["department", "appeals"] = Field(
        default="department", description="department 本部门的整改；appeals 各部门待复核的申诉（仅主管）")
    overdue: bool | None = None


class EvidenceWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    evidence: str = Field(min_length=5, max_length=5000, description="整改情况及材料说明（5 个字以上）")


class AppealWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=2, max_length=500, description="申诉理由")


class DecisionWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    decision: Literal["upheld", "overturned"] = Field(description="upheld 维持整改、overturned 申诉成立，撤销整改")
    comment: str = Field(default="", max_length=500, description="复核意见")


class CaseRef(BaseModel):
    id: int
    title: str
    kind: Kind
    enterprise: Ref


class RectHistory(BaseModel):
    step: str
    step_label: str
    from_status: str
    to_status: str
    actor_name: str
    at: datetime
    detail: dict


class RectificationRead(BaseModel):
    id: int
    status: RectStatus
    status_label: str
    consultation: CaseRef
    department: CodeRef | None
    score: int = Field(description="发起整改时的评分")
    score_label: str
    current_rating: RatingRead | None = Field(description="企业当前的评价（可能已修改）")
    due_at: datetime
    overdue: bool = Field(description="已过整改期限且未完成（含申诉中）")
    evidence: str
    submitted_by: Ref | None
    submitted_at: datetime | None
    closed_by: Ref | None
    closed_at: datetime | None
    appeal_reason: str
    appealed_by: Ref | None
    appealed_at: datetime | None
    appeal_decision: Literal["upheld", "overturned"] | None
    appeal_comment: str
    decided_by: Ref | None
    decided_at: datetime | None
    created_at: datetime
    actions: list[str] = Field(description="当前用户可进行的操作：evidence、close、appeal、decide")
    history: list[RectHistory]


class RectificationPage(BaseModel):
    items: list[RectificationRead]
    total: int
    page: int
    page_size: int


@endpoint("PUT", "/api/v1/consultations/{id}/rating", roles=ENTERPRISE, tag=TAG, body=RatingWrite,
          response=ConsultationRead, errors=(403, 404, 409, 422),
          summary="评价（好差评）：确认解决或办结后评分 1–5，7 天内可修改；评价后事项办结")
async def rate(call: Call) -> dict:
    row = await quality.rate(call.rt, case_id=call.path["id"], score=call.body.score, comment=call.body.comment,
                             viewer=call.user)
    return await views.detail(row, call.user)


@endpoint("GET", "/api/v1/callbacks", roles=SUPERVISORS, tag=QUALITY_TAG, query=CallbackQuery, response=CallbackPage,
          summary="回访任务：本部门已办结事项的回访（含企业联系电话和评价）")
async def callbacks(call: Call) -> dict:
    q = call.query
    items, total = await quality.list_callbacks(call.rt, call.user, status=q.status, page=q.page,
                                                page_size=q.page_size)
    return {"items": items, "total": total, "page": q.page, "page_size": q.page_size}


@endpoint("POST", "/api/v1/callbacks/{id}", roles=SUPERVISORS, tag=QUALITY_TAG, body=CallbackWrite,
          response=CallbackRead, errors=(404, 409, 422), summary="登记回访结果：已回访（满意、一般、不满意）或未联系上")
async def record_callback(call: Call) -> dict:
    b = call.body
    return await quality.record_callback(call.rt, task_id=call.path["id"], status=b.status, outcome=b.outcome,
                                         notes=b.notes, viewer=call.user, ip=call.client_ip,
                                         request_id=call.request_id)


@endpoint("GET", "/api/v1/rectifications", roles=CASE_STAFF, tag=QUALITY_TAG, query=RectQuery,
          response=RectificationPage, errors=(403,),
          summary="整改列表：本部门因差评发起的整改（超期标记）；主管可查看各部门待复核的申诉")
async def rectifications(call: Call) -> dict:
    q = call.query
    items, total = await quality.list_rectifications(call.user, status=q.status, scope=q.scope, overdue=q.overdue,
                                                     page=q.page, page_size=q.page_size)
    return {"items": items, "total": total, "page": q.page, "page_size": q.page_size}


@endpoint("GET", "/api/v1/rectifications/{id}", roles=CASE_STAFF, tag=QUALITY_TAG, response=RectificationRead,
          errors=(404,), summary="整改详情（含处理经过）")
async def rectification(call: Call) -> dict:
    return await quality.read_rectification(call.user, call.path["id"])


@endpoint("POST", "/api/v1/rectifications/{id}/evidence", roles=CASE_STAFF, tag=QUALITY_TAG, body=EvidenceWrite,
          response=RectificationRead, errors=(404, 409, 422), summary="提交整改材料（待主管确认）")
async def evidence(call: Call) -> dict:
    return await quality.submit_evidence(call.rt, rect_id=call.path["id"], evidence=call.body.evidence,
                                         viewer=call.user)


@endpoint("POST", "/api/v1/rectifications/{id}/close", roles=SUPERVISORS, tag=QUALITY_TAG,
          response=RectificationRead, errors=(404, 409), summary="确认整改完成")
async def close(call: Call) -> dict:
    return await quality.close_rectification(call.rt, rect_id=call.path["id"], viewer=call.user, ip=call.client_ip,
                                             request_id=call.request_id)


@endpoint("POST", "/api/v1/rectifications/{id}/appeal", roles=CASE_STAFF, tag=QUALITY_TAG, body=AppealWrite,
          response=RectificationRead, errors=(404, 409, 422), summary="申诉：认为差评不应由本部门整改（由其他主管复核）")
async def appeal(call: Call) -> dict:
    return await quality.appeal(call.rt, rect_id=call.path["id"], reason=call.body.reason, viewer=call.user,
                                ip=call.client_ip, request_id=call.request_id)


@endpoint("POST", "/api/v1/rectifications/{id}/decide", roles=SUPERVISORS, tag=QUALITY_TAG, body=DecisionWrite,
          response=RectificationRead, errors=(403, 404, 409, 422),
          summary="申诉复核（申诉人以外的主管）：维持整改或撤销整改")
async def decide(call: Call) -> dict:
    b = call.body
    return await quality.decide(call.rt, rect_id=call.path["id"], decision=b.decision, comment=b.comment,
                                viewer=call.user, ip=call.client_ip, request_id=call.request_id)
