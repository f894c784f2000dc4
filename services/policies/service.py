"""The policy library: drafting, review, publication with push, the per-enterprise feed,
browsing, 免申即享 consent, and the enterprise qualification tags rules can ask for.

Two kinds of matching, each where it is cheap:

* one policy against every enterprise (preview count, push recipients) runs in the
  database as a ``WHERE`` built by :mod:`services.policies.sql`;
* one enterprise against every published policy (the feed) runs in Python over a
  per-process snapshot of the published policies. The snapshot is checked against a
  version key in Redis at most once a second and every change of the published set
  bumps it, as the catalogue does. A feed request costs one Redis round trip, the
  session lookup: the enterprise's profile (row and tags) is cached per process under a
  per-enterprise version key that every profile or tag write renews, the session lookup
  reads that key in the same script, and the database is asked only when it has moved.
  Summaries are serialized once per snapshot, each policy remembers its verdict for the
  profile fields its rules read, and a cached profile keeps its ranked feed for the
  snapshot and day it was worked out for.
"""

from __future__ import annotations

import itertools
import operator
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import structlog
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import (Department, Enterprise, EnterpriseTag, Policy, PolicyConsent, PolicyTransition, ServiceItem,
                    User)
from models.rows import read_rows
from notifications import outbox
from services import audit
from services.auth.principal import UNREAD, Principal
from services.enterprises.service import bump_profile_version
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.policies import rules as R
from services.policies import sql
from services.policies.schemas import (STATUS_LABELS, Attachment, CampaignFigures, ConsentEntry,
                                       ConsentPage, ConsentRead, EnterpriseTagsRead, MatchPreview,
                                       MatchRead, Option, PolicyListItem, PolicyOptions, PolicyPage, PolicyRead,
                                       PolicyRules, PolicySummary, PolicyWrite, ServiceItemRef,
                                       TransitionRead, VersionRef)
from services.policies.workflow import IllegalTransition, can_edit, next_status
from services.runtime import Runtime
from services.snapshots import VersionedSnapshot
from services.service_items.schemas import DepartmentRead

log = structlog.get_logger("policies")
TZ = ZoneInfo("Asia/Shanghai")
# from=message: opening the push sends the read receipt (the page reports it on load).
DETAIL_PAGE = "pages/policy-detail/policy-detail?id={id}&from=message"
OPEN = ("draft", "in_review")
_CONTENT = ("title", "doc_number", "department_id", "policy_type", "summary", "body", "application_guide",
            "effective_on", "expires_on", "service_item_ids", "attachments", "tags", "no_application", "rules")


def today() -> date:
    return datetime.now(TZ).date()


def _now() -> datetime:
    return datetime.now(TZ)


def _dialect() -> str:
    return connections.get("default").capabilities.dialect


# ----------------------------------------------------------------- shapes


def _department_read(d: Department) -> DepartmentRead:
    return DepartmentRead(code=d.code, name=d.name, short_name=d.short_name)


def _summary(row: Policy, dept: Department) -> PolicySummary:
    return PolicySummary(
        id=row.id, series_id=row.series_id, version=row.version, title=row.title,
        doc_number=row.doc_number, department=_department_read(dept), policy_type=row.policy_type,
        type_label=R.POLICY_TYPES.get(row.policy_type, row.policy_type), summary=row.summary,
        effective_on=row.effective_on, expires_on=row.expires_on, tags=list(row.tags or []),
        no_application=row.no_application, status=row.status,
        status_label=STATUS_LABELS.get(row.status, row.status), published_at=row.published_at)


def _match_read(m: R.Match) -> MatchRead:
    return MatchRead(eligible=m.eligible, score=m.score, reasons=list(m.reasons), missing=list(m.missing))


