"""常用答复 and the knowledge base (FAQ): what a consultant answers with, and what an
answered case can become for everyone.

Canned answers belong to a department (or to nobody: zone-wide). Consultants and
supervisors read their department's and the zone-wide ones; only a supervisor of the
owning department changes them, and another department's answer is "not found".

A FAQ entry is published from an answered case. Its texts are de-identified first
(:mod:`services.consultations.deidentify`) and then re-checked by msgSecCheck as the
case's asker, because the text now speaks to every enterprise: ``risky`` is refused and
nothing is stored; ``review``, or no verdict at all, keeps the entry ``held`` until a
supervisor releases it. Enterprises only ever see ``published`` entries.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.catalogue import Department, ServiceItem
from models.consultation import CannedAnswer, Consultation, FaqEntry, Topic
from models.identity import Enterprise, User
from notifications import outbox
from services import audit
from services.auth.principal import Principal
from services.auth.roles import Role
from services.consultations import classify as classifier
from services.consultations import service as cases
from services.consultations.deidentify import deidentify
from services.consultations.schemas import CodeRef, Ref
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.runtime import Runtime
from services.service_items import text

DATA = Path(__file__).parent / "data" / "canned_answers.json"
SUGGEST_LIMIT = 5
#: FAQ entries considered for suggestions: the newest ones (the knowledge base of one
#: service zone stays in the hundreds; tokens are cached per text).
SUGGEST_FAQ_POOL = 500
FAQ_STATUS_LABELS = {"published": "已发布", "held": "待审核", "withdrawn": "已撤回"}
FaqStatus = Literal["published", "held", "withdrawn"]
ANSWERED_STATUSES = frozenset({"answered", "resolved", "closed"})
FAQ_CONSOLE_PAGE = "/console/#/faq?status=held"


# ----------------------------------------------------------------- API shapes


class CannedAnswerWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=64, description="标题")
    body: str = Field(min_length=1, max_length=4000, description="答复正文")
    topic_code: str | None = Field(default=None, max_length=32, description="适用主题（不填则不限主题）")


class CannedAnswerRead(BaseModel):
    id: int
    title: str
    body: str
    topic: CodeRef | None
    department: CodeRef | None = Field(description="所属部门；为空表示全专区通用")
    editable: bool = Field(description="当前用户能否修改或删除")
    updated_at: datetime


class CannedAnswerList(BaseModel):
    items: list[CannedAnswerRead]


class FaqPublish(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    question: str = Field(min_length=5, max_length=2000, description="问题（发布前自动去除企业名称、电话等信息）")
    answer: str = Field(min_length=5, max_length=10000, description="答复")


class FaqRead(BaseModel):
    id: int
    question: str
    answer: str
    topic: CodeRef | None
    service_item: Ref | None
    department: CodeRef | None
    status: FaqStatus
    status_label: str
    source_consultation_id: int | None = Field(default=None, description="来源咨询编号（仅工作人员可见）")
    created_at: datetime
    updated_at: datetime


class FaqPage(BaseModel):
    items: list[FaqRead]
    total: int
    page: int
    page_size: int


class CannedSuggestion(CannedAnswerRead):
    topic_match: bool
    similarity: float


class FaqSuggestion(FaqRead):
    topic_match: bool
    similarity: float


class SuggestedAnswers(BaseModel):
    canned_answers: list[CannedSuggestion]
    faq: list[FaqSuggestion]


# ----------------------------------------------------------------- helpers


async def _lookups(*, dept_ids=(), topic_codes=(), item_ids=()) -> dict[str, dict]:
    return {
        "dept": {i: {"code": c, "name": n} for i, c, n in
                 await Department.filter(id__in={d for d in dept_ids if d}).values_list("id", "code", "name")},
        "topic": {c: {"code": c, "name": n} for c, n in
                  await Topic.filter(code__in={t for t in topic_codes if t}).values_list("code", "name")},
        "item": {i: {"id": i, "name": n} for i, n in
                 await ServiceItem.filter(id__in={i for i in item_ids if i}).values_list("id", "name")},
    }


def _manages(viewer: Principal, department_id: int | None) -> bool:
    """A supervisor manages their department's answers; one without a department, the
    zone-wide ones."""
    return viewer.role == Role.SUPERVISOR and department_id == viewer.department_id


def _canned(row: CannedAnswer, viewer: Principal, lk: dict) -> dict:
    return {"id": row.id, "title": row.title, "body": row.body, "topic": lk["topic"].get(row.topic_code),
            "department": lk["dept"].get(row.department_id), "editable": _manages(viewer, row.department_id),
            "updated_at": cases.local(row.updated_at)}


async def _canned_views(rows: list[CannedAnswer], viewer: Principal) -> list[dict]:
    lk = await _lookups(dept_ids=[r.department_id for r in rows], topic_codes=[r.topic_code for r in rows])
    return [_canned(r, viewer, lk) for r in rows]


def _faq(row: FaqEntry, viewer: Principal, lk: dict) -> dict:
    staff = cases.actor_kind(viewer) in ("consultant", "supervisor") or viewer.role == Role.POLICY_OFFICER
    return {"id": row.id, "question": row.question, "answer": row.answer, "topic": lk["topic"].get(row.topic_code),
            "service_item": lk["item"].get(row.service_item_id), "department": lk["dept"].get(row.department_id),
            "status": row.status, "status_label": FAQ_STATUS_LABELS[row.status],
            "source_consultation_id": row.source_consultation_id if staff else None,
            "created_at": cases.local(row.created_at), "updated_at": cases.local(row.updated_at)}


async def _faq_views(rows: list[FaqEntry], viewer: Principal) -> list[dict]:
    lk = await _lookups(dept_ids=[r.department_id for r in rows], topic_codes=[r.topic_code for r in rows],
                        item_ids=[r.service_item_id for r in rows])
    return [_faq(r, viewer, lk) for r in rows]


async def _check_topic(code: str | None) -> str:
    if not code:
        return ""
    if not await Topic.filter(code=code).exists():
        raise ValidationFailed.field("topic_code", "主题不存在", code="unknown_topic")
    return code


@lru_cache(maxsize=4096)
def _tokens(s: str) -> tuple[str, ...]:
    """jieba tokens of a stored text; cached because the same answers are ranked for
    every case a consultant opens."""
    return tuple(text.tokens(s))


# ----------------------------------------------------------------- canned answers


def _visible(viewer: Principal) -> Q:
    return Q(department_id=None) | Q(department_id=viewer.department_id) if viewer.department_id \
        else Q(department_id=None)


async def list_canned(viewer: Principal, *, topic_code: str | None, q: str | None) -> list[dict]:
    qs = CannedAnswer.filter(_visible(viewer), is_active=True)
    if topic_code:
        qs = qs.filter(topic_code=topic_code)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(body__icontains=q))
    return await _canned_views(await qs.order_by("topic_code", "id").limit(500), viewer)


async def _title_free(department_id: int | None, title: str, except_id: int | None = None) -> None:
    qs = CannedAnswer.filter(department_id=department_id, title=title, is_active=True)
    if except_id is not None:
        qs = qs.exclude(id=except_id)
    if await qs.exists():
        raise Conflict("本部门已有同名的常用答复，请换一个标题或修改原有答复", code="duplicate_title")


async def create_canned(viewer: Principal, data: CannedAnswerWrite) -> dict:
    topic = await _check_topic(data.topic_code)
    await _title_free(viewer.department_id, data.title)
    row = await CannedAnswer.create(department_id=viewer.department_id, topic_code=topic, title=data.title,
                                    body=data.body, created_by_id=viewer.user_id)
    return (await _canned_views([row], viewer))[0]


async def _managed(viewer: Principal, answer_id: int) -> CannedAnswer:
    row = await CannedAnswer.get_or_none(id=answer_id, is_active=True)
    if row is None or not _manages(viewer, row.department_id):
        raise NotFound("常用答复不存在或不属于本部门", code="canned_answer_not_found")
    return row


async def update_canned(viewer: Principal, answer_id: int, data: CannedAnswerWrite) -> dict:
    row = await _managed(viewer, answer_id)
    topic = await _check_topic(data.topic_code)
    await _title_free(row.department_id, data.title, except_id=row.id)
    row.title, row.body, row.topic_code = data.title, data.body, topic
    await row.save(update_fields=["title", "body", "topic_code", "updated_at"])
    return (await _canned_views([row], viewer))[0]


async def delete_canned(viewer: Principal, answer_id: int) -> None:
    """Soft delete: replies already sent keep their text; the answer leaves the lists."""
    row = await _managed(viewer, answer_id)
    row.is_active = False
    await row.save(update_fields=["is_active", "updated_at"])


# ----------------------------------------------------------------- suggestions


def rank(case_topic: str, case_tokens: list[str], candidates: list[tuple[object, str, str]],
         limit: int = SUGGEST_LIMIT) -> list[tuple[object, bool, float]]:
    """Candidates as (row, topic_code, text) → the best ``limit`` as (row, topic_match,
    similarity): the case's topic first, then jieba token overlap. Nothing in common at
    all (other topic, no shared token) is not a suggestion."""
    scored = []
    for n, (row, topic, body) in enumerate(candidates):
        match = bool(case_topic) and topic == case_topic
        sim = classifier.similarity(case_tokens, _tokens(body))
        if match or sim > 0:
            scored.append((not match, -sim, n, row, match, sim))
    scored.sort(key=lambda s: s[:3])
    return [(row, match, round(sim, 3)) for *_, row, match, sim in scored[:limit]]


async def suggested(viewer: Principal, case_id: int) -> dict:
    """Canned answers (the viewer's and the case department's, and zone-wide ones) and
    published FAQ entries for one case."""
    row = await cases.load_for(viewer, case_id)
    toks = text.tokens(f"{row.content} {row.element_detail}")
    depts = Q(department_id=None)
    for d in {viewer.department_id, row.department_id} - {None}:
        depts |= Q(department_id=d)
    canned = await CannedAnswer.filter(depts, is_active=True).order_by("id").limit(1000)
    faq = await FaqEntry.filter(status="published").order_by("-id").limit(SUGGEST_FAQ_POOL)
    best_canned = rank(row.topic_code, toks, [(c, c.topic_code, f"{c.title} {c.body}") for c in canned])
    best_faq = rank(row.topic_code, toks, [(f, f.topic_code, f"{f.question} {f.answer}") for f in faq])
    canned_views = await _canned_views([c for c, _, _ in best_canned], viewer)
    faq_views = await _faq_views([f for f, _, _ in best_faq], viewer)
    return {"canned_answers": [v | {"topic_match": m, "similarity": s}
                               for v, (_, m, s) in zip(canned_views, best_canned)],
            "faq": [v | {"topic_match": m, "similarity": s} for v, (_, m, s) in zip(faq_views, best_faq)]}


# ----------------------------------------------------------------- knowledge base


def _answered(row: Consultation) -> bool:
    return row.status in ANSWERED_STATUSES or row.first_answered_at is not None


async def publish(rt: Runtime, *, case_id: int, data: FaqPublish, viewer: Principal, ip: str = "",
                  request_id: str = "") -> dict:
    """A de-identified question and answer from an answered case. Published at once
    when msgSecCheck passes; held for a supervisor when it asks for review or cannot be
    asked (WeChat unreachable, or the case has no WeChat asker); refused when risky."""
    row = await cases.load_for(viewer, case_id)
    if not _answered(row):
        raise Conflict("该咨询尚未答复，答复后才能发布到知识库", code="not_answered")
    if await FaqEntry.filter(source_consultation_id=row.id, status__in=["published", "held"]).exists():
        raise Conflict("该咨询已发布过知识库条目", code="faq_exists")
    enterprise = await Enterprise.get_or_none(id=row.enterprise_id)
    names = [enterprise.name] if enterprise else []
    people = [row.contact_name] if row.contact_name else []
    question, answer = deidentify(data.question, names, people), deidentify(data.answer, names, people)
    asker = await User.get_or_none(id=row.asked_by_id) if row.asked_by_id else None
    verdict, label = await cases.sec_check(rt, asker.openid if asker else None, f"{question}\n{answer}")
    if verdict == "risky":
        await cases.count_refusal(rt)
        what = cases.SEC_LABELS.get(label or 0, "违规")
        raise ValidationFailed(f"内容含有{what}信息，不能发布到知识库，请修改后再试", code="content_risky")
    status = "published" if verdict == "pass" else "held"
    campaigns: list[int] = []
    async with in_transaction():
        entry = await FaqEntry.create(question=question, answer=answer, topic_code=row.topic_code,
                                      service_item_id=row.service_item_id, department_id=row.department_id,
                                      source_consultation_id=row.id, status=status, created_by_id=viewer.user_id)
        if status == "held":
            await _tell_supervisors(entry, campaigns)
    await cases.kick_all(rt, campaigns)
    await audit.record("faq_publish", actor=viewer, target_type="faq_entry", target_id=entry.id, ip=ip,
                       request_id=request_id, details={"consultation_id": row.id, "status": status,
                                                       "verdict": verdict, "label": label})
    return (await _faq_views([entry], viewer))[0]


async def _tell_supervisors(entry: FaqEntry, campaigns: list[int]) -> None:
    ids = await User.filter(role=Role.SUPERVISOR, is_active=True, department_id=entry.department_id) \
        .values_list("id", flat=True) if entry.department_id else []
    for uid in ids:
        campaigns.append(await outbox.notify_user(
            user_id=uid, title="知识库条目待审核", summary=entry.question[:60], page=FAQ_CONSOLE_PAGE,
            critical=False, kind="faq_held", source_id=entry.id))


async def list_faq(viewer: Principal, *, q: str | None, topic_code: str | None, service_item_id: int | None,
                   status: str | None, page: int, page_size: int) -> dict:
    """Everyone reads published entries. Another status is a supervisor's queue (their
    department's and unrouted entries); asked for by anyone else it is refused (403),
    so a client never mistakes an empty list for "nothing held"."""
    qs = FaqEntry.filter(status=status or "published")
    if status and status != "published":
        if viewer.role != Role.SUPERVISOR:
            raise PermissionDenied("只有部门主管可以查看待审核或已撤回的知识库条目", code="faq_status_forbidden")
        if viewer.department_id is not None:
            qs = qs.filter(Q(department_id=None) | Q(department_id=viewer.department_id))
    if q:
        qs = qs.filter(Q(question__icontains=q) | Q(answer__icontains=q))
    if topic_code:
        qs = qs.filter(topic_code=topic_code)
    if service_item_id is not None:
        qs = qs.filter(service_item_id=service_item_id)
    total = await qs.count()
    rows = await qs.order_by("-id").offset((page - 1) * page_size).limit(page_size)
    return {"items": await _faq_views(rows, viewer), "total": total, "page": page, "page_size": page_size}


async def _moderate(viewer: Principal, entry_id: int, *, allowed: tuple[str, ...], to: str,
                    action: str, message: str, ip: str, request_id: str) -> dict:
    entry = await FaqEntry.get_or_none(id=entry_id)
    if entry is None or (viewer.department_id is not None
                         and entry.department_id not in (None, viewer.department_id)):
        raise NotFound("知识库条目不存在或不属于本部门", code="faq_not_found")
    if entry.status not in allowed:
        raise Conflict(message.format(status=FAQ_STATUS_LABELS[entry.status]), code="illegal_transition")
    if not await FaqEntry.filter(id=entry.id, status=entry.status).update(status=to):
        raise Conflict("该条目刚刚已被他人处理，请刷新后再试", code="illegal_transition")
    await audit.record(action, actor=viewer, target_type="faq_entry", target_id=entry.id, ip=ip,
                       request_id=request_id, details={"from": entry.status, "to": to})
    return (await _faq_views([await FaqEntry.get(id=entry.id)], viewer))[0]


async def release(rt: Runtime, viewer: Principal, entry_id: int, ip: str = "", request_id: str = "") -> dict:
    return await _moderate(viewer, entry_id, allowed=("held",), to="published", action="faq_release",
                           message="该条目当前为“{status}”，只有待审核的条目可以放行", ip=ip, request_id=request_id)


async def withdraw(rt: Runtime, viewer: Principal, entry_id: int, ip: str = "", request_id: str = "") -> dict:
    return await _moderate(viewer, entry_id, allowed=("published", "held"), to="withdrawn",
                           action="faq_withdraw", message="该条目已撤回", ip=ip, request_id=request_id)


# ----------------------------------------------------------------- demo data


async def seed_canned_answers() -> int:
    """Demo canned answers from ``data/canned_answers.json``; idempotent by (department,
    title), so seeding again adds only what is missing. Returns how many were added."""
    departments = dict(await Department.all().values_list("code", "id"))
    topics = set(await Topic.all().values_list("code", flat=True))
    added = 0
    for a in json.loads(DATA.read_text(encoding="utf-8"))["answers"]:
        dept = departments.get(a["department"]) if a.get("department") else None
        if a.get("department") and dept is None:
            continue  # that department is not in this deployment's catalogue
        if await CannedAnswer.filter(department_id=dept, title=a["title"]).exists():
            continue
        topic = a.get("topic_code", "")
        await CannedAnswer.create(department_id=dept, title=a["title"], body=a["body"],
                                  topic_code=topic if topic in topics else "")
        added += 1
    return added
