"""好差评: the enterprise's rating of a case, the call-back (回访) every closed case gets,
and the rectification (整改) a poor rating opens, with its appeal (申诉复核).

Why these live apart from ``service``: they hang off the end of a case's life and have
their own small state machines; the case workflow only needs to know that a closed case
calls the hooks registered here (:func:`service.add_close_hook`, at import).

Rectification history is written as case events (action ``rectification``, with the
rectification's id in the detail), so the case history shows it too and no extra table
is needed.
"""

from __future__ import annotations

import binascii
from datetime import timedelta
from typing import Any, Final

import structlog
from cryptography.exceptions import InvalidTag
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.catalogue import Department
from models.consultation import CallbackTask, Consultation, ConsultationEvent, Rating, Rectification
from models.identity import Enterprise, User
from services import audit
from services.auth.principal import Principal
from services.auth.roles import Role
from services.consultations import service, workflow
from services.consultations.deadlines import due_after
from services.consultations.service import local, now
from services.consultations.views import RATING_CHANGE_DAYS, RATING_LABELS, rating_view
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.runtime import Runtime

log = structlog.get_logger(__name__)

#: Scores that open a rectification.
POOR_SCORE: Final = 2
RECT_PAGE = "/console/#/rectifications/{id}"

# ----------------------------------------------------------------- rectification table

RECT_STATUS_LABELS: Final = {"open": "待整改", "submitted": "待确认", "closed": "已整改", "appealed": "申诉复核中",
                             "overturned": "申诉成立"}
RECT_ACTION_LABELS: Final = {"open": "发起整改", "submit": "提交整改材料", "close": "确认整改完成", "appeal": "申诉",
                             "uphold": "复核维持整改", "overturn": "复核撤销整改", "rating_change": "企业修改评价"}
#: status × action → status. ``overturned`` ends the rectification without counting it.
RECT_TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    ("open", "submit"): "submitted",
    ("submitted", "close"): "closed",
    ("open", "appeal"): "appealed",
    ("submitted", "appeal"): "appealed",
    ("appealed", "uphold"): "open",
    ("appealed", "overturn"): "overturned",
}
RECT_FINISHED: Final = frozenset({"closed", "overturned"})

CALLBACK_STATUS_LABELS: Final = {"open": "待回访", "done": "已回访", "unreachable": "未联系上"}
OUTCOME_LABELS: Final = {"satisfied": "满意", "neutral": "一般", "dissatisfied": "不满意"}


def rect_next(status: str, action: str) -> str:
    """The status after ``action``, or a 409 saying in Chinese why not."""
    target = RECT_TRANSITIONS.get((status, action))
    if target is None:
        raise Conflict(f"该整改当前状态为“{RECT_STATUS_LABELS.get(status, status)}”，"
                       f"不能{RECT_ACTION_LABELS.get(action, action)}", code="illegal_transition")
    return target


# ----------------------------------------------------------------- access


def of_department(viewer: Principal, department_id: int | None) -> bool:
    """Same rule as for cases: a supervisor without a department oversees the whole zone
    and supervisors also own what has no department; a consultant only their own."""
    if viewer.role == Role.SUPERVISOR:
        return viewer.department_id is None or department_id is None or department_id == viewer.department_id
    return department_id is not None and department_id == viewer.department_id


def _department_filter(viewer: Principal) -> Q:
    if viewer.role == Role.SUPERVISOR:
        if viewer.department_id is None:
            return Q()
        return Q(department_id=viewer.department_id) | Q(department_id__isnull=True)
    return Q(department_id=viewer.department_id) if viewer.department_id is not None else Q(id=0)


def _overdue(due_at, finished: bool) -> bool:
    return not finished and due_at < now()


# ----------------------------------------------------------------- rating