async def _user_names(ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    rows = await User.filter(id__in=wanted).values("id", "username", "display_name")
    return {r["id"]: r["display_name"] or r["username"] or "" for r in rows}


async def _read(row: Policy, viewer: Principal, *, match: R.Match | None = None,
                consented_at: datetime | None = None) -> PolicyRead:
    dept = row.department if isinstance(row.department, Department) else await Department.get(id=row.department_id)
    items = []
    if row.service_item_ids:
        found = {i.id: i for i in await ServiceItem.filter(id__in=row.service_item_ids, is_active=True)}
        items = [ServiceItemRef(id=i, code=found[i].code, name=found[i].name)
                 for i in row.service_item_ids if i in found]
    base = _summary(row, dept).model_dump()
    read = PolicyRead(**base, body=row.body, application_guide=row.application_guide, service_items=items,
                      attachments=[Attachment(**a) for a in row.attachments or []],
                      rules=PolicyRules.model_validate(row.rules or {}), conditions=R.describe(row.rules or {}),
                      match=None if match is None else _match_read(match), consented_at=consented_at)
    if viewer.is_staff:
        names = await _user_names({row.created_by_id, row.submitted_by_id, row.reviewed_by_id})
        versions = await Policy.filter(series_id=row.series_id).order_by("version").values("id", "version", "status")
        transitions = await PolicyTransition.filter(policy_id=row.id).order_by("id")
        read = read.model_copy(update={
            "match_count": row.match_count, "campaign_id": row.campaign_id,
            "created_by": names.get(row.created_by_id), "submitted_by": names.get(row.submitted_by_id),
            "reviewed_by": names.get(row.reviewed_by_id), "review_comment": row.review_comment,
            "withdraw_reason": row.withdraw_reason, "superseded_by_id": row.superseded_by_id,
            "versions": [VersionRef(id=v["id"], version=v["version"], status=v["status"],
                                    status_label=STATUS_LABELS.get(v["status"], v["status"])) for v in versions],
            "transitions": [TransitionRead(action=t.action, from_status=t.from_status, to_status=t.to_status,
                                           actor_id=t.actor_id, actor_name=t.actor_name, comment=t.comment,
                                           at=t.at) for t in transitions],
            "created_at": row.created_at, "updated_at": row.updated_at})
    return read


# ----------------------------------------------------------------- enterprise profile


_PROFILE_SQL = ("SELECT e.industry_code, e.industry_group, e.size_class, e.region_code, e.employees, e.revenue, "
                "e.founded_on, t.tag FROM enterprise e LEFT JOIN enterprise_tag t ON t.enterprise_id = e.id "
                "WHERE e.id = {p}")


async def profile_of(enterprise_id: int) -> R.Profile | None:
    """The enterprise as matching sees it, in one query (one row per tag held).

    Raw SQL rather than two ORM queries: this is the only database work of a feed
    request, and the feed is the busiest route of the mini-program."""
    text = _PROFILE_SQL.format(p="$1" if _dialect() == "postgres" else "?")
    rows = await read_rows(text, [enterprise_id])
    if not rows:
        return None
    e = rows[0]
    revenue = e["revenue"]
    founded = e["founded_on"]
    if isinstance(founded, str):  # SQLite keeps dates as ISO text
        founded = date.fromisoformat(founded)
    return R.Profile(industry_code=e["industry_code"], industry_group=e["industry_group"],
                     size_class=e["size_class"], region_code=e["region_code"], employees=e["employees"],
                     revenue=None if revenue is None else Decimal(str(revenue)), founded_on=founded,
                     tags=frozenset(r["tag"] for r in rows if r["tag"] is not None))


#: How long a process may use a cached profile at most, whatever Redis says: bounds the
#: memory of enterprises that stopped asking and any write made behind the services' back
#: (seed, psql). Far below PROFILE_VERSION_TTL, which the safety of the version check needs.
PROFILE_MAX_AGE = 300.0
PROFILE_CACHE_SIZE = 50_000


@dataclass(slots=True)
class CachedProfile:
    version: Any  # the Redis value it was loaded under (None: no write since the key expired)
    profile: R.Profile
    loaded_at: float
    #: (snapshot serial, day, (summary, match) JSON of the fitting policies best first):
    #: this profile's feed, worked out on its first request. A profile is never changed in
    #: place (a write brings a new CachedProfile), so only the snapshot and the day can age
    #: it. Bytes only, shared with the snapshot: an old snapshot is not kept alive by it.
    ranked: tuple[int, date, tuple[tuple[bytes, bytes], ...]] | None = None


class ProfileCache:
    """Enterprise profiles of this process for the feed, keyed by enterprise id.

    A copy is used only while the enterprise's version key in Redis still holds the value
    read *before* the copy was loaded from the database; every write of the profile or
    its tags sets a new value after its commit (``bump_profile_version``). So a request
    after a write never gets the old profile, in any process: it costs a Redis GET (in
    the session lookup's script) instead of a database query and the pool's round trips."""

    def __init__(self) -> None:
        self._entries: dict[int, _CachedProfile] = {}

    async def get(self, rt: Runtime, enterprise_id: int, version: Any = UNREAD) -> CachedProfile | None:
        """``version``: the enterprise's version key as the session lookup read it in its
        round trip (``Principal.profile_version``); read here when the caller has none.
        Either way it is read before the database, which is what makes the copy safe."""
        if version is UNREAD:
            version = await rt.redis.get(rt.keys.enterprise_profile_version(enterprise_id))
        now = time.monotonic()
        hit = self._entries.get(enterprise_id)
        if hit is not None and hit.version == version and now - hit.loaded_at < PROFILE_MAX_AGE:
            return hit
        profile = await profile_of(enterprise_id)
        self._entries.pop(enterprise_id, None)
        if profile is None:
            return None
        if len(self._entries) >= PROFILE_CACHE_SIZE:
            del self._entries[next(iter(self._entries))]  # the longest loaded
        found = self._entries[enterprise_id] = CachedProfile(version, profile, now)
        return found


def profile_cache(rt: Runtime) -> ProfileCache:
    return rt.held("enterprise_profiles", ProfileCache)


# ----------------------------------------------------------------- published snapshot


#: Evaluations remembered per policy (per snapshot and day) before the memory starts over.
MATCH_MEMO_SIZE = 4096


@dataclass
class _Entry:
    id: int
    series_id: int
    rules: R.Rules
    head: bytes  # PolicySummary as JSON, without its closing brace: the match goes after it
    expires_on: date | None
    sort_key: tuple
    key_of: Callable[[R.Profile], Hashable]  # what of a profile its rules read
    # key_of(profile) -> (score, the match as JSON), or None when the enterprise is not eligible
    memo: dict[Hashable, tuple[int, bytes] | None] = field(default_factory=dict)


_serials = itertools.count(1)


@dataclass
class Snapshot:
    version: str
    entries: list[_Entry]
    #: Tells this snapshot from any other built in the process (profiles' feeds are per snapshot).
    serial: int = field(default_factory=lambda: next(_serials))
    _live: tuple[date, list[_Entry]] | None = field(default=None, repr=False)

    def live(self, day: date) -> list[_Entry]:
        """The entries not expired on ``day`` (the expiry job may not have run yet today),
        worked out once a day rather than once a request."""
        if self._live is None or self._live[0] != day:
            for e in self.entries:
                e.memo.clear()  # an enterprise's age, and so its match, can change overnight
            self._live = (day, [e for e in self.entries if e.expires_on is None or e.expires_on >= day])
        return self._live[1]


def _may_fit(r: R.Rules, p: R.Profile) -> bool:
    """False when a condition on a field every profile has (industry, size class, region)
    or on the qualification tags already rules the enterprise out — the same tests as
    :func:`rules.evaluate`, without its messages, so most policies that do not fit cost a
    few comparisons. True says nothing: ``evaluate`` decides."""
    if r.industry_codes is not None and not (p.industry_group in r.industry_groups
                                             or p.industry_code.startswith(r.industry_codes)):
        return False
    if r.size_classes is not None and p.size_class not in r.size_classes:
        return False
    if r.regions is not None and not p.region_code.startswith(r.regions):
        return False
    return r.tags is None or not r.tags.isdisjoint(p.tags)


def _profile_key(r: R.Rules) -> Callable[[R.Profile], Hashable]:
    """The profile fields :func:`rules.evaluate` reads for these rules — on a given day its
    answer depends on nothing else — so enterprises alike in them share one evaluation
    (the reasons quote those fields, so nothing else may differ either). Whoever teaches
    ``evaluate`` a new condition adds its field here; a property test compares the two."""
    names = []
    if r.industry_codes is not None:
        names += ["industry_code", "industry_group"]
    if r.size_classes is not None:
        names.append("size_class")
    if r.regions is not None:
        names.append("region_code")
    if r.age_min is not None or r.age_max is not None:
        names.append("founded_on")
    if r.employees_min is not None or r.employees_max is not None:
        names.append("employees")
    if r.revenue_min is not None or r.revenue_max is not None:
        names.append("revenue")
    fields: Callable[[R.Profile], Hashable] = operator.attrgetter(*names) if names else (lambda p: ())
    if r.tags is None:
        return fields
    tags = r.tags
    return lambda p: (fields(p), p.tags & tags)


def _match(entry: _Entry, profile: R.Profile, day: date) -> tuple[int, bytes] | None:
    key = entry.key_of(profile)
    try:
        return entry.memo[key]
    except KeyError:
        pass
    m = R.evaluate(entry.rules, profile, today=day)
    found = (m.score, orjson.dumps({"eligible": True, "score": m.score, "reasons": list(m.reasons),
                                    "missing": list(m.missing)})) if m.eligible else None
    if len(entry.memo) >= MATCH_MEMO_SIZE:
        entry.memo.clear()
    entry.memo[key] = found
    return found


async def _load(version: str) -> Snapshot:
    rows = await Policy.filter(status="published").prefetch_related("department")
    entries = []
    for row in rows:
        published = row.published_at.timestamp() if row.published_at else 0.0
        rules = R.compile_rules(row.rules or {})
        entries.append(_Entry(
            id=row.id, series_id=row.series_id, rules=rules,
            head=orjson.dumps(_summary(row, row.department).model_dump(mode="json"))[:-1],
            expires_on=row.expires_on,
            # Ties in score: the one ending soonest first (act before it is gone), then the newest.
            sort_key=(row.expires_on.toordinal() if row.expires_on else 10**7, -published, -row.id),
            key_of=_profile_key(rules)))
    return Snapshot(version=version, entries=entries)


def cache(rt: Runtime) -> VersionedSnapshot[Snapshot]:
    return rt.held("policies", lambda: VersionedSnapshot(lambda k: k.policy_version(), _load))


async def bump_version(rt: Runtime) -> None:
    await cache(rt).bump(rt)


# ----------------------------------------------------------------- reading


async def recommended(rt: Runtime, *, viewer: Principal, page: int, page_size: int) -> dict:
    """Published, unexpired policies that fit the caller's enterprise, best first, as
    ``RecommendedPage`` JSON data whose items are already serialized (summaries were
    validated when the snapshot was built, matches when first evaluated)."""
    if viewer.enterprise_id is None:
        raise NotFound("请先完成企业认证")
    snapshot = await cache(rt).get(rt)
    cached = await profile_cache(rt).get(rt, viewer.enterprise_id, viewer.profile_version)
    if cached is None:
        raise NotFound("企业不存在")
    day = today()
    ranked = cached.ranked
    if ranked is None or ranked[0] != snapshot.serial or ranked[1] != day:
        ranked = cached.ranked = (snapshot.serial, day, _rank(snapshot, cached.profile, day))
    fits = ranked[2]
    start = (page - 1) * page_size
    parts = []
    for head, match in fits[start:start + page_size]:
        parts += (head, b',"match":', match, b"},")
    if parts:
        parts[-1] = b"}"
    return {"items": orjson.Fragment(b"[" + b"".join(parts) + b"]"), "total": len(fits), "page": page,
            "page_size": page_size}


def _rank(snapshot: Snapshot, profile: R.Profile, day: date) -> tuple[tuple[bytes, bytes], ...]:
    """The policies that fit the profile on ``day``, best first: (summary JSON without its
    closing brace, match JSON) each."""
    fits: list[tuple[tuple, bytes, bytes]] = []
    for entry in snapshot.live(day):
        if not _may_fit(entry.rules, profile):
            continue
        found = _match(entry, profile, day)
        if found is not None:
            fits.append(((-found[0], *entry.sort_key), entry.head, found[1]))
    fits.sort(key=operator.itemgetter(0))
    return tuple((head, match) for _key, head, match in fits)


def _visible_to_enterprises(row: Policy, day: date) -> bool:
    return row.status == "published" and (row.expires_on is None or row.expires_on >= day)


async def _visible_version(policy_id: int) -> tuple[Policy, Policy]:
    """(the version asked for, the version an enterprise may see in its place).

    A link in an old push message names the version that was pushed; once a newer
    version is published the reader gets that one instead of a dead end."""
    row = await Policy.get_or_none(id=policy_id)
    if row is None:
        raise NotFound("政策不存在")
    day = today()
    if _visible_to_enterprises(row, day):
        return row, row
    current = await Policy.filter(series_id=row.series_id, status="published").first()
    if current is None or not _visible_to_enterprises(current, day):
        raise NotFound("该政策已停止执行或尚未发布")
    return row, current


async def get(rt: Runtime, *, policy_id: int, viewer: Principal, source: str | None = None) -> PolicyRead:
    if viewer.is_staff:
        row = await Policy.get_or_none(id=policy_id).prefetch_related("department")
        if row is None:
            raise NotFound("政策不存在")
        return await _read(row, viewer)
    asked, row = await _visible_version(policy_id)
    await row.fetch_related("department")
    if viewer.enterprise_id is None:
        return await _read(row, viewer)
    if source in ("message", "inbox") and asked.campaign_id is not None:
        await _mark_read(viewer.user_id, asked.campaign_id)
    profile = await profile_of(viewer.enterprise_id)
    match = None if profile is None else R.evaluate(row.rules or {}, profile, today=today())
    consent = await PolicyConsent.get_or_none(series_id=row.series_id, enterprise_id=viewer.enterprise_id)
    return await _read(row, viewer, match=match, consented_at=consent.consented_at if consent else None)


async def _mark_read(user_id: int, campaign_id: int) -> None:
    mark = getattr(outbox, "mark_read", None)
    if mark is None:
        return
    try:
        await mark(user_id=user_id, campaign_id=campaign_id)
    except Exception:  # a read receipt must never cost the reader the page
        log.exception("mark_read_failed", campaign_id=campaign_id)


async def list_(*, viewer: Principal, policy_type: str | None, department: str | None, q: str | None,
                status: str | None, no_application: bool | None, series_id: int | None,
                page: int, page_size: int) -> PolicyPage:
    qs = Policy.all()
    if viewer.is_staff:
        if status:
            qs = qs.filter(status=status)
        if series_id:
            qs = qs.filter(series_id=series_id)
        order = ("-updated_at", "-id")
    else:
        # Enterprises and visitors see what is in force; a status filter would not widen that.
        qs = qs.filter(status="published").filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today()))
        order = ("-published_at", "-id")
    if policy_type:
        qs = qs.filter(policy_type=policy_type)
    if department:
        qs = qs.filter(department__code=department)
    if no_application is not None:
        qs = qs.filter(no_application=no_application)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(summary__icontains=q) | Q(doc_number__icontains=q))
    total = await qs.count()
    rows = await qs.order_by(*order).offset((page - 1) * page_size).limit(page_size).prefetch_related("department")
    items = [PolicyListItem(**_summary(r, r.department).model_dump(),
                            **({"match_count": r.match_count, "campaign_id": r.campaign_id} if viewer.is_staff else {}))
             for r in rows]
    return PolicyPage(items=items, total=total, page=page, page_size=page_size)


