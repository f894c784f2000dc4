"""Consultations: intake (online and offline), content safety, classification, dispatch,
the thread, transitions, corrections, duplicates (并单) and the moderation queue.

Object-level rules, in one place (:func:`load_for`): an enterprise sees only its own
cases; a consultant sees cases of their department or assigned to them, once content
safety has let them through; a supervisor sees their department's cases, cases not yet
routed to any department and the moderation queue. Anything else is "not found", so an
id never tells an outsider that a case exists.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, NamedTuple, TypeVar

import structlog
from prometheus_client import Histogram
from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.fields import DatetimeField, JSONField
from tortoise.fields.base import Field
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.catalogue import Department, ServiceItem
from models.consultation import Consultation, ConsultationEvent, ConsultationMessage, StaffSkill, Topic
from models.identity import Enterprise, User
from models.policy import Policy
from notifications import outbox
from notifications.sqltext import Statement
from services import audit
from services.auth import sessions
from services.auth.principal import Principal
from services.auth.roles import ENTERPRISE, Role
from services.consultations import classify as classifier
from services.consultations import deadline_rules
from services.consultations import workflow
from services.consultations.deadlines import TZ, Due, due_after
from services.consultations.group_write import GroupWriter
from services.consultations.schemas import (CHANNEL_LABELS, ELEMENT_LABELS, KIND_LABELS, ConsultationCreate,
                                            OfflineIntake)
from services.errors import (Conflict, NotFound, PermissionDenied, TooManyRequests, Unavailable,
                             ValidationFailed)
from services.runtime import Runtime
from services.service_items import text

log = structlog.get_logger(__name__)

DETAIL_PAGE = "pages/consultation-detail/index?id={id}"
CONSOLE_PAGE = "/console/#/cases/{id}"
#: Similar open cases of the same enterprise at or above this token overlap are offered
#: for merging.
DUPLICATE_MIN_SIMILARITY = 0.3
#: msgSecCheck labels → what the user is told when their text is refused.
SEC_LABELS = {10001: "广告", 20001: "时政", 20002: "色情", 20003: "辱骂", 20006: "违法犯罪", 20008: "欺诈",
              20012: "低俗", 20013: "版权", 21000: "其他"}
STAFF_ROLES_ON_CASES = frozenset({Role.CONSULTANT, Role.SUPERVISOR})
#: Content-safety states under which a case goes to a consultant.
DISPATCHABLE = frozenset({"pass", "released"})
M = TypeVar("M", bound=Model)


def now() -> datetime:
    return datetime.now(TZ)


def local(dt: datetime | None) -> datetime | None:
    return dt.astimezone(TZ) if dt is not None else None


def actor_kind(viewer: Principal | None) -> str:
    if viewer is None:
        return "system"
    if viewer.role in ENTERPRISE:
        return "enterprise"
    if viewer.role == Role.SUPERVISOR:
        return "supervisor"
    if viewer.role == Role.CONSULTANT:
        return "consultant"
    return "other"


# ----------------------------------------------------------------- access


def can_see(row: Consultation, viewer: Principal) -> bool:
    kind = actor_kind(viewer)
    if kind == "enterprise":
        return row.enterprise_id == viewer.enterprise_id
    if kind == "consultant":
        if row.moderation in ("held", "pending", "rejected"):
            return False
        return row.assignee_id == viewer.user_id or (
            row.department_id is not None and row.department_id == viewer.department_id)
    if kind == "supervisor":
        return (viewer.department_id is None or row.department_id is None
                or row.department_id == viewer.department_id)
    return False


async def load_for(viewer: Principal, case_id: int) -> Consultation:
    """The case if ``viewer`` may see it; otherwise 404 (never 403: no existence leak)."""
    row = await Consultation.get_or_none(id=case_id)
    if row is None or not can_see(row, viewer):
        raise NotFound("咨询事项不存在或无权查看", code="consultation_not_found")
    return row


# ----------------------------------------------------------------- deadlines


def _default_days(rt: Runtime, kind: str) -> int:
    return rt.settings.consultation_days if kind == "consultation" else rt.settings.feedback_days


async def working_days_for(rt: Runtime, *, kind: str, department_id: int | None,
                           service_item_id: int | None) -> int:
    """Working days for a new case: the service item's rule, else the department's, else
    the default for the kind, from this process's copy of the rules
    (:func:`deadline_rules.rules_for`): an edit applies at once in the process that made
    it and within a second in the others, and an intake reads no rule."""
    days = (await deadline_rules.rules_for(rt)).days(kind, department_id, service_item_id)
    return days if days is not None else _default_days(rt, kind)


@functools.lru_cache(maxsize=512)
def _due_from(day: date, working_days: int) -> tuple[Due, Due]:
    """Deadline and escalation mark of an intake on ``day``: they depend on the date only,
    and walking the holiday calendar costs a fifth of a millisecond per intake."""
    due = due_after(datetime.combine(day, dtime(12), tzinfo=TZ), working_days)
    return due, due_after(due.due_at, 1)


def clock(accepted_at: datetime, working_days: int) -> dict[str, Any]:
    """The stored deadline columns: due, the 75 % reminder mark and the escalation mark
    (the end of the working day after the deadline)."""
    local_day = (accepted_at.astimezone(TZ) if accepted_at.tzinfo else accepted_at.replace(tzinfo=TZ)).date()
    due, escalate = _due_from(local_day, working_days)
    remind = accepted_at + (due.due_at - accepted_at) * 0.75
    return {"working_days": working_days, "due_at": due.due_at, "due_provisional": due.provisional,
            "remind_at": remind, "escalate_at": escalate.due_at}


# ----------------------------------------------------------------- classification


@dataclass(frozen=True)
class Taxonomy:
    """What classification and a new case's answer need of the (rarely changing) reference
    data: topics, active items' departments, and the names a case shows."""

    topics: list[classifier.TopicDef]
    matcher: classifier.TopicMatcher
    item_department: dict[int, int]
    item_names: dict[int, str]
    topic_names: dict[str, str]
    departments: dict[int, dict]


#: Topics are seeded, not edited at run time; one changed behind the server's back is
#: picked up within this many seconds (or with the next catalogue version).
TAXONOMY_TTL_SECONDS = 30.0


async def taxonomy(rt: Runtime, cat: object | None = None) -> Taxonomy:
    """Read once per catalogue snapshot (and TTL) instead of four queries per case
    (python -m bench intake). A new catalogue version — an item added, renamed, moved to
    another department or withdrawn — is a new snapshot, hence fresh maps."""
    if cat is None:
        from services.service_items.service import cache as catalogue_cache

        cat = await catalogue_cache(rt).get(rt)
    held = rt.extras.get("consultation_taxonomy")
    if held is None or held[0] is not cat or time.monotonic() - held[1] > TAXONOMY_TTL_SECONDS:
        items = await ServiceItem.filter(is_active=True).values_list("id", "department_id", "name")
        topics = await Topic.filter(is_active=True).order_by("sort_order", "id")
        depts = await Department.all().values_list("id", "code", "name")
        defs = [classifier.TopicDef(t.code, tuple(t.keywords or ()), t.department_id) for t in topics]
        held = rt.extras["consultation_taxonomy"] = (cat, time.monotonic(), Taxonomy(
            topics=defs, matcher=classifier.TopicMatcher(defs),
            item_department={int(i): int(d) for i, d, _ in items}, item_names={int(i): n for i, _, n in items},
            topic_names={t.code: t.name for t in topics},
            departments={int(i): {"code": c, "name": n} for i, c, n in depts}))
    return held[2]


async def suggest(rt: Runtime, content: str, *, service_item_id: int | None,
                  policy_department_id: int | None) -> classifier.Suggestion:
    from services.service_items.service import cache as catalogue_cache

    cat = await catalogue_cache(rt).get(rt)
    toks = text.tokens(content)
    tax = await taxonomy(rt, cat)
    return classifier.classify(
        content, tokens=toks, topics=tax.topics, matcher=tax.matcher,
        item_scores=lambda: [b] if (b := cat.index.best(text.expand(toks), content[:200])) else [],
        item_department=tax.item_department, given_item_id=service_item_id, policy_department_id=policy_department_id)


# ----------------------------------------------------------------- dispatch