async def rate(rt: Runtime, *, case_id: int, score: int, comment: str, viewer: Principal) -> Consultation:
    """Rate (or re-rate within 7 days) a resolved or closed case. Rating a resolved case
    closes it; a poor score opens a rectification for the case's department."""
    row = await service.load_for(viewer, case_id)
    if service.actor_kind(viewer) != "enterprise":
        raise PermissionDenied("只有提问的企业可以评价", code="not_enterprise")
    if row.status not in ("resolved", "closed"):
        raise Conflict(f"该事项当前状态为“{workflow.STATUS_LABELS[row.status]}”，确认解决或办结后才能评价",
                       code="not_ratable")
    existing = await Rating.get_or_none(consultation_id=row.id)
    if existing is not None and now() >= existing.created_at + timedelta(days=RATING_CHANGE_DAYS):
        raise Conflict(f"评价提交已超过 {RATING_CHANGE_DAYS} 天，不能再修改", code="rating_locked")
    if existing is not None and existing.score == score and existing.comment == comment and row.status == "closed":
        return row  # nothing changed: no event, no notice
    if comment:
        user = await User.get(id=viewer.user_id)
        verdict, label = await service.sec_check(rt, user.openid, comment)
        if verdict == "risky":
            await service.count_refusal(rt)
            raise ValidationFailed.field("comment", service.refusal_message(label), code="content_risky")
    previous = existing.score if existing is not None else None
    campaigns: list[int] = []
    try:
        async with in_transaction():
            if existing is None:
                await Rating.create(consultation_id=row.id, enterprise_id=row.enterprise_id, user_id=viewer.user_id,
                                    score=score, comment=comment)
            elif not await Rating.filter(id=existing.id, score=existing.score, comment=existing.comment).update(
                    score=score, comment=comment, user_id=viewer.user_id, updated_at=now()):
                raise Conflict("评价刚刚已被修改，请刷新后再试", code="rating_changed")
            await service._event(row.id, "rate", row.status, row.status, viewer, await service._name(viewer),
                                 score=score, label=RATING_LABELS[score], previous_score=previous)
            if row.status == "resolved":
                await service._move(row, "close", None, campaigns=campaigns, extra={"closed_at": now()},
                                    reason="企业已评价")
                await service.after_close(rt, row)
            await _after_rating(rt, row, score, previous, viewer, campaigns)
    except IntegrityError:
        # two first ratings at once: the other one won
        raise Conflict("评价刚刚已提交，请刷新后再试", code="rating_changed") from None
    await service.kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


async def _after_rating(rt: Runtime, row: Consultation, score: int, previous: int | None, viewer: Principal,
                        campaigns: list[int]) -> None:
    """A poor score opens a rectification unless one is still open; a changed score is
    written into the open one's history (it stays open: the department still answers)."""
    current = await Rectification.filter(consultation_id=row.id).exclude(status__in=list(RECT_FINISHED)) \
        .order_by("-id").first()
    if current is not None:
        if previous is not None and previous != score:
            await _history(current, "rating_change", current.status, current.status, viewer,
                           previous_score=previous, score=score, label=RATING_LABELS[score])
        return
    if score > POOR_SCORE or previous == score:
        return
    due = due_after(now(), rt.settings.rectification_days)
    rect = await Rectification.create(consultation_id=row.id, department_id=row.department_id, score=score,
                                      due_at=due.due_at)
    await _history(rect, "open", "", "open", None, score=score, label=RATING_LABELS[score])
    await service._notify_supervisors(
        row, campaigns, kind="rectification", title=f"差评整改：#{row.id}（{RATING_LABELS[score]}）",
        summary=f"请在 {local(due.due_at):%m月%d日} 前完成整改并提交整改材料")


# ----------------------------------------------------------------- call-backs


async def create_callback(rt: Runtime, row: Consultation) -> None:
    """Close hook: every closed case gets one call-back task (a reopened and re-closed
    case keeps its first one)."""
    if await CallbackTask.filter(consultation_id=row.id).exists():
        return
    await CallbackTask.create(consultation_id=row.id, department_id=row.department_id,
                              due_at=due_after(now(), rt.settings.callback_days).due_at)


service.add_close_hook(create_callback)


def _phone(rt: Runtime, stored: str) -> str:
    """Supervisors call the enterprise back, so they get the full number."""
    try:
        return rt.cipher.decrypt(stored)
    except (InvalidTag, ValueError, binascii.Error):
        log.warning("contact_phone_undecryptable")
        return ""


async def list_callbacks(rt: Runtime, viewer: Principal, *, status: str | None, page: int,
                         page_size: int) -> tuple[list[dict], int]:
    qs = CallbackTask.filter(_department_filter(viewer))
    if status:
        qs = qs.filter(status=status)
    total = await qs.count()
    rows = await qs.order_by("due_at", "id").offset((page - 1) * page_size).limit(page_size)
    return await callback_views(rt, rows), total