# ----------------------------------------------------------------- matching in the database


def _validated_rules(data: PolicyRules) -> dict[str, Any]:
    try:
        return R.validate(data.model_dump(exclude_none=True), today=today())
    except R.InvalidRules as exc:
        raise ValidationFailed(exc.message, code="invalid_rules", details=exc.problems) from None


async def count_matching(rules: dict[str, Any]) -> int:
    text, params = sql.count_sql(rules, _dialect(), today=today())
    rows = await connections.get("default").execute_query_dict(text, params)
    return int(rows[0]["n"])


async def preview(*, rules: PolicyRules) -> MatchPreview:
    normal = _validated_rules(rules)
    count = await count_matching(normal)
    total = await Enterprise.all().count()
    return MatchPreview(count=count, total=total, conditions=R.describe(normal))


# ----------------------------------------------------------------- writing


async def _department(code: str) -> Department:
    dept = await Department.get_or_none(code=code)
    if dept is None:
        raise ValidationFailed.field("department", f"部门编码 {code} 不存在")
    return dept


async def _check_items(ids: list[int]) -> None:
    if not ids:
        return
    found = set(await ServiceItem.filter(id__in=ids, is_active=True).values_list("id", flat=True))
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationFailed.field("service_item_ids", f"关联事项不存在或已下架：{'、'.join(missing)}")


