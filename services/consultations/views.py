"""What each viewer sees of a case. The enterprise never gets internal notes, the
history, the classifier's suggestion or who handles the case by name; staff get all.
Filtering happens here, once, so no handler can forget it."""

from __future__ import annotations

from datetime import timedelta

from models.catalogue import Department, ServiceItem
from models.consultation import Consultation, ConsultationEvent, ConsultationMessage, Rating, Topic
from models.identity import Enterprise, User
from models.policy import Policy
from services.auth.principal import Principal
from services.consultations import workflow
from services.consultations.schemas import ELEMENT_LABELS, KIND_LABELS
from services.consultations.service import actor_kind, local, now, taxonomy, time_left
from services.runtime import Runtime

RATING_LABELS = {1: "非常不满意", 2: "不满意", 3: "基本满意", 4: "满意", 5: "非常满意"}
RATING_CHANGE_DAYS = 7


async def _lookups(rows: list[Consultation], staff: bool = True) -> dict[str, dict]:
    """Names for the rows; enterprises and assignees only for staff, who are shown them."""
    dept_ids = {r.department_id for r in rows if r.department_id}
    item_ids = {r.service_item_id for r in rows if r.service_item_id}
    topic_codes = {r.topic_code for r in rows if r.topic_code}
    ent_ids = {r.enterprise_id for r in rows} if staff else set()
    user_ids = {r.assignee_id for r in rows if r.assignee_id} if staff else set()
    return {
        "dept": {d.id: {"code": d.code, "name": d.name}
                 for d in (await Department.filter(id__in=dept_ids) if dept_ids else [])},
        "item": {i: {"id": i, "name": n} for i, n in
                 (await ServiceItem.filter(id__in=item_ids).values_list("id", "name") if item_ids else [])},
        "topic": {c: {"code": c, "name": n} for c, n in
                  (await Topic.filter(code__in=topic_codes).values_list("code", "name") if topic_codes else [])},
        "ent": {i: {"id": i, "name": n} for i, n in
                (await Enterprise.filter(id__in=ent_ids).values_list("id", "name") if ent_ids else [])},
        "user": {u.id: {"id": u.id, "name": u.display_name or u.username or ""}
                 for u in (await User.filter(id__in=user_ids) if user_ids else [])},
    }


def _summary(row: Consultation, viewer: Principal, lk: dict[str, dict]) -> dict:
    staff = actor_kind(viewer) != "enterprise"
    return {
        "id": row.id, "kind": row.kind, "kind_label": KIND_LABELS[row.kind], "channel": row.channel,
        "status": row.status, "status_label": workflow.STATUS_LABELS[row.status], "title": row.content[:40],
        "topic": lk["topic"].get(row.topic_code), "department": lk["dept"].get(row.department_id),
        "service_item": lk["item"].get(row.service_item_id), "accepted_at": local(row.accepted_at),
        "due_at": local(row.due_at), "overdue": row.overdue or (
            row.status in workflow.CHASED_STATUSES and time_left(row) < 0),
        "time_left_seconds": time_left(row),
        "moderation": row.moderation,
        "enterprise": lk["ent"].get(row.enterprise_id) if staff else None,
        "assignee": lk["user"].get(row.assignee_id) if staff else None,
    }


async def summaries(rows: list[Consultation], viewer: Principal) -> list[dict]:
    lk = await _lookups(rows, actor_kind(viewer) != "enterprise")
    return [_summary(r, viewer, lk) for r in rows]


def rating_view(rating: Rating | None) -> dict | None:
    if rating is None:
        return None
    return {"score": rating.score, "label": RATING_LABELS.get(rating.score, ""), "comment": rating.comment,
            "created_at": local(rating.created_at),
            "changeable_until": local(rating.created_at + timedelta(days=RATING_CHANGE_DAYS))}


def viewer_actions(row: Consultation, viewer: Principal, rating: Rating | None) -> list[str]:
    kind = actor_kind(viewer)
    acts = set(workflow.allowed_actions(row.status, kind))
    if kind == "enterprise":
        if row.status not in workflow.FINAL_STATUSES and row.status != "resolved":
            acts.add("message")
        if row.status in ("resolved", "closed") and (
                rating is None or now() < rating.created_at + timedelta(days=RATING_CHANGE_DAYS)):
            acts.add("rate")
    elif kind in ("consultant", "supervisor"):
        acts.add("note")
        if row.status not in ("merged", "withdrawn"):
            acts.add("message")
        if row.status == "new" and row.assignee_id is None and kind == "consultant" \
                and row.department_id == viewer.department_id:
            acts.add("claim")
        if row.status not in workflow.FINAL_STATUSES:
            acts.add("correct")
        if row.moderation == "held" and kind == "supervisor":
            acts.update({"release", "reject_content"})
        if row.moderation in ("held", "pending"):
            acts -= {"claim", "assign", "reassign", "message"}
    return sorted(acts)