async def callback_views(rt: Runtime, rows: list[CallbackTask]) -> list[dict]:
    cases = {c.id: c for c in await Consultation.filter(id__in={r.consultation_id for r in rows})}
    ents = {e.id: e for e in await Enterprise.filter(id__in={c.enterprise_id for c in cases.values()})}
    ratings = {r.consultation_id: r for r in await Rating.filter(consultation_id__in=list(cases))}
    names = await _user_names({r.done_by_id for r in rows})
    depts = await _departments({r.department_id for r in rows})
    out = []
    for r in rows:
        case = cases[r.consultation_id]
        ent = ents.get(case.enterprise_id)
        out.append({
            "id": r.id, "consultation_id": r.consultation_id, "title": case.content[:40],
            "kind": case.kind, "department": depts.get(r.department_id),
            "enterprise": {"id": ent.id, "name": ent.name} if ent else None,
            "contact_name": case.contact_name, "contact_phone": _phone(rt, ent.contact_phone_enc) if ent else "",
            "rating": rating_view(ratings.get(r.consultation_id)),
            "status": r.status, "status_label": CALLBACK_STATUS_LABELS[r.status], "due_at": local(r.due_at),
            "overdue": _overdue(r.due_at, r.status != "open"), "outcome": r.outcome,
            "outcome_label": OUTCOME_LABELS.get(r.outcome or "", ""), "notes": r.notes,
            "done_by": names.get(r.done_by_id), "done_at": local(r.done_at), "closed_at": local(case.closed_at),
            "created_at": local(r.created_at)})
    return out


async def record_callback(rt: Runtime, *, task_id: int, status: str, outcome: str | None, notes: str,
                          viewer: Principal, ip: str = "", request_id: str = "") -> dict:
    """The supervisor's team reports the call-back: reached (with how satisfied) or not
    reached (may be tried again). A finished call-back stays as it was recorded."""
    row = await CallbackTask.get_or_none(id=task_id)
    if row is None or not of_department(viewer, row.department_id):
        raise NotFound("回访任务不存在或无权查看", code="callback_not_found")
    if status == "done" and outcome is None:
        raise ValidationFailed.field("outcome", "已回访请选择回访结果：满意、一般或不满意", code="outcome_required")
    if row.status == "done":
        raise Conflict("该回访已完成，不能再修改", code="callback_done")
    if not await CallbackTask.filter(id=row.id, status=row.status).update(
            status=status, outcome=outcome if status == "done" else None, notes=notes, done_by_id=viewer.user_id,
            done_at=now()):
        raise Conflict("该回访刚刚已被他人登记，请刷新后再试", code="callback_done")
    await audit.record("callback_recorded", actor=viewer, target_type="callback_task", target_id=row.id, ip=ip,
                       request_id=request_id, details={"consultation_id": row.consultation_id, "status": status,
                                                       "outcome": outcome})
    return (await callback_views(rt, [await CallbackTask.get(id=row.id)]))[0]


# ----------------------------------------------------------------- rectifications


async def _history(rect: Rectification, step: str, from_status: str, to_status: str, viewer: Principal | None,
                   **detail: Any) -> None:
    case_status = await Consultation.filter(id=rect.consultation_id).values_list("status", flat=True)
    await ConsultationEvent.create(
        consultation_id=rect.consultation_id, action="rectification", from_status=case_status[0],
        to_status=case_status[0], actor_id=viewer.user_id if viewer else None,
        actor_role=str(viewer.role) if viewer else "system", actor_name=await service._name(viewer),
        detail={"rectification_id": rect.id, "step": step, "step_label": RECT_ACTION_LABELS[step],
                "from": from_status, "to": to_status, **detail})


async def load_rectification(viewer: Principal, rect_id: int, *, reviewing: bool = False) -> Rectification:
    """Own department only (404 otherwise), except that any supervisor may look at an
    appealed one: the appeal is decided by a supervisor who did not file it."""
    row = await Rectification.get_or_none(id=rect_id)
    if row is not None and (of_department(viewer, row.department_id) or (
            reviewing and viewer.role == Role.SUPERVISOR and row.status == "appealed")):
        return row
    raise NotFound("整改事项不存在或无权查看", code="rectification_not_found")


async def list_rectifications(viewer: Principal, *, status: str | None, scope: str, overdue: bool | None,
                              page: int, page_size: int) -> tuple[list[dict], int]:
    """``department``: the viewer's department's; ``appeals``: appealed ones of every
    department, for supervisors who decide them."""
    if scope == "appeals":
        if viewer.role != Role.SUPERVISOR:
            raise PermissionDenied("只有部门主管可以复核申诉", code="not_supervisor")
        qs = Rectification.filter(status="appealed")
    else:
        qs = Rectification.filter(_department_filter(viewer))
    if status:
        qs = qs.filter(status=status)
    if overdue is True:
        qs = qs.filter(due_at__lt=now()).exclude(status__in=list(RECT_FINISHED))
    elif overdue is False:
        qs = qs.filter(Q(due_at__gte=now()) | Q(status__in=list(RECT_FINISHED)))
    total = await qs.count()
    rows = await qs.order_by("due_at", "id").offset((page - 1) * page_size).limit(page_size)
    return await rectification_views(rows, viewer), total