async def _content(data: PolicyWrite) -> tuple[dict[str, Any], Department]:
    dept = await _department(data.department)
    await _check_items(data.service_item_ids)
    values = data.model_dump(exclude={"department", "rules", "attachments"})
    values["attachments"] = [a.model_dump() for a in data.attachments]
    values["rules"] = _validated_rules(data.rules)
    values["department_id"] = dept.id
    return values, dept


async def _transition(row_id: int, action: str, before: str, after: str, actor: Principal | None,
                      comment: str = "") -> None:
    name = ""
    if actor is not None:
        name = (await _user_names({actor.user_id})).get(actor.user_id, "")
    await PolicyTransition.create(policy_id=row_id, action=action, from_status=before, to_status=after,
                                  actor_id=actor.user_id if actor else None, actor_name=name[:64],
                                  comment=comment[:500])


async def _get_row(policy_id: int) -> Policy:
    row = await Policy.get_or_none(id=policy_id)
    if row is None:
        raise NotFound("政策不存在")
    return row


def _refuse(exc: IllegalTransition) -> Conflict:
    return Conflict(exc.message, code="illegal_transition")


async def create(rt: Runtime, *, data: PolicyWrite, actor: Principal, ip: str = "",
                 request_id: str = "") -> PolicyRead:
    values, _dept = await _content(data)
    count = await count_matching(values["rules"])
    async with in_transaction():
        row = await Policy.create(**values, series_id=0, version=1, status="draft", match_count=count,
                                  created_by_id=actor.user_id)
        # The first version names the series; later versions share it.
        row.series_id = row.id
        await Policy.filter(id=row.id).update(series_id=row.id)
        await _transition(row.id, "create", "", "draft", actor)
        await audit.record("policy_created", actor=actor, target_type="policy", target_id=row.id, ip=ip,
                           request_id=request_id, details={"doc_number": row.doc_number, "match_count": count})
    return await _read(await Policy.get(id=row.id), actor)