async def detail(row: Consultation, viewer: Principal) -> dict:
    staff = actor_kind(viewer) != "enterprise"
    msgs = ConsultationMessage.filter(consultation_id=row.id)
    if not staff:
        msgs = msgs.filter(internal=False)
    out = _detail(row, viewer, await _lookups([row], staff), await msgs.order_by("id"),
                  await Rating.get_or_none(consultation_id=row.id), await _policy(row))
    if staff:
        out.update(await _staff_part(row))
    return out


async def created(rt: Runtime, row: Consultation, viewer: Principal) -> dict:
    """:func:`detail` of a case this request has just created, without reading back what
    cannot exist yet — no messages, no rating — and with the names from the reference
    data cache (python -m bench intake: seven queries per intake fewer). The enterprise's
    view only; staff recording a case get the full detail."""
    if actor_kind(viewer) != "enterprise":
        return await detail(row, viewer)
    tax = await taxonomy(rt)
    dept, topic = tax.departments.get(row.department_id), tax.topic_names.get(row.topic_code)
    item = tax.item_names.get(row.service_item_id)
    if (row.department_id and dept is None) or (row.topic_code and topic is None) or (
            row.service_item_id and item is None):  # not (or no longer) in the cache: read them
        lk = await _lookups([row], staff=False)
    else:
        lk = {"dept": {row.department_id: dept} if dept else {},
              "topic": {row.topic_code: {"code": row.topic_code, "name": topic}} if topic is not None else {},
              "item": {row.service_item_id: {"id": row.service_item_id, "name": item}} if item is not None else {},
              "ent": {}, "user": {}}
    return _detail(row, viewer, lk, [], None, await _policy(row))


async def _policy(row: Consultation) -> dict | None:
    if row.policy_id is None:
        return None
    found = await Policy.get_or_none(id=row.policy_id)
    return {"id": row.policy_id, "name": found.title if found else ""}


def _detail(row: Consultation, viewer: Principal, lk: dict[str, dict], messages: list[ConsultationMessage],
            rating: Rating | None, policy: dict | None) -> dict:
    out = _summary(row, viewer, lk)
    staff = actor_kind(viewer) != "enterprise"
    out.update({
        "content": row.content, "policy": policy, "element": row.element,
        "element_label": ELEMENT_LABELS.get(row.element or "", ""), "element_detail": row.element_detail,
        "due_provisional": row.due_provisional, "answered_at": local(row.answered_at),
        "resolved_at": local(row.resolved_at), "closed_at": local(row.closed_at),
        "merged_into_id": row.merged_into_id,
        "messages": [{"id": m.id, "author_role": m.author_role if staff or m.author_role in (
            "enterprise_owner", "enterprise_member") else "staff",
            "author_name": m.author_name if staff or m.author_role in ("enterprise_owner", "enterprise_member")
            else "咨询服务人员", "body": m.body, "internal": m.internal, "mine": m.author_id == viewer.user_id,
            "created_at": local(m.created_at)} for m in messages],
        "actions": viewer_actions(row, viewer, rating),
        "rating": rating_view(rating),
    })
    return out


async def _staff_part(row: Consultation) -> dict:
    recorder = None
    if row.recorded_by_id:
        u = await User.get_or_none(id=row.recorded_by_id)
        recorder = (u.display_name or u.username) if u else None
    return {
        "contact_name": row.contact_name, "recorded_by": recorder, "suggestion": row.suggestion,
        "corrected": row.corrected,
        "events": [{"action": e.action, "action_label": workflow.ACTION_LABELS.get(e.action, e.action),
                    "from_status": e.from_status, "to_status": e.to_status, "actor_name": e.actor_name,
                    "detail": e.detail or {}, "at": local(e.at)}
                   for e in await ConsultationEvent.filter(consultation_id=row.id).order_by("id")],
    }