def rect_actions(row: Rectification, viewer: Principal) -> list[str]:
    own = of_department(viewer, row.department_id)
    supervisor = viewer.role == Role.SUPERVISOR
    acts = []
    if own and row.status == "open":
        acts.append("evidence")
    if own and supervisor and row.status == "submitted":
        acts.append("close")
    if own and row.status in ("open", "submitted") and row.appeal_decision is None:
        acts.append("appeal")
    if supervisor and row.status == "appealed" and row.appealed_by_id != viewer.user_id:
        acts.append("decide")
    return acts


async def rectification_views(rows: list[Rectification], viewer: Principal) -> list[dict]:
    case_ids = {r.consultation_id for r in rows}
    cases = {c.id: c for c in await Consultation.filter(id__in=case_ids)}
    ents = dict(await Enterprise.filter(id__in={c.enterprise_id for c in cases.values()}).values_list("id", "name"))
    ratings = {r.consultation_id: r for r in await Rating.filter(consultation_id__in=case_ids)}
    names = await _user_names({i for r in rows for i in (r.submitted_by_id, r.closed_by_id, r.appealed_by_id,
                                                         r.decided_by_id)})
    depts = await _departments({r.department_id for r in rows})
    history: dict[int, list[dict]] = {}
    for e in await ConsultationEvent.filter(consultation_id__in=case_ids, action="rectification").order_by("id"):
        d = e.detail or {}
        history.setdefault(d.get("rectification_id"), []).append({
            "step": d.get("step", ""), "step_label": d.get("step_label", ""), "from_status": d.get("from", ""),
            "to_status": d.get("to", ""), "actor_name": e.actor_name, "at": local(e.at),
            "detail": {k: v for k, v in d.items() if k not in ("rectification_id", "step", "step_label", "from", "to")}})
    out = []
    for r in rows:
        case = cases[r.consultation_id]
        rating = ratings.get(r.consultation_id)
        out.append({
            "id": r.id, "status": r.status, "status_label": RECT_STATUS_LABELS[r.status],
            "consultation": {"id": case.id, "title": case.content[:40], "kind": case.kind,
                             "enterprise": {"id": case.enterprise_id, "name": ents.get(case.enterprise_id, "")}},
            "department": depts.get(r.department_id), "score": r.score, "score_label": RATING_LABELS.get(r.score, ""),
            "current_rating": rating_view(rating), "due_at": local(r.due_at),
            "overdue": _overdue(r.due_at, r.status in RECT_FINISHED), "evidence": r.evidence,
            "submitted_by": names.get(r.submitted_by_id), "submitted_at": local(r.submitted_at),
            "closed_by": names.get(r.closed_by_id), "closed_at": local(r.closed_at),
            "appeal_reason": r.appeal_reason, "appealed_by": names.get(r.appealed_by_id),
            "appealed_at": local(r.appealed_at), "appeal_decision": r.appeal_decision,
            "appeal_comment": r.appeal_comment, "decided_by": names.get(r.decided_by_id),
            "decided_at": local(r.decided_at), "created_at": local(r.created_at),
            "actions": rect_actions(r, viewer), "history": history.get(r.id, [])})
    return out


async def read_rectification(viewer: Principal, rect_id: int) -> dict:
    row = await load_rectification(viewer, rect_id, reviewing=True)
    return (await rectification_views([row], viewer))[0]


async def _step(rt: Runtime, row: Rectification, action: str, viewer: Principal, fields: dict[str, Any],
                campaigns: list[int], **detail: Any) -> None:
    """One guarded transition (a concurrent change → 409, not a lost update) and its history."""
    target = rect_next(row.status, action)
    if not await Rectification.filter(id=row.id, status=row.status).update(status=target, **fields):
        raise Conflict("该整改的状态刚刚发生变化，请刷新后再试", code="illegal_transition")
    await _history(row, action, row.status, target, viewer, **detail)
    row.status = target


async def submit_evidence(rt: Runtime, *, rect_id: int, evidence: str, viewer: Principal) -> dict:
    row = await load_rectification(viewer, rect_id)
    campaigns: list[int] = []
    async with in_transaction():
        await _step(rt, row, "submit", viewer, {"evidence": evidence, "submitted_by_id": viewer.user_id,
                                                 "submitted_at": now()}, campaigns)
        if viewer.role != Role.SUPERVISOR:
            case = await Consultation.get(id=row.consultation_id)
            await service._notify_supervisors(case, campaigns, kind="rectification",
                                              title=f"整改材料待确认：#{case.id}", summary=evidence[:60])
    await service.kick_all(rt, campaigns)
    return await read_rectification(viewer, rect_id)