async def open_counts(user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = await (Consultation.filter(assignee_id__in=user_ids, status__in=list(workflow.OPEN_STATUSES))
                  .annotate(n=Count("id")).group_by("assignee_id").values_list("assignee_id", "n"))
    return {int(a): int(n) for a, n in rows}


class Staff(NamedTuple):
    """The consultant a dispatch picked: what an assignment records and tells them."""

    id: int
    display_name: str
    username: str | None


def _pick_sql(st: Statement, department_id: int, topic_code: str, taken: str = "") -> str:
    """Least open work among the department's active consultants, those with the topic's
    skill first; ties to the lower id so the choice is reproducible (at most one row).
    :func:`_pick_of` with the department and topic as parameters."""
    return _pick_of(dept=st.p(department_id, "INT"), topic=st.p(topic_code or "", "TEXT"),
                    role=st.p(str(Role.CONSULTANT), "TEXT"), taken=taken)


#: a consultant ``u``'s open work: the sum of their load rows (:func:`_pick_of`)
_LOAD_OF_U = "(SELECT COALESCE(SUM(l.open_cases), 0) FROM consultant_load l WHERE l.user_id = u.id)"


def _pick_of(*, dept: str, topic: str, role: str, taken: str = "", load: str = _LOAD_OF_U) -> str:
    """:func:`_pick_sql` over SQL expressions for the department, topic and role.

    "Skilled first" is a filter, not a sort key: when anyone has the skill, the others
    are left out before their load is read. A consultant's open work is the sum of
    their ``consultant_load`` rows, which triggers keep equal to their open cases
    (migration 0011): counting the cases themselves cost one index entry and one heap
    visit per case of each candidate, on every intake. ``taken``: an SQL count of the
    cases that earlier parts of the same statement gave ``u`` (:func:`_write_cases`);
    ``load``: ``u``'s open work, where the statement has it summed already."""
    staff = f"role = {role} AND {{u}}.department_id = {dept} AND {{u}}.is_active"
    skilled = f"SELECT 1 FROM staff_skill k WHERE k.user_id = {{u}}.id AND k.topic_code = {topic}"
    return (f"SELECT u.id, u.display_name, u.username FROM app_user u WHERE u.{staff.format(u='u')} "
            f"AND (EXISTS ({skilled.format(u='u')}) OR NOT EXISTS (SELECT 1 FROM app_user v "
            f"WHERE v.{staff.format(u='v')} AND EXISTS ({skilled.format(u='v')}))) "
            f"ORDER BY {load}{' + ' + taken if taken else ''}, "
            f"u.id LIMIT 1")


def _staff(row: dict) -> Staff | None:
    return Staff(int(row["id"]), row["display_name"] or "", row["username"]) if row.get("id") is not None else None


async def pick_consultant(department_id: int | None, topic_code: str) -> Staff | None:
    """The consultant for a case of the department (:func:`_pick_sql`), with the name the
    assignment event records, in one statement."""
    if department_id is None:
        return None
    conn = connections.get("default")
    st = Statement(conn)
    rows = await conn.execute_query_dict(_pick_sql(st, department_id, topic_code), st.params)
    return _staff(rows[0]) if rows else None


def _event_row(case_id: int, action: str, from_status: str, to_status: str, actor: Principal | None,
               actor_name: str = "", **detail: Any) -> ConsultationEvent:
    return _new(ConsultationEvent, consultation_id=case_id, action=action, from_status=from_status,
                to_status=to_status, actor_id=actor.user_id if actor else None,
                actor_role=str(actor.role) if actor else "system",
                actor_name=actor_name or ("系统" if actor is None else ""), detail=detail, at=None)


async def _event(case_id: int, action: str, from_status: str, to_status: str, actor: Principal | None,
                 actor_name: str = "", **detail: Any) -> None:
    await _event_row(case_id, action, from_status, to_status, actor, actor_name, **detail).save()


async def _name(viewer: Principal | None) -> str:
    if viewer is None:
        return "系统"
    if viewer.role in ENTERPRISE:  # never the person's name: no query needed
        return "企业用户"
    u = await User.get_or_none(id=viewer.user_id)
    if u is None:
        return ""
    return u.display_name or u.username or ""


async def _notify(campaigns: list[int], *, user_id: int, title: str, summary: str, page: str,
                  critical: bool, kind: str, case_id: int) -> None:
    """Queue a notice in the caller's transaction; the caller kicks the campaigns after commit.
    A campaign with nothing to offer now (a consultant without WeChat, quiet hours) is not
    kicked: the kick would only read that there is nothing (one query per intake)."""
    campaign_id, ready = await outbox.notify_one(user_id=user_id, title=title[:64], summary=summary[:120],
                                                 page=page, critical=critical, kind=kind, source_id=case_id)
    if ready is None or ready:
        campaigns.append(campaign_id)


async def kick_all(rt: Runtime, campaigns: list[int]) -> None:
    for cid in campaigns:
        try:
            await outbox.kick(rt, cid)
        except Exception:  # committed: the outbox sweeper offers them later
            log.exception("consultation_notice_kick_failed", campaign_id=cid)


async def offer(rt: Runtime, campaigns: list[int], ready: list[int]) -> None:
    """After an intake's commit: push the delivery ids its write returned (``ready``, the
    one-statement path) and kick the campaigns it did not (the general path). Pushing
    the ids saves the kick's read of them, a round trip on every dispatched intake
    (python -m bench intake)."""
    if ready:
        try:
            await outbox.push_ids(rt, ready)
        except Exception:  # committed: the outbox sweeper offers them later
            log.exception("consultation_notice_push_failed", delivery_ids=ready)
    await kick_all(rt, campaigns)


async def dispatch(row: Consultation, campaigns: list[int]) -> bool:
    """Send a new, moderated case to a consultant of its department, if there is one.
    Without one it waits in the department's queue (status ``new``) for the supervisor."""
    if row.status != "new" or row.moderation not in DISPATCHABLE:
        return False
    consultant = await pick_consultant(row.department_id, row.topic_code)
    if consultant is None:
        return False
    await _assign_guarded(row, consultant, None, "assign", "", campaigns)
    return True


# ----------------------------------------------------------------- intake


#: Wall time of an online intake's own steps, on /metrics: how long the question waited
#: for classification (CPU only), the content check (a call to WeChat) and the write
#: (one statement on PostgreSQL; the pool's queue included), and per statement of the
#: group writer its round trip (``group``: how long PostgreSQL and the wait for this
#: process's loop to read the answer take, without the queue before it). python -m
#: bench intake reports them beside the event loop's lag (server/loop_lag.py), which is
#: what each of them mostly is when the API process is saturated.
INTAKE_STAGE = Histogram("sz_intake_stage_seconds", "Wall time of online intake steps", ["stage"],
                         buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28))
_STAGE_CLASSIFY, _STAGE_CHECK, _STAGE_WRITE, _STAGE_GROUP = (
    INTAKE_STAGE.labels(s) for s in ("classify", "content_check", "write", "group"))

#: The per-user hourly window intake counts submissions in (``consultation_rate_per_hour``).
RATE_BUCKET = "consultation"

#: Count one submission in the user's hourly window; the window's key lives a little past
#: its hour. One command instead of a MULTI/INCR/EXPIRE/EXEC pipeline, and just as
#: atomic. Requests through the API are counted by the session lookup instead (the
#: route's ``counts``): one round trip fewer on every intake (python -m bench intake).
_RATE_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


async def _rate_limit(rt: Runtime, user_id: int, counted: sessions.Counted | None = None) -> str | None:
    """The submission's count in the window must stay within the limit. ``counted``: the
    session lookup already counted it (marked used here, so the endpoint keeps it).
    Returns the window's key when the count was made here (None: by the lookup)."""
    key = None
    if counted is not None:
        counted.used = True
        count = counted.n
    else:
        key = rt.keys.rate(RATE_BUCKET, f"{user_id}:{sessions.hour_window()}")
        script = rt.extras.get("consultation_rate_script")
        if script is None or script.registered_client is not rt.redis:
            script = rt.extras["consultation_rate_script"] = rt.redis.register_script(_RATE_SCRIPT)
        count = await script(keys=[key], args=[sessions.WINDOW_EXPIRY_SECONDS])
    if int(count) > rt.settings.consultation_rate_per_hour:
        raise TooManyRequests(f"提交过于频繁：每小时最多 {rt.settings.consultation_rate_per_hour} 条，请稍后再试",
                              code="consultation_rate_limited")
    return key


async def count_refusal(rt: Runtime) -> None:
    """Refused (risky) texts are not stored: only this daily counter remembers them."""
    key = rt.keys.rate("sec_refused", f"{now():%Y%m%d}")
    async with rt.redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 40 * 86400)
        await pipe.execute()


async def sec_check(rt: Runtime, openid: str | None, content: str) -> tuple[str, int | None]:
    """("pass" | "review" | "risky" | "pending", label). "pending": WeChat could not be
    asked now; the case is kept and checked again by the sweep."""
    if not openid:
        return "pending", None
    from wechat.gateway import WeChatError

    try:
        verdict = await rt.gateway.msg_sec_check(openid, content, scene=2)
    except (WeChatError, OSError, TimeoutError) as exc:
        log.warning("msg_sec_check_unavailable", error=str(exc)[:200])
        return "pending", None
    return verdict.suggest, verdict.label


def refusal_message(label: int | None) -> str:
    what = SEC_LABELS.get(label or 0, "违规")
    return f"内容含有{what}信息，未能提交。请修改后重新提交；如有疑问可拨打 12345 热线"


async def _resolve_refs(data: ConsultationCreate) -> tuple[ServiceItem | None, Policy | None]:
    item = policy = None
    if data.service_item_id is not None:
        item = await ServiceItem.get_or_none(id=data.service_item_id)
        if item is None:
            raise ValidationFailed.field("service_item_id", "所选事项不存在", code="unknown_service_item")
    if data.policy_id is not None:
        policy = await Policy.get_or_none(id=data.policy_id)
        if policy is None or policy.status not in ("published", "superseded", "expired", "withdrawn"):
            raise ValidationFailed.field("policy_id", "所选政策不存在", code="unknown_policy")
    return item, policy


