"""The supervision ladder (提醒 → 催办 → 通报) and the automatic closing of cases, as one
periodic sweep, plus the supervisor's overview.

Each step of the ladder is due at a stored mark (``remind_at``, ``due_at``,
``escalate_at``, set at intake by :func:`service.clock`) and done when its stamp column
(``reminded_at``, ``urged_at``, ``escalated_at``) is set. The stamp is set by a
conditional ``UPDATE … WHERE <stamp> IS NULL`` in the same transaction as the event and
the notices, so whichever process or run wins the update is the only one that records
and notifies: running the sweep twice, or in two processes at once, does it once.

Only cases nobody has answered yet (``workflow.CHASED_STATUSES``) whose content has been
let through are chased; a case answered before a mark is simply no longer selected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import structlog
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.catalogue import Department
from models.consultation import Consultation
from models.identity import User
from services.auth.principal import Principal
from services.auth.roles import Role
from services.consultations import service, workflow
from services.consultations.deadlines import TZ, due_after
from services.consultations.schemas import KIND_LABELS
from services.errors import Conflict
from services.runtime import Runtime

log = structlog.get_logger(__name__)

#: Content that may be worked on (held or unchecked content is the moderators' business).
MODERATED = ("pass", "released")
#: Rows handled per query; the sweep loops until a short page, so a backlog clears in one run.
BATCH = 200
#: The overview lists at most this many late cases (the counts are always complete).
OVERVIEW_LIMIT = 100


@dataclass(frozen=True)
class Step:
    action: str  # the event's action (workflow.ACTION_LABELS)
    mark: str  # column: when the step is due
    stamp: str  # column: when it was done (NULL until then)
    kind: str  # notice kind in the outbox
    counter: str  # key in the sweep's result


REMIND = Step("remind", "remind_at", "reminded_at", "case_reminder", "reminded")
URGE = Step("urge", "due_at", "urged_at", "case_urge", "urged")
ESCALATE = Step("escalate", "escalate_at", "escalated_at", "case_escalation", "escalated")

#: (status, time column, working days, reason recorded, what the enterprise is told):
#: answered or resolved cases nobody touches any more are closed by the system, so they
#: do not stay open work for ever.
AUTO_CLOSE = (("resolved", "resolved_at", 3, "企业确认解决满 3 个工作日，系统自动办结",
               "欢迎对本次服务进行评价"),
              ("answered", "answered_at", 7, "答复后企业 7 个工作日未回复，系统自动办结",
               "答复后 7 个工作日未收到您的回复，已自动办结；如问题仍未解决，可重新打开"))


async def sweep(rt: Runtime, now: datetime | None = None) -> dict[str, int]:
    """One run of the ladder and the automatic closing; ``now`` is injectable for tests."""
    t = now or service.now()
    result = {step.counter: await _chase(rt, step, t) for step in (REMIND, URGE, ESCALATE)}
    result["closed"] = await _auto_close(rt, t)
    return result


# ----------------------------------------------------------------- the ladder


async def _supervisor_ids(department_id: int | None) -> list[int]:
    """The department's supervisors (its head); an unrouted case goes to the zone-wide ones."""
    qs = User.filter(role=Role.SUPERVISOR, is_active=True)
    qs = qs.filter(department_id=department_id) if department_id is not None else qs.filter(department_id=None)
    return list(await qs.order_by("id").values_list("id", flat=True))


async def _recipients(step: Step, row: Consultation) -> list[int]:
    supervisors = await _supervisor_ids(row.department_id)
    if step is REMIND:
        return [row.assignee_id] if row.assignee_id else supervisors
    if step is URGE:
        return list(dict.fromkeys(([row.assignee_id] if row.assignee_id else []) + supervisors))
    return supervisors


async def _assignee_name(row: Consultation) -> str:
    if row.assignee_id is None:
        return "未派单"
    u = await User.get_or_none(id=row.assignee_id)
    return (u.display_name or u.username or "") if u else ""


async def _notice(step: Step, row: Consultation) -> tuple[str, str]:
    ref = f"{KIND_LABELS[row.kind]}#{row.id}"
    due = f"{service.local(row.due_at):%m月%d日}"
    if step is REMIND:
        return f"到期提醒：{ref} 将于{due}到期", f"{row.content[:40]}（办理期限 {due}）"
    if step is URGE:
        return f"催办：{ref} 已到办理期限，请尽快答复", f"{row.content[:40]}（期限 {due}）"
    return (f"通报：{ref} 超期一个工作日仍未答复",
            f"承办人：{await _assignee_name(row)}；{row.content[:40]}（期限 {due}）")


def _candidates(step: Step, t: datetime):
    qs = Consultation.filter(status__in=list(workflow.CHASED_STATUSES), moderation__in=list(MODERATED),
                             **{f"{step.mark}__lte": t, f"{step.stamp}__isnull": True})
    if step is REMIND:
        # Past the deadline a "will be due" reminder is moot: the 催办 says more.
        qs = qs.filter(due_at__gt=t)
    return qs.order_by(step.mark, "id").limit(BATCH)


async def _chase(rt: Runtime, step: Step, t: datetime) -> int:
    """Every case due for ``step``. One case failing (its transaction rolls back, so it is
    tried again next run) neither stops the others nor makes the loop spin on it."""
    done = 0
    while True:
        rows = await _candidates(step, t)
        failed = False
        for row in rows:
            try:
                done += await _take_step(rt, step, row, t)
            except Exception:
                log.exception("consultation_supervision_failed", action=step.action, case_id=row.id)
                failed = True
        if len(rows) < BATCH or failed:
            return done


