"""Redesign proposals (流程再造): opened from the friction and bundle evidence, then
proposed → approved → live → evaluated, or abandoned on the way.

Policy officers write; a supervisor reads the proposals that touch an item of their
department (another department's proposal is "not found" to them). Once live, the
before/after comparison is computed on each read from the facts (equal windows, see
``analysis.evaluate``); moving to "evaluated" freezes it into the proposal.
"""

from __future__ import annotations

from datetime import date

from models.insights import Proposal
from services import audit
from services.auth.principal import Principal
from services.auth.roles import Role
from services.errors import Conflict, NotFound, ValidationFailed
from services.insights import analysis as A
from services.insights import views as V
from services.insights.rollup import TZ, today as local_today

TRANSITIONS = {"proposed": ("approved", "abandoned"), "approved": ("live", "abandoned"),
               "live": ("evaluated", "abandoned"), "evaluated": (), "abandoned": ()}
EDITABLE = ("proposed", "approved")
STATUS_LABELS = {"proposed": "已提出", "approved": "已批准", "live": "已上线", "evaluated": "已评估", "abandoned": "已放弃"}


async def _items(ids: list[int]) -> dict[int, dict]:
    from models import ServiceItem

    return {i["id"]: i for i in await ServiceItem.filter(id__in=ids).values("id", "name", "department_id")}


async def _check(data: dict) -> dict:
    """Items exist; a bundle is 2–3 of them from at least two departments (a one-window
    bundle inside one department is not a cross-department redesign); metrics known;
    the owner, if named by id, is staff."""
    from models import User

    bundle = data.get("bundle")
    ids = list(dict.fromkeys([*(data.get("service_item_ids") or []), *(bundle or [])]))
    if not ids:
        raise ValidationFailed.field("service_item_ids", "请至少选择一个事项", code="items_required")
    found = await _items(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed.field("service_item_ids", f"事项不存在：{missing[0]}", code="unknown_item")
    if bundle is not None:
        if not 2 <= len(set(bundle)) <= 3:
            raise ValidationFailed.field("bundle", "一口受理组合应包含 2–3 个事项", code="invalid_bundle")
        if len({found[i]["department_id"] for i in bundle}) < 2:
            raise ValidationFailed.field("bundle", "一口受理组合应跨部门", code="invalid_bundle")
    unknown = [m for m in data.get("metrics") or [] if m not in A.METRICS]
    if unknown:
        raise ValidationFailed.field("metrics", f"未知指标：{unknown[0]}", code="unknown_metric")
    if data.get("owner_id") is not None and not await User.filter(id=data["owner_id"], kind="staff").exists():
        raise ValidationFailed.field("owner_id", "负责人应为工作人员", code="unknown_owner")
    data["service_item_ids"] = ids
    return data


async def _visible(viewer: Principal, p: Proposal) -> bool:
    if viewer.role != Role.SUPERVISOR or not viewer.department_id:
        return True
    return any(i["department_id"] == viewer.department_id for i in (await _items(p.service_item_ids)).values())


async def get(viewer: Principal, proposal_id: int) -> Proposal:
    p = await Proposal.get_or_none(id=proposal_id)
    if p is None or not await _visible(viewer, p):
        raise NotFound("没有这个改进方案")
    return p


async def present(p: Proposal) -> dict:
    items = await _items(p.service_item_ids)
    evaluation = p.evaluation
    if p.status == "live":
        evaluation = await V.evaluate_proposal(p.service_item_ids, p.go_live, p.metrics)
    return {"id": p.id, "title": p.title, "service_item_ids": p.service_item_ids,
            "items": [{"id": i, "name": items[i]["name"] if i in items else f"事项 {i}"} for i in p.service_item_ids],
            "bundle": p.bundle, "problem": p.problem, "change": p.change, "owner_id": p.owner_id,
            "owner_name": p.owner_name, "go_live": p.go_live, "metrics": p.metrics, "status": p.status,
            "status_label": STATUS_LABELS[p.status], "next": list(TRANSITIONS[p.status]),
            "evaluation": evaluation, "evaluation_frozen": p.status == "evaluated",
            "created_at": p.created_at.astimezone(TZ), "updated_at": p.updated_at.astimezone(TZ)}


async def list_(viewer: Principal, status: str | None, page: int, page_size: int) -> dict:
    qs = Proposal.all()
    if status:
        qs = qs.filter(status=status)
    rows = [p for p in await qs.order_by("-id").limit(1000) if await _visible(viewer, p)]
    chunk = rows[(page - 1) * page_size: page * page_size]
    return {"total": len(rows), "page": page, "page_size": page_size, "items": [await present(p) for p in chunk]}


async def create(actor: Principal, data: dict, *, ip: str = "", request_id: str = "") -> Proposal:
    data = await _check(data)
    p = await Proposal.create(created_by_id=actor.user_id, **data)
    await audit.record("proposal.created", actor=actor, ip=ip, request_id=request_id, target_type="proposal",
                       target_id=p.id, details={"items": p.service_item_ids})
    return p


async def update(actor: Principal, proposal_id: int, data: dict, *, ip: str = "", request_id: str = "") -> Proposal:
    p = await get(actor, proposal_id)
    if p.status not in EDITABLE:
        raise Conflict("上线后的方案不能再修改", code="proposal_locked")
    merged = {"service_item_ids": p.service_item_ids, "bundle": p.bundle, "metrics": p.metrics,
              "owner_id": p.owner_id, **data}
    merged = await _check(merged)
    for k, v in merged.items():
        setattr(p, k, v)
    await p.save()
    await audit.record("proposal.updated", actor=actor, ip=ip, request_id=request_id, target_type="proposal",
                       target_id=p.id, details={"fields": sorted(data)})
    return p


async def transition(actor: Principal, proposal_id: int, to: str, go_live: date | None = None, *,
                     ip: str = "", request_id: str = "") -> Proposal:
    p = await get(actor, proposal_id)
    if to not in TRANSITIONS[p.status]:
        raise Conflict(f"方案当前为“{STATUS_LABELS[p.status]}”，不能变为“{STATUS_LABELS.get(to, to)}”",
                       code="invalid_transition")
    if to == "live":
        p.go_live = go_live or p.go_live or local_today()
        if p.go_live > local_today():
            raise ValidationFailed.field("go_live", "上线日期不能晚于今天", code="go_live_in_future")
    if to == "evaluated":
        evaluation = await V.evaluate_proposal(p.service_item_ids, p.go_live, p.metrics)
        if evaluation is None:
            raise Conflict("上线满一天后才能评估", code="too_early")
        p.evaluation = _jsonable(evaluation)
    frm, p.status = p.status, to
    await p.save()
    await audit.record("proposal.transition", actor=actor, ip=ip, request_id=request_id, target_type="proposal",
                       target_id=p.id, details={"from": frm, "to": to})
    return p


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v.isoformat() if isinstance(v, date) else v


async def delete(actor: Principal, proposal_id: int, *, ip: str = "", request_id: str = "") -> None:
    p = await get(actor, proposal_id)
    if p.status != "proposed":
        raise Conflict("只有尚未批准的方案可以删除，其他请改为“已放弃”", code="proposal_locked")
    await p.delete()
    await audit.record("proposal.deleted", actor=actor, ip=ip, request_id=request_id, target_type="proposal",
                       target_id=proposal_id, details={"title": p.title})