def _check_length(rt: Runtime, content: str) -> None:
    limit = rt.settings.consultation_max_chars
    if len(content) > limit:
        raise ValidationFailed.field("content", f"内容过长：最多 {limit} 个字，当前 {len(content)} 个字",
                                     code="content_too_long")


async def _existing(scope: str, key: str, data: ConsultationCreate) -> Consultation | None:
    row = await Consultation.get_or_none(idempotency_scope=scope, idempotency_key=key)
    if row is not None and (row.content != data.content or row.kind != data.kind):
        raise Conflict("同一个 Idempotency-Key 已用于另一条不同的内容，请换一个新的 Key", code="idempotency_key_reused")
    return row


async def _openid(user_id: int) -> str | None:
    """The asker's openid for a session that does not hold it (see ``sessions.create``)."""
    return await User.filter(id=user_id).first().values_list("openid", flat=True)


async def _replayed(rt: Runtime, scope: str, key: str | None, data: ConsultationCreate,
                    counted: sessions.Counted | None, rate_key: str | None) -> Consultation | None:
    """The case an earlier request with this Idempotency-Key created, if any (409 if its
    content differs). The key names a case, so this request is no new submission: its
    count in the rate window is taken back — by the endpoint (``counted``) or here
    (``rate_key``, the window :func:`_rate_limit` counted it in)."""
    if not key:
        return None
    try:
        found = await _existing(scope, key, data)
    except Conflict:
        await _take_back(rt, counted, rate_key)
        raise
    if found is not None:
        await _take_back(rt, counted, rate_key)
    return found


async def _take_back(rt: Runtime, counted: sessions.Counted | None, rate_key: str | None) -> None:
    """Undo this request's count: the endpoint does it for an unused ``counted``."""
    if counted is not None:
        counted.used = False
    elif rate_key:
        await rt.redis.decr(rate_key)


async def create(rt: Runtime, *, data: ConsultationCreate, viewer: Principal, idempotency_key: str | None,
                 ip: str = "", request_id: str = "", counted: sessions.Counted | None = None
                 ) -> tuple[Consultation, bool]:
    """An enterprise user's question. Returns (case, created); a repeated Idempotency-Key
    returns the first case unchanged (created False), even when the repeats race.
    ``counted``: the submission as the session lookup counted it (see :func:`_rate_limit`).

    On PostgreSQL the write is the only database round trip of a question that names no
    item or policy (python -m bench intake): the openid for the content check comes with
    the session (``Principal.openid``; read for a session without it), the deadline rule
    from this process's copy of the rules (:func:`working_days_for`), and a repeated key
    is not looked up first: the write trips over the unique (scope, key) pair and the
    first case is read then (:func:`_replayed`). A replay — a client's retry, rare — thus
    costs a msgSecCheck call and a failed insert, but answers as before: its rate count
    is taken back, and a replay refused by the limit or by the content check (a verdict
    can differ between calls) still gets its case, or the 409 of a reused key, because
    those refusals look the key up before they are given."""
    if viewer.enterprise_id is None:
        raise PermissionDenied("请先完善企业信息后再提交咨询", code="enterprise_required")
    _check_length(rt, data.content)
    scope = f"u{viewer.user_id}"
    # Classified before the write: the suggested department and item say which deadline
    # rule applies and who is dispatched to.
    item, policy = await _resolve_refs(data)
    started = time.perf_counter()
    s = await suggest(rt, data.content, service_item_id=item.id if item else None,
                      policy_department_id=policy.department_id if policy else None)
    _STAGE_CLASSIFY.observe(time.perf_counter() - started)
    try:
        rate_key = await _rate_limit(rt, viewer.user_id, counted)
    except TooManyRequests:
        # Counted here (no ``counted``), a replay over the limit stays counted: it changes
        # no answer, as every submission this hour is refused anyway.
        if (found := await _replayed(rt, scope, idempotency_key, data, counted, None)) is not None:
            return found, False
        raise
    openid = viewer.openid or await _openid(viewer.user_id)
    started = time.perf_counter()
    verdict, label = await sec_check(rt, openid, data.content)
    _STAGE_CHECK.observe(time.perf_counter() - started)
    if verdict == "risky":
        if (found := await _replayed(rt, scope, idempotency_key, data, counted, rate_key)) is not None:
            return found, False
        await count_refusal(rt)
        await audit.record("consultation_refused", actor=viewer, target_type="enterprise",
                           target_id=viewer.enterprise_id, ip=ip, request_id=request_id, details={"label": label})
        raise ValidationFailed.field("content", refusal_message(label), code="content_risky")
    moderation = {"pass": "pass", "review": "held"}.get(verdict, "pending")
    started = time.perf_counter()
    try:
        row, campaigns, ready = await _intake(
            rt, data=data, enterprise_id=viewer.enterprise_id, asked_by=viewer.user_id, recorded_by=None,
            channel="miniprogram", contact_name="", moderation=moderation, label=label, actor=viewer,
            idempotency=(scope, idempotency_key) if idempotency_key else None, refs=(item, policy), suggestion=s)
        _STAGE_WRITE.observe(time.perf_counter() - started)
    except IntegrityError:
        # The key names a case already: a replay, or a repeat that lost the race.
        found = await _replayed(rt, scope, idempotency_key, data, counted, rate_key)
        if found is None:
            raise Unavailable("提交未完成，请稍后重试", code="intake_conflict") from None
        return found, False
    await offer(rt, campaigns, ready)
    return row, True


async def create_offline(rt: Runtime, *, data: OfflineIntake, viewer: Principal, idempotency_key: str | None,
                         ip: str = "", request_id: str = "") -> tuple[Consultation, bool]:
    """A phone, walk-in or 12345 case recorded by staff on the enterprise's behalf. The
    text is the consultant's record, so it is not sent to msgSecCheck (that checks what
    users publish); the channel is stored for statistics."""
    _check_length(rt, data.content)
    if data.enterprise_id is not None:
        ent = await Enterprise.get_or_none(id=data.enterprise_id)
    else:
        ent = await Enterprise.get_or_none(credit_code=(data.credit_code or "").upper())
    if ent is None:
        raise ValidationFailed.field("enterprise_id" if data.enterprise_id is not None else "credit_code",
                                     "企业不存在，请先核对企业编号或统一社会信用代码", code="unknown_enterprise")
    scope = f"u{viewer.user_id}"
    if idempotency_key:
        found = await _existing(scope, idempotency_key, data)
        if found is not None:
            return found, False
    try:
        row, campaigns, ready = await _intake(rt, data=data, enterprise_id=ent.id, asked_by=ent.owner_id,
                                       recorded_by=viewer.user_id, channel=data.channel,
                                       contact_name=data.contact_name, moderation="pass", label=None, actor=viewer,
                                       idempotency=(scope, idempotency_key) if idempotency_key else None)
    except IntegrityError:
        found = await _existing(scope, idempotency_key, data) if idempotency_key else None
        if found is None:
            raise Unavailable("提交未完成，请稍后重试", code="intake_conflict") from None
        return found, False
    await audit.record("consultation_recorded", actor=viewer, target_type="consultation", target_id=row.id, ip=ip,
                       request_id=request_id, details={"channel": data.channel, "enterprise_id": ent.id})
    await offer(rt, campaigns, ready)
    return row, True


async def _intake(rt: Runtime, *, data: ConsultationCreate, enterprise_id: int, asked_by: int | None,
                  recorded_by: int | None, channel: str, contact_name: str, moderation: str,
                  label: int | None, actor: Principal, idempotency: tuple[str, str] | None,
                  refs: tuple[ServiceItem | None, Policy | None] | None = None,
                  suggestion: classifier.Suggestion | None = None
                  ) -> tuple[Consultation, list[int], list[int]]:
    """Store a new case with its first events and dispatch it as it is written
    (:func:`dispatch`'s rules: moderated text, the department's consultant with the least
    open work): no guarded UPDATE is needed, since nobody else can see the row before
    commit. ``refs`` and ``suggestion`` are read here unless the caller has them.
    Returns the case, the notice campaigns to kick and the delivery ids to push after
    commit (:func:`offer`)."""
    item, policy = refs if refs is not None else await _resolve_refs(data)
    s = suggestion or await suggest(rt, data.content, service_item_id=item.id if item else None,
                                    policy_department_id=policy.department_id if policy else None)
    row, events = await _draft(data, s, policy, enterprise_id=enterprise_id, asked_by=asked_by,
                               recorded_by=recorded_by, channel=channel, contact_name=contact_name,
                               moderation=moderation, label=label, actor=actor, idempotency=idempotency)
    dispatchable = moderation in DISPATCHABLE
    if connections.get("default").capabilities.dialect != "postgres":
        return row, await _write_in_steps(rt, row, events, s, dispatchable), []
    working_days = await working_days_for(rt, kind=data.kind, department_id=s.department_id,
                                          service_item_id=s.service_item_id)
    _set(row, clock(row.accepted_at, working_days))
    notice = await _store_and_dispatch(row, events, dispatchable and s.department_id is not None, rt)
    return row, [], notice[1] if notice is not None else []