async def _take_step(rt: Runtime, step: Step, row: Consultation, t: datetime) -> int:
    """1 if this call did the step, 0 if another run (or an answer) got there first."""
    campaigns: list[int] = []
    async with in_transaction():
        changes: dict[str, Any] = {step.stamp: t}
        if step is not REMIND:
            changes["overdue"] = True  # stays set: statistics count the case as overdue
        # The guard repeats the selection, so a case answered meanwhile is left alone.
        won = await Consultation.filter(id=row.id, status__in=list(workflow.CHASED_STATUSES),
                                        moderation__in=list(MODERATED),
                                        **{f"{step.stamp}__isnull": True}).update(**changes)
        if not won:
            return 0
        row = await Consultation.get(id=row.id)  # assignee or department may have changed since the select
        recipients = await _recipients(step, row)
        title, summary = await _notice(step, row)
        for uid in recipients:
            await service._notify(campaigns, user_id=uid, title=title, summary=summary,
                                  page=service.CONSOLE_PAGE.format(id=row.id), critical=True, kind=step.kind,
                                  case_id=row.id)
        await service._event(row.id, step.action, row.status, row.status, None, recipients=recipients,
                             due_at=service.local(row.due_at).isoformat(), mark=getattr(row, step.mark).isoformat())
    await service.kick_all(rt, campaigns)
    log.info("consultation_supervision", action=step.action, case_id=row.id, recipients=len(recipients))
    return 1


# ----------------------------------------------------------------- automatic closing


async def _auto_close(rt: Runtime, t: datetime) -> int:
    closed = 0
    for status, column, days, why, tell in AUTO_CLOSE:
        # N working days are at least N calendar days: a cheap pre-filter in SQL, the
        # exact working-day test below. Oldest first, so the first not yet due ends the run.
        rows = await Consultation.filter(status=status, **{f"{column}__lte": t - timedelta(days=days)}) \
            .order_by(column, "id").limit(BATCH)  # a backlog clears over a few runs
        for row in rows:
            if due_after(getattr(row, column), days).due_at > t:
                break
            try:
                closed += await _close(rt, row, t, why, tell)
            except Exception:  # rolled back: tried again next run; the others still close
                log.exception("consultation_auto_close_failed", case_id=row.id)
    return closed


async def _close(rt: Runtime, row: Consultation, t: datetime, why: str, tell: str) -> int:
    campaigns: list[int] = []
    async with in_transaction():
        try:
            # _move checks the table (workflow.next_status) and guards on the status.
            await service._move(row, "close", None, campaigns=campaigns, extra={"closed_at": t}, reason=why,
                                automatic=True)
        except Conflict:  # another run closed it, or the enterprise reacted meanwhile
            return 0
        await service._tell_enterprise(row, campaigns, title="您的咨询已办结", summary=tell)
        await service.after_close(rt, row)
    await service.kick_all(rt, campaigns)
    return 1


# ----------------------------------------------------------------- overview


def _late(t: datetime) -> Q:
    """Not answered and past the deadline (flagged by the sweep, or not swept yet)."""
    return Q(status__in=list(workflow.CHASED_STATUSES)) & (Q(overdue=True) | Q(due_at__lt=t))


def _escalated() -> Q:
    return Q(status__in=list(workflow.OPEN_STATUSES)) & Q(escalated_at__isnull=False)


async def overview(viewer: Principal, now: datetime | None = None) -> dict[str, Any]:
    """The supervisor's department at a glance. A supervisor without a department
    oversees the whole zone (as in :func:`service.can_see`)."""
    t = now or service.now()
    base = Consultation.all()
    dept = None
    if viewer.department_id is not None:
        base = base.filter(department_id=viewer.department_id)
        d = await Department.get_or_none(id=viewer.department_id)
        dept = {"code": d.code, "name": d.name} if d else None
    end_of_day = datetime.combine(t.astimezone(TZ).date() + timedelta(days=1), time.min, tzinfo=TZ)
    rows = await base.filter(_late(t) | _escalated()).order_by("due_at", "id").limit(OVERVIEW_LIMIT)
    names = {u.id: u.display_name or u.username or ""
             for u in await User.filter(id__in={r.assignee_id for r in rows if r.assignee_id})}
    return {
        "department": dept,
        "open": await base.filter(status__in=list(workflow.OPEN_STATUSES)).count(),
        "overdue": await base.filter(_late(t)).count(),
        # still to come today (what is already past counts as overdue)
        "due_today": await base.filter(status__in=list(workflow.CHASED_STATUSES), due_at__gte=t,
                                       due_at__lt=end_of_day).count(),
        "escalated": await base.filter(_escalated()).count(),
        "held_for_moderation": await Consultation.filter(moderation__in=["held", "pending"]).count(),
        "cases": [{"id": r.id, "title": r.content[:40], "status": r.status,
                   "status_label": workflow.STATUS_LABELS[r.status],
                   "assignee_name": names.get(r.assignee_id) if r.assignee_id else None,
                   "due_at": service.local(r.due_at),
                   "overdue_hours": max(0, math.floor((t - r.due_at).total_seconds() / 3600)),
                   "escalated": r.escalated_at is not None} for r in rows],
    }