async def update(rt: Runtime, *, policy_id: int, data: PolicyWrite, actor: Principal, ip: str = "",
                 request_id: str = "") -> PolicyRead:
    row = await _get_row(policy_id)
    try:
        can_edit(row.status)
    except IllegalTransition as exc:
        raise _refuse(exc) from None
    values, _dept = await _content(data)
    count = await count_matching(values["rules"])
    async with in_transaction():
        changed = await Policy.filter(id=policy_id, status="draft").update(**values, match_count=count)
        if not changed:
            raise Conflict("该政策版本刚被提交或修改，请刷新后再试", code="illegal_transition")
        await audit.record("policy_updated", actor=actor, target_type="policy", target_id=policy_id, ip=ip,
                           request_id=request_id, details={"match_count": count})
    return await _read(await Policy.get(id=policy_id), actor)


async def submit(rt: Runtime, *, policy_id: int, actor: Principal, ip: str = "", request_id: str = "") -> PolicyRead:
    row = await _get_row(policy_id)
    try:
        target = next_status(row.status, "submit")
    except IllegalTransition as exc:
        raise _refuse(exc) from None
    if row.expires_on is not None and row.expires_on < today():
        raise Conflict(f"政策有效期至 {row.expires_on.isoformat()}，已过期，请修改有效期后再提交", code="expired")
    async with in_transaction():
        if not await Policy.filter(id=policy_id, status=row.status).update(
                status=target, submitted_by_id=actor.user_id, submitted_at=_now()):
            raise Conflict("该政策版本的状态刚刚发生变化，请刷新后再试", code="illegal_transition")
        await _transition(policy_id, "submit", row.status, target, actor)
        await audit.record("policy_submitted", actor=actor, target_type="policy", target_id=policy_id, ip=ip,
                           request_id=request_id)
    return await _read(await Policy.get(id=policy_id), actor)