async def _draft(data: ConsultationCreate, s: classifier.Suggestion, policy: Policy | None, *, enterprise_id: int,
                 asked_by: int | None, recorded_by: int | None, channel: str, contact_name: str, moderation: str,
                 label: int | None, actor: Principal, idempotency: tuple[str, str] | None,
                 ) -> tuple[Consultation, list[ConsultationEvent]]:
    """The new case, accepted now (deadline columns still to set), and its first events
    (the case id, 0 here, is set once the case is inserted)."""
    row = _new(
        Consultation, enterprise_id=enterprise_id, asked_by_id=asked_by, recorded_by_id=recorded_by, channel=channel,
        kind=data.kind, content=data.content, contact_name=contact_name, service_item_id=s.service_item_id,
        policy_id=policy.id if policy else None, policy_series_id=policy.series_id if policy else None,
        element=data.element, element_detail=data.element_detail, topic_code=s.topic_code,
        department_id=s.department_id, suggestion=s.as_dict(), moderation=moderation,
        moderation_label=label, accepted_at=now(), idempotency_scope=idempotency[0] if idempotency else None,
        idempotency_key=idempotency[1] if idempotency else None, created_at=None, updated_at=None)
    events = [_event_row(0, "create", "", "new", actor, await _name(actor), channel=channel,
                         suggestion=s.as_dict())]
    if moderation == "held":
        events.append(_event_row(0, "moderation_hold", "new", "new", None, label=label))
    return row, events


async def _write_in_steps(rt: Runtime, row: Consultation, events: list[ConsultationEvent],
                          s: classifier.Suggestion, dispatchable: bool) -> list[int]:
    """The general path (SQLite; any dialect): deadline and consultant, the case, its
    events and the notice, statement by statement in one transaction."""
    campaigns: list[int] = []
    async with in_transaction():
        days = await working_days_for(rt, kind=row.kind, department_id=s.department_id,
                                      service_item_id=s.service_item_id)
        pick = await pick_consultant(s.department_id, s.topic_code) if dispatchable else None
        _set(row, clock(row.accepted_at, days))
        if pick:
            row.status, row.assignee_id = workflow.next_status("new", "assign"), pick.id
            events.append(_event_row(0, "assign", "new", row.status, None, "", **_assign_detail(pick)))
        await _store(row, events)
        if pick:
            await _notify_assignee(row, pick.id, campaigns)
    return campaigns


def _set(row: Consultation, values: dict[str, Any]) -> None:
    for k, v in values.items():
        setattr(row, k, v)


def _assign_detail(pick: Staff) -> dict[str, Any]:
    """What an assignment at intake records: the same detail as a supervisor's 派单."""
    return {"assignee_id": pick.id, "assignee": pick.display_name or pick.username, "reason": "",
            "previous_assignee_id": None}


@functools.cache
def _columns(model: type) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, column, field) of what the ORM's INSERT writes: every non-generated field."""
    meta = model._meta
    return tuple((name, column, meta.fields_map[name]) for name, column in meta.fields_db_projection.items()
                 if not meta.fields_map[name].generated)


#: a default the ORM computes (a callable) or copies (a container): :func:`_new` needs the value
_NO_DEFAULT = object()


@functools.cache
def _defaults(model: type[Model]) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, column, default) of every field, the default as the ORM's ``__init__``
    would give it where it is a plain value (None where there is none)."""
    out = []
    for name, column in model._meta.fields_db_projection.items():
        default = model._meta.fields_map[name].default
        plain = default is None or isinstance(default, (int, float, str, bool))
        out.append((name, column, default if plain else _NO_DEFAULT))
    return tuple(out)


def _new(model: type[M], **values: Any) -> M:
    """A new, unsaved instance of ``model``: every column's default, then ``values``.

    Intake builds a case and one or two events per request, and the ORM's ``__init__``
    (a setter call and a default lookup per field) cost about 60 µs of them (python -m
    bench intake). The instance is the one ``_init_from_db`` makes, marked unsaved, so
    ``save()``, the one-statement write and the views treat it as the ORM's own; it is
    put together here from the defaults converted once (:func:`_new_plan`) and the given
    values converted as ``_init_from_db`` converts them: 14 µs a case and 5.6 an event
    through ``_init_from_db``, against about a third of that. A field whose default is a
    callable or a container must be given in ``values``."""
    template, fields, required = _new_plan(model)
    state = dict(template)
    for name, value in values.items():
        try:
            attr, convert = fields[name]
        except KeyError:
            raise TypeError(f"{model.__name__} has no field {sorted(set(values) - set(fields))}") from None
        state[attr] = value if value is None or convert is None else convert(value)
    if not required.issubset(values):
        raise TypeError(f"{model.__name__}.{sorted(required - values.keys())[0]} needs a value")
    inst = model.__new__(model)
    inst.__dict__.update(state)
    inst.__dict__["_await_when_save"] = {}
    return inst


@functools.cache
def _new_plan(model: type[Model]) -> tuple[dict[str, Any], dict[str, tuple[str, Any]], frozenset[str]]:
    """For :func:`_new`: the state of an instance with every plain default (converted
    as ``_init_from_db`` converts a column's value, and with its flags: whole, not yet
    saved), each field's attribute and conversion (None: kept as it is; ``_init_from_db``
    passes None through every conversion these models have), and the fields that must
    be given."""
    meta = model._meta
    how: dict[str, tuple[str, Any]] = {}
    for column, attr, _ in meta.db_native_fields:
        how[column] = (attr, None)
    for column, attr, f in meta.db_default_fields:
        how[column] = (attr, f.field_type)
    for column, attr, f in meta.db_complex_fields:
        how[column] = (attr, f.to_python_value)
    template: dict[str, Any] = {"_partial": False, "_saved_in_db": False,
                                "_custom_generated_pk": meta.db_pk_column not in meta.generated_db_fields}
    fields: dict[str, tuple[str, Any]] = {}
    required = set()
    for name, column, default in _defaults(model):
        attr, convert = how[column]
        fields[name] = (attr, convert)
        if default is _NO_DEFAULT:
            required.add(name)
        else:
            template[attr] = default if default is None or convert is None else convert(default)
    return template, fields, frozenset(required)


@functools.cache
def _binders(model: type) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, how, field) for each column of :func:`_columns`, to bind a value as the
    ORM's ``to_db_value`` would without calling it on every column (about 45 µs per
    intake, python -m bench intake): "as is" where it only casts to the field's type,
    which the values intake builds already have (and for aware datetimes); "now" and
    "now if unset" for ``auto_now`` and ``auto_now_add``; "json" for the encoder; "orm"
    for any other field, whose own ``to_db_value`` is called. The ORM's validators (text
    lengths) are not run here: the request schemas bound every text intake writes, and
    PostgreSQL refuses a value longer than its column all the same."""
    out: list[tuple[str, str, Any]] = []
    for name, _, f in _columns(model):
        if isinstance(f, DatetimeField) and f.auto_now:
            how = "now"
        elif isinstance(f, DatetimeField) and f.auto_now_add:
            how = "now if unset"
        elif isinstance(f, JSONField):
            how = "json"
        elif type(f).to_db_value is Field.to_db_value or isinstance(f, DatetimeField):
            how = "as is"
        else:
            how = "orm"
        out.append((name, how, f))
    return tuple(out)


def _bound(row: Any, stamp: datetime, skip: tuple[str, ...] = ()) -> list[Any]:
    """The row's values as the ORM would bind them (:func:`_binders`), but for the
    columns in ``skip``; the ``auto_now`` times are ``stamp``, set on the instance too, as
    ``save()`` does. The columns bound as they are, nearly all, are read by one
    ``attrgetter`` (:func:`_bind_plan`): a loop over every column cost the group write's
    building 31 µs more per group of 8 (221 against 190 µs)."""
    getter, special = _bind_plan(type(row), skip)
    out = list(getter(row))
    for i, name, how, f in special:
        value = out[i]
        if how == "now" or (how == "now if unset" and value is None):
            out[i] = stamp
            setattr(row, name, stamp)
        elif how == "json" and value is not None and not isinstance(value, (str, bytes)):
            out[i] = f.encoder(value)
        elif how == "orm" or how == "json":
            out[i] = f.to_db_value(value, row)
    return out


@functools.cache
def _bind_plan(model: type, skip: tuple[str, ...]) -> tuple[Callable[[Any], tuple], tuple[tuple[int, str, str, Any], ...]]:
    """For :func:`_bound`: a getter of the columns' attributes (a tuple, in column order)
    and (position, attribute, how, field) of those not bound as they are."""
    binders = [(name, how, f) for name, how, f in _binders(model) if name not in skip]
    names = [name for name, _, _ in binders]
    get = operator.attrgetter(*names)
    getter = get if len(names) > 1 else (lambda row: (get(row),))
    return getter, tuple((i, name, how, f) for i, (name, how, f) in enumerate(binders) if how != "as is")


async def _store(row: Consultation, events: list[ConsultationEvent]) -> None:
    """Insert a new case and its first events through the ORM (:func:`_write_in_steps`)."""
    await row.save(force_create=True)
    for e in events:
        e.consultation_id = row.id
    await ConsultationEvent.bulk_create(events)


class _Draft(NamedTuple):
    """A case ready to be written by :func:`_write_cases`, with its first events."""

    row: Consultation
    events: list[ConsultationEvent]
    dispatch: bool


#: What one case's write returns: (notice campaign, ids of its deliveries ready now), or
#: None when nobody was assigned.
Notice = tuple[int, list[int]] | None