async def close_rectification(rt: Runtime, *, rect_id: int, viewer: Principal, ip: str = "",
                              request_id: str = "") -> dict:
    row = await load_rectification(viewer, rect_id)
    async with in_transaction():
        await _step(rt, row, "close", viewer, {"closed_by_id": viewer.user_id, "closed_at": now()}, [])
    await audit.record("rectification_closed", actor=viewer, target_type="rectification", target_id=rect_id, ip=ip,
                       request_id=request_id, details={"consultation_id": row.consultation_id})
    return await read_rectification(viewer, rect_id)


async def appeal(rt: Runtime, *, rect_id: int, reason: str, viewer: Principal, ip: str = "",
                 request_id: str = "") -> dict:
    """申诉: the department thinks the poor rating is not its fault. Another supervisor
    decides; those of the same department are told first, else every other supervisor.
    One appeal per rectification: an upheld one cannot be appealed again."""
    row = await load_rectification(viewer, rect_id)
    if row.appeal_decision is not None:
        raise Conflict("该整改已经申诉复核过，不能再次申诉", code="already_appealed")
    campaigns: list[int] = []
    async with in_transaction():
        await _step(rt, row, "appeal", viewer, {"appeal_reason": reason, "appealed_by_id": viewer.user_id,
                                                 "appealed_at": now()}, campaigns, reason=reason)
        others = User.filter(role=Role.SUPERVISOR, is_active=True).exclude(id=viewer.user_id)
        ids = await others.filter(department_id=row.department_id).values_list("id", flat=True) \
            if row.department_id is not None else []
        for uid in ids or await others.values_list("id", flat=True):
            await service._notify(campaigns, user_id=uid, title=f"整改申诉待复核：#{row.consultation_id}",
                                  summary=reason[:60], page=RECT_PAGE.format(id=row.id), critical=True,
                                  kind="rectification", case_id=row.consultation_id)
    await audit.record("rectification_appealed", actor=viewer, target_type="rectification", target_id=rect_id, ip=ip,
                       request_id=request_id, details={"reason": reason})
    await service.kick_all(rt, campaigns)
    return await read_rectification(viewer, rect_id)


async def decide(rt: Runtime, *, rect_id: int, decision: str, comment: str, viewer: Principal, ip: str = "",
                 request_id: str = "") -> dict:
    """申诉复核 by a supervisor other than the appellant: upheld sends the rectification
    back to open (the deadline stands), overturned ends it without counting it."""
    row = await load_rectification(viewer, rect_id, reviewing=True)
    if row.status == "appealed" and row.appealed_by_id == viewer.user_id:
        raise PermissionDenied("申诉人不能复核自己的申诉，请由其他主管复核", code="own_appeal")
    action = "uphold" if decision == "upheld" else "overturn"
    campaigns: list[int] = []
    async with in_transaction():
        await _step(rt, row, action, viewer, {"appeal_decision": decision, "appeal_comment": comment,
                                               "decided_by_id": viewer.user_id, "decided_at": now()},
                    campaigns, decision=decision, comment=comment)
        if row.appealed_by_id is not None:
            await service._notify(campaigns, user_id=row.appealed_by_id,
                                  title=f"申诉复核结果：#{row.consultation_id} {RECT_ACTION_LABELS[action]}",
                                  summary=comment[:60] or RECT_ACTION_LABELS[action],
                                  page=RECT_PAGE.format(id=row.id), critical=True, kind="rectification",
                                  case_id=row.consultation_id)
    await audit.record("rectification_appeal_decided", actor=viewer, target_type="rectification", target_id=rect_id,
                       ip=ip, request_id=request_id, details={"decision": decision, "comment": comment})
    await service.kick_all(rt, campaigns)
    # decided, it is no longer under appeal: a reviewer of another department still gets the result
    return (await rectification_views([await Rectification.get(id=rect_id)], viewer))[0]


# ----------------------------------------------------------------- lookups


async def _user_names(ids: set[int | None]) -> dict[int, dict]:
    ids = {i for i in ids if i}
    return {u.id: {"id": u.id, "name": u.display_name or u.username or ""} for u in await User.filter(id__in=ids)}


async def _departments(ids: set[int | None]) -> dict[int, dict]:
    ids = {i for i in ids if i}
    return {d.id: {"code": d.code, "name": d.name} for d in await Department.filter(id__in=ids)}