def _not_own_review(row: Policy, actor: Principal) -> None:
    if actor.user_id in (row.created_by_id, row.submitted_by_id):
        raise PermissionDenied("不能审核自己起草或提交的政策，请由另一位政策专员审核", code="self_review")


async def approve(rt: Runtime, *, policy_id: int, actor: Principal, ip: str = "",
                  request_id: str = "") -> PolicyRead:
    """Review passed: publish, supersede the version in force, and create the push
    campaign in the same transaction; hand the campaign to the workers after commit."""
    row = await _get_row(policy_id)
    try:
        target = next_status(row.status, "approve")
    except IllegalTransition as exc:
        raise _refuse(exc) from None
    _not_own_review(row, actor)
    if row.expires_on is not None and row.expires_on < today():
        raise Conflict(f"政策有效期至 {row.expires_on.isoformat()}，已过期，不能发布；请退回修改有效期",
                       code="expired")
    dept = await Department.get(id=row.department_id)
    previous = await Policy.filter(series_id=row.series_id, status="published").exclude(id=row.id).first()
    recipients, params = sql.recipients_sql(row.rules or {}, _dialect(), today=today(),
                                            exclude=previous.rules if previous else None)
    now = _now()
    async with in_transaction():
        if not await Policy.filter(id=policy_id, status="in_review").update(
                status=target, reviewed_by_id=actor.user_id, reviewed_at=now, published_at=now):
            raise Conflict("该政策版本的状态刚刚发生变化，请刷新后再试", code="illegal_transition")
        await _transition(policy_id, "approve", row.status, target, actor)
        if previous is not None:
            await Policy.filter(id=previous.id, status="published").update(
                status=next_status("published", "supersede"), superseded_by_id=row.id, ended_at=now)
            await _transition(previous.id, "supersede", "published", "superseded", actor,
                              comment=f"由第{row.version}版替代")
        campaign_id = await outbox.create_campaign(
            kind="policy", source_id=row.id, title=row.title, summary=row.summary,
            page=DETAIL_PAGE.format(id=row.id), recipient_sql=recipients, recipient_params=params,
            created_by=actor.user_id, topic=row.policy_type, department_code=dept.code)
        await Policy.filter(id=policy_id).update(campaign_id=campaign_id)
        await audit.record("policy_published", actor=actor, target_type="policy", target_id=policy_id, ip=ip,
                           request_id=request_id,
                           details={"campaign_id": campaign_id, "superseded": previous.id if previous else None})
    await bump_version(rt)
    try:
        await outbox.kick(rt, campaign_id)
    except Exception:  # committed: the outbox sweeper offers the deliveries later
        log.exception("campaign_kick_failed", campaign_id=campaign_id)
    return await _read(await Policy.get(id=policy_id), actor)


async def reject(rt: Runtime, *, policy_id: int, comment: str, actor: Principal, ip: str = "",
                 request_id: str = "") -> PolicyRead:
    row = await _get_row(policy_id)
    try:
        target = next_status(row.status, "reject")
    except IllegalTransition as exc:
        raise _refuse(exc) from None
    _not_own_review(row, actor)
    async with in_transaction():
        if not await Policy.filter(id=policy_id, status="in_review").update(
                status=target, reviewed_by_id=actor.user_id, reviewed_at=_now(), review_comment=comment):
            raise Conflict("该政策版本的状态刚刚发生变化，请刷新后再试", code="illegal_transition")
        await _transition(policy_id, "reject", row.status, target, actor, comment=comment)
        await audit.record("policy_rejected", actor=actor, target_type="policy", target_id=policy_id, ip=ip,
                           request_id=request_id)
    return await _read(await Policy.get(id=policy_id), actor)