async def _store_and_dispatch(row: Consultation, events: list[ConsultationEvent],
                              dispatch: bool, rt: Runtime | None = None) -> Notice:
    """PostgreSQL: insert a new case with its first events and, if ``dispatch``, assign it
    to the consultant :func:`_pick_sql` finds, record the assignment and write their
    notice (:func:`outbox.notices_ctes`) — all in one statement, hence one implicit
    transaction and one round trip, where the general path takes six (begin, the pick,
    the case, the events, the notice, commit) on every intake (python -m bench intake).
    With ``rt`` the statement may carry other requests' cases too (:func:`_writer`).

    The case's and the first events' columns and values are the ORM's own; the
    assignment's are those :func:`_intake` writes on SQLite, and a parity test holds the
    two paths to the same rows. Sets the row's id, status and assignee. Returns (notice
    campaign, ids of its deliveries ready now), or None when nobody was assigned: the
    caller pushes the ids after commit (:func:`offer`), where a kick would read them back
    in a round trip of its own.
    """
    conn = connections.get("default")
    draft = _Draft(row, events, dispatch)
    if rt is None or isinstance(conn, TransactionalDBClient):
        [notice] = await _write_cases(conn, [draft])
        return notice
    return await _writer(rt).write(conn, draft)


def _writer(rt: Runtime) -> GroupWriter[_Draft, Notice]:
    """This process's group writer for intake (:mod:`group_write`)."""
    writer = rt.extras.get("intake_writer")
    if writer is None:
        writer = rt.extras["intake_writer"] = GroupWriter(
            _write_cases, max_group=rt.settings.intake_group_max, in_flight=rt.settings.intake_writes_in_flight,
            timed=_STAGE_GROUP.observe)
    return writer


