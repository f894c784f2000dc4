"""流程再造方案: policy officers open, edit and move proposals through their states;
supervisors read those touching their department; once live, each read shows the
before/after comparison (the tests are stated in the evaluation)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from handlers.base import Call, endpoint
from services.auth.roles import Role
from services.insights import proposals as P

TAG = "流程再造"
READERS = frozenset({Role.POLICY_OFFICER, Role.SUPERVISOR})
OFFICERS = frozenset({Role.POLICY_OFFICER})
Metric = Literal["cases", "repeat_share", "overdue_share", "on_time_rate", "poor_share", "complaints",
                 "close_p50_hours"]
Status = Literal["proposed", "approved", "live", "evaluated", "abandoned"]
ItemId = Field(ge=1, le=2_147_483_647)


class ProposalWrite(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    title: str = Field(min_length=1, max_length=128)
    service_item_ids: list[int] = Field(default_factory=list, max_length=20, description="涉及的事项")
    bundle: list[int] | None = Field(default=None, max_length=3, description="一口受理组合（2–3 个跨部门事项）")
    problem: str = Field(default="", max_length=4000, description="问题（来自摩擦指数等证据）")
    change: str = Field(default="", max_length=4000, description="改进措施")
    owner_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    owner_name: str = Field(default="", max_length=64)
    go_live: date | None = None
    metrics: list[Metric] = Field(default_factory=lambda: ["cases", "overdue_share", "poor_share"], max_length=7)


class ProposalPatch(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=128)
    service_item_ids: list[int] | None = Field(default=None, max_length=20)
    bundle: list[int] | None = Field(default=None, max_length=3)
    problem: str | None = Field(default=None, max_length=4000)
    change: str | None = Field(default=None, max_length=4000)
    owner_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    owner_name: str | None = Field(default=None, max_length=64)
    go_live: date | None = None
    metrics: list[Metric] | None = Field(default=None, max_length=7)


class ProposalTransitionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Literal["approved", "live", "evaluated", "abandoned"]
    go_live: date | None = Field(default=None, description="上线日期（转为“已上线”时，默认今天）")


class ProposalItemRef(BaseModel):
    id: int
    name: str


class ProposalMetricChange(BaseModel):
    metric: str
    label: str
    before: float | None
    after: float | None
    change: float | None
    relative_change: float | None
    test: str = Field(description="poisson_rate_ratio | two_proportion_z | none")
    p_value: float | None
    beyond_noise: bool | None


class ProposalWindow(BaseModel):
    since: date
    until: date


class ProposalEvaluation(BaseModel):
    before: ProposalWindow
    after: ProposalWindow
    days: int
    metrics: list[ProposalMetricChange]
    tests: str


class ProposalRead(BaseModel):
    id: int
    title: str
    service_item_ids: list[int]
    items: list[ProposalItemRef]
    bundle: list[int] | None
    problem: str
    change: str
    owner_id: int | None
    owner_name: str
    go_live: date | None
    metrics: list[str]
    status: str
    status_label: str
    next: list[str] = Field(description="可转入的状态")
    evaluation: ProposalEvaluation | None = Field(description="上线后：前后等长窗口对比；已评估时为定稿结果")
    evaluation_frozen: bool
    created_at: datetime
    updated_at: datetime


class ProposalPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[ProposalRead]


class ProposalListQuery(BaseModel):
    status: Status | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


def _ids(values: list[int] | None) -> list[int] | None:
    from services.errors import ValidationFailed

    if values is None:
        return None
    if any(not 1 <= v <= 2_147_483_647 for v in values):
        raise ValidationFailed.field("service_item_ids", "事项编号不正确", code="unknown_item")
    return values


def _data(body: BaseModel, *, partial: bool) -> dict:
    data = body.model_dump(exclude_unset=partial)
    for k in ("service_item_ids", "bundle"):
        if k in data:
            data[k] = _ids(data[k])
    if partial:
        data = {k: v for k, v in data.items() if v is not None or k in ("bundle", "owner_id", "go_live")}
    return data


@endpoint("GET", "/api/v1/proposals", roles=READERS, tag=TAG, query=ProposalListQuery, response=ProposalPage,
          summary="流程再造方案列表（部门主管只看涉及本部门事项的）")
async def list_(call: Call) -> dict:
    q = call.query
    return await P.list_(call.user, q.status, q.page, q.page_size)


@endpoint("POST", "/api/v1/proposals", roles=OFFICERS, tag=TAG, body=ProposalWrite, response=ProposalRead,
          status=201, errors=(422,), summary="提出流程再造方案（事项或一口受理组合、问题、措施、负责人、上线日期、观察指标）")
async def create(call: Call) -> dict:
    p = await P.create(call.user, _data(call.body, partial=False), ip=call.client_ip, request_id=call.request_id)
    return await P.present(p)


@endpoint("GET", "/api/v1/proposals/{id}", roles=READERS, tag=TAG, response=ProposalRead, errors=(404,),
          summary="方案详情；上线后附前后等长窗口的指标对比与显著性")
async def read(call: Call) -> dict:
    return await P.present(await P.get(call.user, call.path["id"]))


@endpoint("PATCH", "/api/v1/proposals/{id}", roles=OFFICERS, tag=TAG, body=ProposalPatch, response=ProposalRead,
          errors=(404, 409, 422), summary="修改方案（仅“已提出”“已批准”时）")
async def update(call: Call) -> dict:
    p = await P.update(call.user, call.path["id"], _data(call.body, partial=True), ip=call.client_ip,
                       request_id=call.request_id)
    return await P.present(p)


@endpoint("POST", "/api/v1/proposals/{id}/transition", roles=OFFICERS, tag=TAG, body=ProposalTransitionBody,
          response=ProposalRead, errors=(404, 409, 422),
          summary="方案状态流转：已提出 → 已批准 → 已上线 → 已评估（评估结果定稿），或中途放弃")
async def transition(call: Call) -> dict:
    p = await P.transition(call.user, call.path["id"], call.body.to, call.body.go_live, ip=call.client_ip,
                           request_id=call.request_id)
    return await P.present(p)


@endpoint("DELETE", "/api/v1/proposals/{id}", roles=OFFICERS, tag=TAG, status=204, errors=(404, 409),
          summary="删除尚未批准的方案")
async def delete(call: Call) -> None:
    await P.delete(call.user, call.path["id"], ip=call.client_ip, request_id=call.request_id)