async def withdraw(rt: Runtime, *, policy_id: int, reason: str, actor: Principal, ip: str = "",
                   request_id: str = "") -> PolicyRead:
    row = await _get_row(policy_id)
    try:
        target = next_status(row.status, "withdraw")
    except IllegalTransition as exc:
        raise _refuse(exc) from None
    async with in_transaction():
        if not await Policy.filter(id=policy_id, status="published").update(
                status=target, withdraw_reason=reason, ended_at=_now()):
            raise Conflict("该政策版本的状态刚刚发生变化，请刷新后再试", code="illegal_transition")
        await _transition(policy_id, "withdraw", row.status, target, actor, comment=reason)
        await audit.record("policy_withdrawn", actor=actor, target_type="policy", target_id=policy_id, ip=ip,
                           request_id=request_id, details={"reason": reason})
    await bump_version(rt)
    return await _read(await Policy.get(id=policy_id), actor)


async def new_version(rt: Runtime, *, policy_id: int, actor: Principal, ip: str = "",
                      request_id: str = "") -> PolicyRead:
    """A new draft copying the content of ``policy_id``, which must be the latest version."""
    row = await _get_row(policy_id)
    latest = await Policy.filter(series_id=row.series_id).order_by("-version").first()
    assert latest is not None
    if latest.status in OPEN:
        raise Conflict(f"该政策已有未发布的第{latest.version}版（{STATUS_LABELS[latest.status]}），"
                       f"请直接处理该版本（编号 {latest.id}）", code="open_version_exists",
                       details={"id": latest.id, "version": latest.version})
    if latest.id != row.id:
        raise Conflict(f"请在最新版本（第{latest.version}版，编号 {latest.id}）上创建新版本",
                       code="not_latest_version", details={"id": latest.id, "version": latest.version})
    values = {name: getattr(row, name) for name in _CONTENT}
    count = await count_matching(values["rules"] or {})
    try:
        async with in_transaction():
            new = await Policy.create(**values, series_id=row.series_id, version=row.version + 1,
                                      status="draft", match_count=count, created_by_id=actor.user_id)
            await _transition(new.id, "revise", "", "draft", actor, comment=f"基于第{row.version}版")
            await audit.record("policy_version_created", actor=actor, target_type="policy", target_id=new.id,
                               ip=ip, request_id=request_id, details={"from": row.id})
    except IntegrityError:
        raise Conflict("另一位政策专员刚刚创建了新版本，请刷新后再试", code="open_version_exists") from None
    return await _read(await Policy.get(id=new.id), actor)


async def expire_due(rt: Runtime, *, day: date | None = None) -> int:
    """Scheduler job: published versions past their last day become expired. Idempotent."""
    day = day or today()
    due = await Policy.filter(status="published", expires_on__lt=day).values_list("id", flat=True)
    expired = 0
    for policy_id in due:
        async with in_transaction():
            if await Policy.filter(id=policy_id, status="published").update(status="expired", ended_at=_now()):
                await _transition(policy_id, "expire", "published", "expired", None,
                                  comment=f"有效期届满（{day.isoformat()} 起失效）")
                await audit.record("policy_expired", actor_role="scheduler", target_type="policy",
                                   target_id=policy_id)
                expired += 1
    if expired:
        await bump_version(rt)
    return expired


# ----------------------------------------------------------------- 免申即享


async def consent(rt: Runtime, *, policy_id: int, viewer: Principal, ip: str = "",
                  request_id: str = "") -> ConsentRead:
    if viewer.enterprise_id is None:
        raise NotFound("请先完成企业认证")
    _asked, row = await _visible_version(policy_id)
    if not row.no_application:
        raise Conflict("该政策需要企业按申兑指南申请办理，不适用免申即享确认", code="not_no_application")
    profile = await profile_of(viewer.enterprise_id)
    if profile is None:
        raise NotFound("企业不存在")
    match = R.evaluate(row.rules or {}, profile, today=today())
    if not match.eligible:
        raise Conflict("贵企业不符合该政策的适用条件，不能确认享受：" + match.missing[0]["message"],
                       code="not_eligible", details=list(match.missing))
    existing = await PolicyConsent.get_or_none(series_id=row.series_id, enterprise_id=viewer.enterprise_id)
    created = False
    if existing is None:
        try:
            async with in_transaction():
                existing = await PolicyConsent.create(series_id=row.series_id, policy_id=row.id,
                                                      enterprise_id=viewer.enterprise_id, user_id=viewer.user_id)
                await audit.record("policy_consent", actor=viewer, target_type="policy", target_id=row.id,
                                   ip=ip, request_id=request_id, details={"enterprise_id": viewer.enterprise_id})
            created = True
        except IntegrityError:  # a double tap that raced: the first one counts
            existing = await PolicyConsent.get(series_id=row.series_id, enterprise_id=viewer.enterprise_id)
    return ConsentRead(policy_id=existing.policy_id, series_id=existing.series_id,
                       enterprise_id=existing.enterprise_id, consented_at=existing.consented_at, created=created)