@functools.cache
def _column_types(model: type[Model], skip: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """(column, PostgreSQL type) for :func:`_columns` but ``skip``, in the order of
    :func:`_bound`: the casts of :func:`_values_sql`'s parameters. Text columns are cast
    to ``TEXT``: a cast to ``VARCHAR(n)`` would cut a value that is too long, where the
    INSERT's own conversion refuses it as the ORM's statement does."""
    out = []
    for name, column, f in _columns(model):
        if name in skip:
            continue
        sql_type = f.get_for_dialect("postgres", "SQL_TYPE")
        out.append((column, "TEXT" if sql_type.startswith("VARCHAR") else sql_type))
    return tuple(out)


#: What a case's row in :func:`_cases_sql` carries besides its columns: (name, type).
_CASE_EXTRA = (("dispatch", "BOOLEAN"), ("first_at", "TIMESTAMPTZ"), ("notice_title", "TEXT"),
               ("notice_summary", "TEXT"), ("notice_page", "TEXT"))


@functools.lru_cache(maxsize=256)
def _values_sql(shape: tuple[int, ...]) -> tuple[str, str]:
    """The VALUES rows of :func:`_cases_sql` for a group of ``shape`` (its cases' counts of
    first events): the cases, numbered ``n`` from 1, each with its columns
    (:func:`_column_types`) and :data:`_CASE_EXTRA`; then the events, with their case's
    ``n`` and their rank ``k``. Placeholders run from ``$1`` in that order, which is
    the order :func:`_cases_sql` lists the values in. Kept per shape: writing some 400
    placeholders each time made building a group of 8 cost 255 µs instead of 137."""
    number = itertools.count(1)

    def row(lead: str, types: tuple[tuple[str, str], ...]) -> str:
        return f"({lead}, " + ", ".join(f"CAST(${next(number)} AS {t})" for _, t in types) + ")"

    case_types = (*_column_types(Consultation), *_CASE_EXTRA)
    event_types = _column_types(ConsultationEvent, ("consultation_id",))
    cases = ", ".join(row(str(n), case_types) for n in range(1, len(shape) + 1))
    rank = itertools.count(1)
    events = ", ".join(row(f"{n}, {next(rank)}", event_types) for n, count in enumerate(shape, 1) for _ in range(count))
    return cases, events


async def _write_cases(conn: Any, drafts: list[_Draft]) -> list[Notice]:
    """Write the cases of ``drafts`` in one statement (:func:`_store_and_dispatch`) and
    return, per case, its notice (:data:`Notice`). The statement is :func:`_cases_sql`;
    a row per case comes back, numbered as the group is."""
    stamp, at_ms = now(), outbox.now_ms()
    st = Statement(conn)
    sql = _cases_sql(st, drafts, stamp, at_ms)
    found = await conn.execute_query_dict(sql, st.params)
    by_n = {int(r["n"]): r for r in found}
    if len(by_n) != len(drafts):
        raise RuntimeError(f"intake write returned {len(by_n)} cases for {len(drafts)}")
    out: list[Notice] = []
    for n, draft in enumerate(drafts, 1):
        r, row = by_n[n], draft.row
        row.id, row.status, row.assignee_id = int(r["id"]), r["status"], r["assignee_id"]
        row._saved_in_db = True
        for e in draft.events:
            e.consultation_id = row.id
        out.append(None if r["campaign_id"] is None else (int(r["campaign_id"]), [int(i) for i in r["ready_ids"]]))
    return out


def _cases_sql(st: Statement, drafts: list[_Draft], stamp: datetime, at_ms: int) -> str:
    """The cases of a group, their first events, their dispatch and their assignees'
    notices as one set-based statement. The values come first, as VALUES rows of
    parameters (:func:`_values_sql`), so the text depends only on the group's shape
    (how many cases, how many first events each), and no plan on the values.

    - ``a``: the cases, numbered ``n`` from 1 in the group's order, each with its id
      drawn from the sequence first, so that every other row is tied to its case by
      ``n`` and not by the order rows come back in.
    - ``loads``: the open work of the consultants of the group's departments, summed
      once: read per candidate, each read scanned the load rows of every consultant
      (PostgreSQL scans so small a table rather than use its index), 25 times a group
      of 8 on the bench's database.
    - ``picks``: the consultant of each dispatched case (:func:`_pick_of`), made in
      turn by a recursive CTE that carries the picks so far (``taken``): the statement
      reads one snapshot, in which the trigger-kept load does not show its own earlier
      cases yet, and without this a group of questions to one department would all go
      to the same person. A department without consultants leaves its case waiting.
    - ``c``, ``e``, ``ea``: the cases, their first events, and the assignment events —
      as :func:`_intake` writes them on SQLite, at the moment of the first event; ``ea``
      reads ``e`` first, so that a case's history (ordered by id) begins with its creation.
    - the assignees' notices (:func:`outbox.notices_ctes`).

    Why one statement for the group: the per-case statement this replaces gave each
    case its own CTEs, and PostgreSQL starts and shuts down every CTE's plan nodes on
    each execution whatever their rows: 350–400 µs of the backend's CPU per case in
    groups of 8, against 200–250 for this statement, and 203 in groups of 16 (measured
    when the values still came as arrays, which cost PostgreSQL the same as these rows
    at 8; 200 groups each on a bench-populated database). PostgreSQL settles on a
    generic plan after its first five executions, which a test holds. Why VALUES rows of scalar
    parameters and not one array per column: asyncpg encodes an array element by
    element with a Python-level type check each, and the API process — the one that
    limits the intake rate — spent 545 µs a group of 8 on the statement (building and
    sending it) with arrays, against 376 with VALUES rows; PostgreSQL's CPU was the same.
    """
    def wrap(sql: str) -> str:
        return f"(SELECT {sql})"

    if st.params:
        raise ValueError("the group's values must be the statement's first parameters")
    case_types = _column_types(Consultation)
    event_types = _column_types(ConsultationEvent, ("consultation_id",))
    case_values: list[Any] = []
    event_values: list[Any] = []
    for d in drafts:
        values = _bound(d.row, stamp)
        # Events are bound before ``first_at`` is read: binding sets an unset event time, as save() would.
        for ev in d.events:
            event_values += _bound(ev, stamp, ("consultation_id",))
        title, summary, page = _assignment_notice(d.row) if d.dispatch else ("", "", "")
        case_values += values
        case_values += (d.dispatch, d.events[0].at, title, summary, page)
    st.params += case_values
    st.params += event_values
    case_rows, event_rows = _values_sql(tuple(len(d.events) for d in drafts))
    names = [column for column, _ in case_types]
    event_names = ", ".join(column for column, _ in event_types)
    assigned = wrap(st.p(workflow.next_status("new", "assign"), "TEXT"))
    text = lambda v: wrap(st.p(v, "TEXT"))  # noqa: E731
    role = text(str(Role.CONSULTANT))
    pick = _pick_of(dept="a.department_id", topic="COALESCE(a.topic_code, '')", role=role,
                    taken="cardinality(array_positions(p.taken, u.id))",
                    load="(SELECT COALESCE(SUM(ld.n), 0) FROM loads ld WHERE ld.user_id = u.id)")
    selected = ", ".join("CASE WHEN p.id IS NOT NULL THEN " + assigned + " ELSE a.status END" if name == "status"
                         else "CASE WHEN a.dispatch THEN p.id ELSE a.assignee_id END" if name == "assignee_id"
                         else f"a.{name}" for name in names)
    notice_ctes = outbox.notices_ctes(
        st, notices="SELECT a.n AS key, c.assignee_id AS user_id, LEFT(a.notice_title || c.id, 64) AS title, "
                    "a.notice_summary AS summary, (a.notice_page || c.id) AS page, c.id AS source_id "
                    "FROM a JOIN c ON c.id = a.id WHERE a.dispatch AND c.assignee_id IS NOT NULL",
        critical=True, kind="case_assigned", at_ms=at_ms, wrap=wrap, name="nn")
    return (
        f"WITH RECURSIVE a AS MATERIALIZED (SELECT nextval(CAST((SELECT pg_get_serial_sequence('consultation', 'id')) "
        f"AS REGCLASS)) AS id, a.* FROM (VALUES {case_rows}) AS a(n, {', '.join(names)}, "
        f"{', '.join(c for c, _ in _CASE_EXTRA)})), "
        f"loads AS MATERIALIZED (SELECT l.user_id, SUM(l.open_cases) AS n FROM consultant_load l "
        f"WHERE l.user_id IN (SELECT u.id FROM app_user u WHERE u.role = {role} "
        f"AND u.department_id IN (SELECT a.department_id FROM a WHERE a.dispatch)) GROUP BY l.user_id), "
        f"picks (n, id, display_name, username, taken) AS ("
        f"SELECT CAST(0 AS BIGINT), CAST(NULL AS INT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(ARRAY[] AS INT[]) "
        f"UNION ALL SELECT a.n, x.id, CAST(x.display_name AS TEXT), CAST(x.username AS TEXT), "
        f"CASE WHEN x.id IS NULL THEN p.taken ELSE p.taken || x.id END "
        f"FROM picks p JOIN a ON a.n = p.n + 1 LEFT JOIN LATERAL ({pick}) x ON a.dispatch), "
        f"c AS (INSERT INTO consultation (id, {', '.join(names)}) SELECT a.id, {selected} "
        f"FROM a JOIN picks p ON p.n = a.n ORDER BY a.n RETURNING id, status, assignee_id), "
        f"e AS (INSERT INTO consultation_event (consultation_id, {event_names}) "
        f"SELECT a.id, {', '.join(f'ev.{c}' for c, _ in event_types)} "
        f"FROM (VALUES {event_rows}) AS ev(case_n, k, {event_names}) "
        f"JOIN a ON a.n = ev.case_n ORDER BY ev.k RETURNING id), "
        f"ea AS (INSERT INTO consultation_event (consultation_id, action, from_status, to_status, actor_id, "
        f"actor_role, actor_name, detail, at) "
        f"SELECT c.id, {text('assign')}, {text('new')}, c.status, NULL, {text('system')}, {text('系统')}, "
        f"CAST(json_build_object('assignee_id', p.id, 'assignee', COALESCE(NULLIF(p.display_name, ''), "
        f"p.username), 'reason', '', 'previous_assignee_id', NULL) AS JSONB), a.first_at "
        f"FROM a JOIN c ON c.id = a.id JOIN picks p ON p.n = a.n AND p.id = c.assignee_id "
        f"WHERE (SELECT COUNT(*) FROM e) > 0 ORDER BY a.n), "
        f"{notice_ctes} "
        f"SELECT a.n, c.id, c.status, c.assignee_id, nn.campaign_id, nn.ready_ids "
        f"FROM a JOIN c ON c.id = a.id LEFT JOIN nn ON nn.key = a.n ORDER BY a.n")


async def recheck_pending(rt: Runtime, limit: int = 100) -> int:
    """Sweep: cases accepted while WeChat was unreachable get their content check now."""
    done = 0
    for row in await Consultation.filter(moderation="pending").order_by("id").limit(limit):
        openid = None
        if row.asked_by_id is not None:
            asker = await User.get_or_none(id=row.asked_by_id)
            openid = asker.openid if asker else None
        verdict, label = await sec_check(rt, openid, row.content)
        if verdict == "pending":
            if openid:
                break  # still unreachable: try again next run
            verdict = "review"  # no WeChat user to check as: a person looks at it
        campaigns: list[int] = []
        async with in_transaction():
            moderation = "pass" if verdict == "pass" else "held"
            if not await Consultation.filter(id=row.id, moderation="pending").update(
                    moderation=moderation, moderation_label=label):
                continue
            row.moderation = moderation
            if moderation == "held":
                await _event(row.id, "moderation_hold", row.status, row.status, None, label=label, verdict=verdict)
            else:
                await dispatch(row, campaigns)
        await kick_all(rt, campaigns)
        done += 1
    return done


# ----------------------------------------------------------------- moderation


async def moderation_queue(viewer: Principal, *, page: int, page_size: int) -> tuple[list[Consultation], int]:
    qs = Consultation.filter(moderation__in=["held", "pending"])
    total = await qs.count()
    rows = await qs.order_by("accepted_at", "id").offset((page - 1) * page_size).limit(page_size)
    return rows, total


async def release(rt: Runtime, *, case_id: int, viewer: Principal, ip: str = "", request_id: str = "") -> Consultation:
    row = await load_for(viewer, case_id)
    if row.moderation != "held":
        raise Conflict("该事项不在内容审核队列中", code="not_held")
    campaigns: list[int] = []
    async with in_transaction():
        if not await Consultation.filter(id=case_id, moderation="held").update(moderation="released"):
            raise Conflict("该事项刚刚已被处理，请刷新", code="not_held")
        row.moderation = "released"
        await _event(case_id, "release", row.status, row.status, viewer, await _name(viewer))
        await dispatch(row, campaigns)
    await audit.record("consultation_released", actor=viewer, target_type="consultation", target_id=case_id, ip=ip,
                       request_id=request_id)
    await kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


async def reject_content(rt: Runtime, *, case_id: int, reason: str, viewer: Principal, ip: str = "",
                         request_id: str = "") -> Consultation:
    """A moderator refuses held content: the case is withdrawn and the enterprise told why."""
    row = await load_for(viewer, case_id)
    if row.moderation not in ("held", "pending"):
        raise Conflict("该事项不在内容审核队列中", code="not_held")
    campaigns: list[int] = []
    async with in_transaction():
        if not await Consultation.filter(id=case_id, moderation__in=["held", "pending"]).update(
                moderation="rejected", status="withdrawn"):
            raise Conflict("该事项刚刚已被处理，请刷新", code="not_held")
        await _event(case_id, "withdraw", row.status, "withdrawn", viewer, await _name(viewer),
                     reason=reason, moderation="rejected")
        if row.asked_by_id is not None:
            await _notify(campaigns, user_id=row.asked_by_id, title="您提交的内容未通过审核",
                          summary=f"原因：{reason}"[:120], page=DETAIL_PAGE.format(id=case_id), critical=True,
                          kind="case_update", case_id=case_id)
    await audit.record("consultation_content_rejected", actor=viewer, target_type="consultation", target_id=case_id,
                       ip=ip, request_id=request_id, details={"reason": reason})
    await kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


# ----------------------------------------------------------------- transitions


def _refuse(exc: workflow.IllegalTransition) -> Conflict:
    return Conflict(exc.message, code="illegal_transition")


async def _move(row: Consultation, action: str, viewer: Principal | None, *, campaigns: list[int],
                extra: dict | None = None, **detail: Any) -> str:
    """Apply one transition with a status guard (a concurrent change → 409, not a lost update)."""
    try:
        target = workflow.next_status(row.status, action)
    except workflow.IllegalTransition as exc:
        raise _refuse(exc) from None
    fields = dict(extra or {})
    if not await Consultation.filter(id=row.id, status=row.status).update(status=target, **fields):
        raise Conflict("该事项的状态刚刚发生变化，请刷新后再试", code="illegal_transition")
    await _event(row.id, action, row.status, target, viewer, await _name(viewer), **detail)
    row.status = target
    for k, v in fields.items():
        setattr(row, k, v)
    return target


def _need(viewer: Principal, action: str) -> None:
    if not workflow.may(actor_kind(viewer), action):
        raise PermissionDenied(f"您的角色不能{workflow.ACTION_LABELS.get(action, action)}", code="action_not_allowed")


async def _add_message(row: Consultation, viewer: Principal, body: str, internal: bool) -> None:
    await ConsultationMessage.create(consultation_id=row.id, author_id=viewer.user_id,
                                     author_role=str(viewer.role), author_name=await _name(viewer),
                                     body=body, internal=internal)


async def post_message(rt: Runtime, *, case_id: int, body: str, internal: bool, viewer: Principal) -> Consultation:
    """A message in the thread. For the consultant a public message on an open case is
    the answer; for the enterprise a message answers a request for more (补充) or asks
    again after an answer (追问). Internal notes change nothing and never reach the
    enterprise."""
    _check_length(rt, body)
    row = await load_for(viewer, case_id)
    kind = actor_kind(viewer)
    campaigns: list[int] = []
    if kind == "enterprise":
        if internal:
            raise ValidationFailed.field("internal", "企业用户不能发送内部备注", code="internal_not_allowed")
        if row.status in workflow.FINAL_STATUSES or row.status == "resolved":
            raise Conflict(f"该事项{workflow.STATUS_LABELS[row.status]}，如需继续沟通请重新打开或提交新的咨询",
                           code="illegal_transition")
        user = await User.get(id=viewer.user_id)
        verdict, label = await sec_check(rt, user.openid, body)
        if verdict == "risky":
            await count_refusal(rt)
            raise ValidationFailed.field("body", refusal_message(label), code="content_risky")
        async with in_transaction():
            await _add_message(row, viewer, body, False)
            action = {"awaiting_enterprise": "supplement", "answered": "follow_up"}.get(row.status)
            if action:
                await _move(row, action, viewer, campaigns=campaigns)
                if row.assignee_id:
                    await _notify(campaigns, user_id=row.assignee_id,
                                  title=f"企业{workflow.ACTION_LABELS[action]}：#{row.id}", summary=body[:60],
                                  page=CONSOLE_PAGE.format(id=row.id), critical=True, kind="case_update",
                                  case_id=row.id)
            if verdict in ("review", "pending"):
                await _event(row.id, "moderation_hold", row.status, row.status, None, label=label, message=True)
    else:
        if row.status in ("merged", "withdrawn") and not internal:
            raise Conflict(f"该事项{workflow.STATUS_LABELS[row.status]}，不能再答复", code="illegal_transition")
        async with in_transaction():
            if not internal and row.status in ("new",):
                if kind == "consultant" and row.assignee_id is None:
                    # answering an unassigned case of one's department claims it first
                    me = await User.get(id=viewer.user_id)
                    await _assign_guarded(row, me, viewer, "assign", "认领", campaigns, notify=False)
            await _add_message(row, viewer, body, internal)
            if not internal and (row.status, "answer") in workflow.TRANSITIONS:
                t = now()
                extra = {"answered_at": t}
                if row.first_answered_at is None:
                    extra["first_answered_at"] = t
                    if t > row.due_at:
                        extra["overdue"] = True
                await _move(row, "answer", viewer, campaigns=campaigns, extra=extra)
                await _tell_enterprise(row, campaigns, title="您的咨询已有答复",
                                       summary=body[:60])
    await kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


async def _tell_enterprise(row: Consultation, campaigns: list[int], *, title: str, summary: str) -> None:
    """Case-critical notice to the person who asked (bypasses digest and quiet hours)."""
    if row.asked_by_id is None:
        return
    await _notify(campaigns, user_id=row.asked_by_id, title=title, summary=summary,
                  page=DETAIL_PAGE.format(id=row.id), critical=True, kind="case_update", case_id=row.id)


async def act(rt: Runtime, *, case_id: int, action: str, viewer: Principal, reason: str = "",
              body: str = "") -> Consultation:
    """resolve / reopen / withdraw (enterprise), request_info / close (staff)."""
    row = await load_for(viewer, case_id)
    _need(viewer, action)
    campaigns: list[int] = []
    async with in_transaction():
        extra: dict[str, Any] = {}
        t = now()
        if action == "resolve":
            extra["resolved_at"] = t
        elif action == "close":
            extra["closed_at"] = t
        elif action == "reopen":
            extra.update(resolved_at=None, closed_at=None)
        if action == "request_info":
            if not body:
                raise ValidationFailed.field("body", "请写明需要企业补充的内容", code="body_required")
            await _add_message(row, viewer, body, False)
            if row.first_answered_at is None:
                extra["first_answered_at"] = t
        await _move(row, action, viewer, campaigns=campaigns, extra=extra, reason=reason)
        if action == "request_info":
            await _tell_enterprise(row, campaigns, title="请补充咨询所需信息", summary=body[:60])
        elif action == "close":
            await _tell_enterprise(row, campaigns, title="您的咨询已办结", summary="欢迎对本次服务进行评价")
            await after_close(rt, row)
        elif action in ("reopen", "withdraw") and row.assignee_id:
            await _notify(campaigns, user_id=row.assignee_id,
                          title=f"企业{workflow.ACTION_LABELS[action]}：#{row.id}", summary=reason[:60] or row.content[:60],
                          page=CONSOLE_PAGE.format(id=row.id), critical=True, kind="case_update", case_id=row.id)
    await kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


#: Called inside the closing transaction; the rating/call-back module registers one
#: (``add_close_hook``) so that every closed case gets its call-back task.
_CLOSE_HOOKS: list = []


def add_close_hook(fn) -> None:
    if fn not in _CLOSE_HOOKS:
        _CLOSE_HOOKS.append(fn)


async def after_close(rt: Runtime, row: Consultation) -> None:
    # The scheduler may close cases in a worker process that never imported the HTTP
    # handlers: import the module that registers the call-back hook here, so no closed
    # case misses its 回访 wherever it was closed.
    import services.consultations.quality  # noqa: F401
    for fn in _CLOSE_HOOKS:
        await fn(rt, row)


async def claim(rt: Runtime, *, case_id: int, viewer: Principal) -> Consultation:
    row = await load_for(viewer, case_id)
    if row.moderation in ("held", "pending"):
        raise Conflict("该事项正在内容审核中，放行后才能办理", code="moderation_pending")
    if row.department_id != viewer.department_id:
        raise PermissionDenied("只能认领本部门的事项", code="other_department")
    if row.status != "new":
        raise Conflict(f"该事项当前状态为“{workflow.STATUS_LABELS[row.status]}”，不能认领", code="illegal_transition")
    me = await User.get(id=viewer.user_id)
    campaigns: list[int] = []
    async with in_transaction():
        await _assign_guarded(row, me, viewer, "assign", "认领", campaigns, notify=False)
    return await Consultation.get(id=case_id)


async def _assign_guarded(row: Consultation, user: User | Staff, viewer: Principal | None, action: str, reason: str,
                          campaigns: list[int], notify: bool = True) -> None:
    """Assign with a guard on (status, assignee): two supervisors or a supervisor and the
    automatic dispatch cannot both win; the loser gets a 409."""
    try:
        target = workflow.next_status(row.status, action)
    except workflow.IllegalTransition as exc:
        raise _refuse(exc) from None
    if not await Consultation.filter(id=row.id, status=row.status, assignee_id=row.assignee_id).update(
            status=target, assignee_id=user.id):
        raise Conflict("该事项刚刚已被他人处理，请刷新后再试", code="illegal_transition")
    await _event(row.id, action, row.status, target, viewer, await _name(viewer), assignee_id=user.id,
                 assignee=user.display_name or user.username, reason=reason, previous_assignee_id=row.assignee_id)
    row.status, row.assignee_id = target, user.id
    if notify:
        await _notify_assignee(row, user.id, campaigns)


def _assignment_notice(row: Consultation) -> tuple[str, str, str]:
    """What the assignee is told: title and console page, each followed by the case id,
    and the summary. (The date as ``%m月%d日`` gives it; strftime took 2.5 µs of every
    intake for it, the fields 0.5.)"""
    due = local(row.due_at)
    return (f"新派单：{KIND_LABELS[row.kind]}#", f"{row.content[:40]}（办理期限 {due.month:02d}月{due.day:02d}日）"[:120],
            CONSOLE_PAGE.format(id=""))


async def _notify_assignee(row: Consultation, user_id: int, campaigns: list[int]) -> None:
    title, summary, page = _assignment_notice(row)
    await _notify(campaigns, user_id=user_id, title=f"{title}{row.id}", summary=summary, page=f"{page}{row.id}",
                  critical=True, kind="case_assigned", case_id=row.id)


async def assign(rt: Runtime, *, case_id: int, assignee_id: int, reason: str, viewer: Principal,
                 ip: str = "", request_id: str = "") -> Consultation:
    """Supervisor: 派单 of a waiting case, or 改派 (reason required) of an assigned one."""
    row = await load_for(viewer, case_id)
    if row.moderation in ("held", "pending"):
        raise Conflict("该事项正在内容审核中，放行后才能派单", code="moderation_pending")
    user = await User.get_or_none(id=assignee_id, role=Role.CONSULTANT, is_active=True)
    if user is None:
        raise ValidationFailed.field("assignee_id", "承办人不存在或不是在岗咨询员", code="unknown_assignee")
    if viewer.department_id is not None and user.department_id != viewer.department_id:
        raise ValidationFailed.field("assignee_id", "只能派给本部门的咨询员；跨部门请使用退单转交",
                                     code="other_department")
    action = "assign" if row.status == "new" else "reassign"
    if action == "reassign" and len(reason) < 2:
        raise ValidationFailed.field("reason", "改派请写明原因", code="reason_required")
    if row.assignee_id == user.id:
        raise Conflict("该事项已由此咨询员承办", code="same_assignee")
    campaigns: list[int] = []
    async with in_transaction():
        if row.department_id != user.department_id:
            await Consultation.filter(id=row.id).update(department_id=user.department_id)
            row.department_id = user.department_id
        await _assign_guarded(row, user, viewer, action, reason, campaigns)
    await audit.record(f"consultation_{action}", actor=viewer, target_type="consultation", target_id=case_id, ip=ip,
                       request_id=request_id, details={"assignee_id": user.id, "reason": reason})
    await kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


async def return_case(rt: Runtime, *, case_id: int, reason: str, department_code: str | None,
                      viewer: Principal) -> Consultation:
    """退单: back to the department's queue, or on to another department (then dispatched
    there at once). The deadline is not reset: the clock runs from intake."""
    row = await load_for(viewer, case_id)
    _need(viewer, "return")
    if actor_kind(viewer) == "consultant" and row.assignee_id != viewer.user_id:
        raise PermissionDenied("只能退回自己承办的事项", code="not_assignee")
    dept = None
    if department_code:
        dept = await Department.get_or_none(code=department_code)
        if dept is None:
            raise ValidationFailed.field("department_code", "部门不存在", code="unknown_department")
    campaigns: list[int] = []
    async with in_transaction():
        extra: dict[str, Any] = {"assignee_id": None}
        if dept is not None:
            extra["department_id"] = dept.id
        await _move(row, "return", viewer, campaigns=campaigns, extra=extra, reason=reason,
                    to_department=dept.code if dept else None)
        await dispatch(row, campaigns)
        if row.status == "new":
            await _notify_supervisors(row, campaigns, title=f"退单待派：#{row.id}", summary=reason)
    await kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


async def _notify_supervisors(row: Consultation, campaigns: list[int], *, title: str, summary: str,
                              kind: str = "case_update") -> int:
    ids = await User.filter(role=Role.SUPERVISOR, is_active=True,
                            department_id=row.department_id).values_list("id", flat=True) \
        if row.department_id is not None else []
    for uid in ids:
        await _notify(campaigns, user_id=uid, title=title, summary=summary, page=CONSOLE_PAGE.format(id=row.id),
                      critical=True, kind=kind, case_id=row.id)
    return len(ids)


async def correct(rt: Runtime, *, case_id: int, data: Any, viewer: Principal) -> Consultation:
    """The consultant corrects topic, item or department; before and after are kept in
    the history and the original suggestion stays on the case."""
    row = await load_for(viewer, case_id)
    if row.status in workflow.FINAL_STATUSES:
        raise Conflict("该事项已结束，不能更正分类", code="illegal_transition")
    changes: dict[str, Any] = {}
    if data.topic_code is not None and data.topic_code != row.topic_code:
        if data.topic_code and not await Topic.filter(code=data.topic_code).exists():
            raise ValidationFailed.field("topic_code", "主题不存在", code="unknown_topic")
        changes["topic_code"] = data.topic_code
    if data.service_item_id is not None and data.service_item_id != row.service_item_id:
        if not await ServiceItem.filter(id=data.service_item_id).exists():
            raise ValidationFailed.field("service_item_id", "事项不存在", code="unknown_service_item")
        changes["service_item_id"] = data.service_item_id
    new_dept = None
    if data.department_code is not None:
        new_dept = await Department.get_or_none(code=data.department_code)
        if new_dept is None:
            raise ValidationFailed.field("department_code", "部门不存在", code="unknown_department")
        if new_dept.id == row.department_id:
            new_dept = None
    if not changes and new_dept is None:
        raise Conflict("与当前分类相同，无需更正", code="no_change")
    campaigns: list[int] = []
    async with in_transaction():
        before = {k: getattr(row, k) for k in changes}
        if changes:
            await Consultation.filter(id=row.id).update(corrected=True, **changes)
            for k, v in changes.items():
                setattr(row, k, v)
        await _event(row.id, "correct", row.status, row.status, viewer, await _name(viewer), before=before,
                     after=changes, department=new_dept.code if new_dept else None)
        if new_dept is not None:
            await Consultation.filter(id=row.id).update(corrected=True)
            if row.status in ("assigned", "reopened"):
                await _move(row, "return", viewer, campaigns=campaigns,
                            extra={"assignee_id": None, "department_id": new_dept.id},
                            reason="更正部门", to_department=new_dept.code)
            else:
                await Consultation.filter(id=row.id).update(department_id=new_dept.id)
                row.department_id = new_dept.id
            await dispatch(row, campaigns)
    await kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


# ----------------------------------------------------------------- duplicates


async def duplicates(*, case_id: int, viewer: Principal) -> list[dict]:
    """Open cases of the same enterprise that look like this one (并单 suggestions)."""
    row = await load_for(viewer, case_id)
    mine = text.tokens(row.content)
    out = []
    for other in await Consultation.filter(enterprise_id=row.enterprise_id,
                                           status__in=list(workflow.OPEN_STATUSES)).exclude(id=row.id):
        sim = classifier.similarity(mine, text.tokens(other.content))
        if other.service_item_id is not None and other.service_item_id == row.service_item_id:
            sim = max(sim, 0.5 * sim + 0.25)
        if sim >= DUPLICATE_MIN_SIMILARITY:
            out.append({"id": other.id, "title": other.content[:40], "status": other.status,
                        "status_label": workflow.STATUS_LABELS[other.status], "similarity": round(sim, 3),
                        "accepted_at": local(other.accepted_at)})
    out.sort(key=lambda d: (-d["similarity"], d["id"]))
    return out


async def merge(rt: Runtime, *, case_id: int, into_id: int, reason: str, viewer: Principal) -> Consultation:
    """并单: this case ends as ``merged`` pointing at the case that carries on. The merged
    row stays, so statistics still count it as a demand."""
    row = await load_for(viewer, case_id)
    _need(viewer, "merge")
    if into_id == case_id:
        raise ValidationFailed.field("into_id", "不能合并到自身", code="merge_self")
    into = await Consultation.get_or_none(id=into_id)
    if into is None or not can_see(into, viewer) or into.enterprise_id != row.enterprise_id:
        raise ValidationFailed.field("into_id", "只能合并到同一企业、您有权办理的事项", code="merge_target")
    if into.status not in workflow.OPEN_STATUSES:
        raise Conflict("目标事项已结束，不能合并到它", code="merge_target_closed")
    campaigns: list[int] = []
    async with in_transaction():
        await _move(row, "merge", viewer, campaigns=campaigns, extra={"merged_into_id": into_id}, reason=reason,
                    into_id=into_id)
        await _event(into_id, "merge", into.status, into.status, viewer, await _name(viewer), merged_from=case_id)
        await _tell_enterprise(row, campaigns, title="您的咨询已合并办理", summary=f"已与 #{into_id} 合并办理，请在该事项中查看答复")
    await kick_all(rt, campaigns)
    return await Consultation.get(id=case_id)


# ----------------------------------------------------------------- lists


async def list_for(viewer: Principal, *, scope: str, status: str | None, kind: str | None,
                   overdue: bool | None, page: int, page_size: int,
                   state: str | None = None) -> tuple[list[Consultation], int]:
    kind_of = actor_kind(viewer)
    qs = Consultation.all()
    if kind_of == "enterprise":
        qs = qs.filter(enterprise_id=viewer.enterprise_id)
        order = ["-id"]
    else:
        if kind_of == "consultant":
            qs = qs.exclude(moderation__in=["held", "pending", "rejected"])
            if scope == "mine":
                qs = qs.filter(assignee_id=viewer.user_id)
            else:
                qs = qs.filter(department_id=viewer.department_id)
        elif kind_of == "supervisor":
            if viewer.department_id is not None:
                qs = qs.filter(department_id=viewer.department_id) if scope != "unrouted" else qs.filter(
                    department_id=None)
            if scope == "mine":
                qs = qs.filter(assignee_id=viewer.user_id)
        else:
            raise PermissionDenied()
        order = ["due_at", "id"]
    if status:
        qs = qs.filter(status=status)
    elif state:
        qs = qs.filter(status__in=list(workflow.STATE_GROUPS[state]))
    elif kind_of != "enterprise" and scope in ("mine", "department"):
        qs = qs.filter(status__in=list(workflow.OPEN_STATUSES))
    if kind:
        qs = qs.filter(kind=kind)
    if overdue is not None:
        qs = qs.filter(overdue=overdue)
    total = await qs.count()
    rows = await qs.order_by(*order).offset((page - 1) * page_size).limit(page_size)
    return rows, total


async def topics() -> list[dict]:
    rows = await Topic.filter(is_active=True).order_by("sort_order", "id").prefetch_related("department")
    return [{"code": t.code, "name": t.name,
             "department": {"code": t.department.code, "name": t.department.name} if t.department else None}
            for t in rows]


async def consultants(viewer: Principal) -> list[dict]:
    qs = User.filter(role=Role.CONSULTANT, is_active=True)
    if viewer.department_id is not None:
        qs = qs.filter(department_id=viewer.department_id)
    staff = await qs.order_by("id").prefetch_related("department")
    counts = await open_counts([u.id for u in staff])
    skills: dict[int, list[str]] = {}
    for uid, code in await StaffSkill.filter(user_id__in=[u.id for u in staff]).values_list("user_id", "topic_code"):
        skills.setdefault(uid, []).append(code)
    return [{"id": u.id, "name": u.display_name or u.username or "", "open_cases": counts.get(u.id, 0),
             "skills": sorted(skills.get(u.id, [])),
             "department": {"code": u.department.code, "name": u.department.name} if u.department else None}
            for u in staff]


def time_left(row: Consultation) -> int:
    return math.floor((row.due_at - now()).total_seconds())


async def _policy_citations(policy_id: int, since: datetime) -> int:
    """Consultations citing a pushed policy version within the campaign figures' window
    (14 days from sending): the officer sees whether a push raised questions."""
    until = since + timedelta(days=outbox.CITATION_WINDOW_DAYS)
    return await Consultation.filter(policy_id=policy_id, accepted_at__gte=since, accepted_at__lt=until).count()


outbox.register_citation_counter("policy", _policy_citations)