async def consents(*, policy_id: int, page: int, page_size: int) -> ConsentPage:
    row = await _get_row(policy_id)
    qs = PolicyConsent.filter(series_id=row.series_id)
    total = await qs.count()
    rows = await qs.order_by("-id").offset((page - 1) * page_size).limit(page_size).values(
        "enterprise_id", "enterprise__name", "enterprise__credit_code", "user_id", "user__display_name",
        "policy_id", "policy__version", "consented_at")
    return ConsentPage(items=[ConsentEntry(
        enterprise_id=r["enterprise_id"], enterprise_name=r["enterprise__name"],
        credit_code=r["enterprise__credit_code"], user_id=r["user_id"], user_name=r["user__display_name"] or "",
        policy_id=r["policy_id"], version=r["policy__version"], consented_at=r["consented_at"]) for r in rows],
        total=total, page=page, page_size=page_size)


async def campaign(*, policy_id: int) -> CampaignFigures:
    row = await _get_row(policy_id)
    if row.campaign_id is None:
        raise NotFound("该政策版本没有推送任务（尚未通过审核发布，或为演示数据）")
    try:
        figures = await outbox.campaign_figures(row.campaign_id)
    except LookupError:
        raise NotFound("推送任务不存在") from None
    return CampaignFigures(**{**figures, "policy_id": row.id, "campaign_id": row.campaign_id})


# ----------------------------------------------------------------- reference and tags


def options() -> PolicyOptions:
    return PolicyOptions(
        types=[Option(code=k, label=v) for k, v in R.POLICY_TYPES.items()],
        statuses=[Option(code=k, label=v) for k, v in STATUS_LABELS.items()],
        size_classes=[Option(code=k, label=v) for k, v in R.SIZE_LABELS.items()],
        enterprise_tags=[Option(code=k, label=v) for k, v in R.ENTERPRISE_TAGS.items()],
        industry_groups=[Option(code=k, label=v) for k, v in R.industry_groups().items()])


async def _tag_target(viewer: Principal, enterprise_id: int) -> None:
    # Another enterprise is answered as "not found", so ids cannot be probed.
    if not viewer.is_staff and viewer.enterprise_id != enterprise_id:
        raise NotFound("企业不存在")
    if not await Enterprise.filter(id=enterprise_id).exists():
        raise NotFound("企业不存在")


def _tags_read(enterprise_id: int, tags: list[str]) -> EnterpriseTagsRead:
    ordered = [t for t in R.ENTERPRISE_TAGS if t in set(tags)]
    return EnterpriseTagsRead(enterprise_id=enterprise_id,
                              tags=[Option(code=t, label=R.ENTERPRISE_TAGS[t]) for t in ordered])


async def get_tags(*, viewer: Principal, enterprise_id: int) -> EnterpriseTagsRead:
    await _tag_target(viewer, enterprise_id)
    tags = await EnterpriseTag.filter(enterprise_id=enterprise_id).values_list("tag", flat=True)
    return _tags_read(enterprise_id, list(tags))


async def set_tags(rt: Runtime, *, viewer: Principal, enterprise_id: int, tags: list[str], ip: str = "",
                   request_id: str = "") -> EnterpriseTagsRead:
    await _tag_target(viewer, enterprise_id)
    unknown = [t for t in tags if t not in R.ENTERPRISE_TAGS]
    if unknown:
        raise ValidationFailed.field("tags", f"未知的企业资质：{'、'.join(unknown)}", code="unknown_tag")
    wanted = list(dict.fromkeys(tags))
    async with in_transaction():
        await EnterpriseTag.filter(enterprise_id=enterprise_id).delete()
        if wanted:
            await EnterpriseTag.bulk_create([EnterpriseTag(enterprise_id=enterprise_id, tag=t) for t in wanted])
        await audit.record("enterprise_tags_updated", actor=viewer, target_type="enterprise",
                           target_id=enterprise_id, ip=ip, request_id=request_id, details={"tags": wanted})
    await bump_profile_version(rt, enterprise_id)
    return _tags_read(enterprise_id, wanted)
