"""The dashboard's views: read the fact tables (``services.insights.facts``: past days
rolled up, today live), apply the filters, hand the numbers to the pure cores in
``services.insights.analysis`` and attach names.

Raw rows are read only where the analysis needs them by nature — question text for
emerging topics, per-enterprise sequences for bundles — and those reads are bounded
(at most ``RAW_DAYS`` days, at most ``RAW_LIMIT`` rows).

Fact reads for days before today are cached in Redis under a key that carries the fact
table's highest id: every rollup run deletes and re-inserts, so the id moves and the
cache is simply never hit again. Today is read from the live rows and kept for
``LIVE_SECONDS``: at a million cases a year, today's live read of the measures behind
friction, departments or policy reach is nine event scans (40–80 ms on PostgreSQL),
and a dashboard opened by several officers, or re-filtered, need not repeat it within
the minute — today's figures are at most that old.

Emerging topics are never clustered while a staff member waits: a visit reads the stored
clustering of its filters, stating when it was computed, and new questions start a
recomputation in the background (``emerging``). The scheduled rollup keeps the clusterings
of the default filters and of the filters visited lately fresh, computes bundles for the
default filters and stores them under a key naming their inputs (``precompute``), and
fills these caches for the console's default calls (``warm``). ``INSIGHTS_CACHE=off``
bypasses every Redis result cache here (for measuring); stored results are still read.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import orjson
import structlog
from tortoise import connections
from tortoise.transactions import in_transaction

from models.insights import CLOSE_BUCKETS, COMPLAINED_ELEMENTS, ELEMENT_COMPLAINTS, RATING_COLUMNS, Precomputed, percentile
from services.errors import ValidationFailed
from services.insights import analysis as A
from services.insights import facts
from services.insights.rollup import bounds, dialect, serialise, today as local_today
from services.runtime import Runtime

MAX_PERIOD_DAYS = 366
RAW_DAYS = 90
RAW_LIMIT = 2000  # emerging topics: the most recent unclassified questions
BUNDLE_LIMIT = 200_000
BUNDLES_SHOWN = 100
CACHE_SECONDS = 600
LIVE_SECONDS = 60
DEFAULT_MIN_ENTERPRISES = 5  # bundles: the console's defaults (``handlers.insights``)
DEFAULT_WINDOW_DAYS = 30
TREND_DIMENSIONS = {"topic": "topic_code", "department": "department_id", "item": "service_item_id"}
log = structlog.get_logger("insights")
AUDIENCE_NOTE = "事项目录未设适用对象规则：每千户企业咨询量以筛选范围内的全部企业为受众"


@dataclass(frozen=True)
class Filters:
    """Resolved filters: a period of local days and the fact dimensions."""

    since: date
    until: date
    department_id: int | None = None
    region_code: str | None = None
    industry_group: str | None = None
    size_class: str | None = None

    def where(self, *, department: bool = True) -> dict[str, Any]:
        w: dict[str, Any] = {k: getattr(self, k) for k in ("region_code", "industry_group", "size_class")
                             if getattr(self, k)}
        if department and self.department_id:
            w["department_id"] = self.department_id
        return w

    def describe(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "department_id": self.department_id, "region_code": self.region_code,
                "industry_group": self.industry_group, "size_class": self.size_class}


async def resolve(*, since: date | None, until: date | None, department: str | None, region_code: str | None,
                  industry_group: str | None, size_class: str | None, forced_department: int | None,
                  default_days: int = 84) -> Filters:
    """Check the period (not after today, at most a year) and turn a department code
    into its id; ``forced_department`` (a supervisor's own) overrides the code."""
    from models import Department

    today = local_today()
    until = min(until or today, today)
    since = since or until - timedelta(days=default_days - 1)
    if since > until:
        raise ValidationFailed.field("since", "起始日不能晚于截止日", code="invalid_period")
    if (until - since).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed.field("since", "统计区间不能超过一年", code="invalid_period")
    dept_id = forced_department
    if department and not forced_department:
        dept = await Department.get_or_none(code=department)
        if dept is None:
            raise ValidationFailed.field("department", "没有这个部门", code="unknown_department")
        dept_id = dept.id
    return Filters(since, until, dept_id, region_code or None, industry_group or None, size_class or None)


def caching(rt: Runtime) -> bool:
    """``INSIGHTS_CACHE`` (default on): off, every view is computed afresh on every call."""
    return bool(getattr(rt.settings, "insights_cache", True))


async def _cached_query(rt: Runtime, since: date, until: date, *, group_by: Sequence[str],
                        measures: Sequence[str], where: dict, table: str = "case") -> list[dict]:
    """``facts.query`` with the days before today cached (see the module note)."""
    today = local_today()
    rows: list[dict] = []
    past_until = min(until, today - timedelta(days=1))
    spec = [table, list(group_by), list(measures),
            sorted((k, v if not isinstance(v, (list, tuple, set)) else sorted(v)) for k, v in where.items())]

    async def read(first: date, last: date, version: Any, seconds: int) -> list[dict]:
        key = f"{rt.keys.prefix}:insights:q:" + hashlib.sha1(
            orjson.dumps([*spec, version, first.isoformat(), last.isoformat()])).hexdigest()
        cached = await rt.redis.get(key) if caching(rt) else None
        if cached:
            found = orjson.loads(cached)
            for r in found:
                for g in ("day", "week", "month"):
                    if g in r:
                        r[g] = date.fromisoformat(r[g])
            return found
        found = await facts.query(first, last, group_by=group_by, measures=measures, where=where, table=table,
                                  today=today)
        if caching(rt):
            await rt.redis.set(key, orjson.dumps(found), ex=seconds)
        return found

    if since <= past_until:
        version = None
        if caching(rt):
            name = "insight_case_fact" if table == "case" else "insight_policy_fact"
            _, top = await connections.get("default").execute_query(f"SELECT MAX(id) AS m FROM {name}")
            version = top[0]["m"]
        rows = await read(since, past_until, version, CACHE_SECONDS)
    if since <= today <= until:
        rows = _merge(rows, await read(today, today, "live", LIVE_SECONDS), group_by, measures)
    return rows


def _merge(past: list[dict], live: list[dict], group_by: Sequence[str], measures: Sequence[str]) -> list[dict]:
    """Today's rows added into the past rows of the same group: views that list one row
    per group (departments, policy reach) must not show a group twice."""
    if not live:
        return past
    out = {tuple(r[g] for g in group_by): r for r in past}
    for r in live:
        key = tuple(r[g] for g in group_by)
        slot = out.get(key)
        if slot is None:
            out[key] = r
        else:
            out[key] = {**slot, **{m: slot[m] + r[m] for m in measures}}
    return list(out.values())


# ---------------------------------------------------------------- names

async def names(*kinds: str) -> dict[str, dict]:
    """Labels of topics, departments and items; ``kinds`` narrows to those a view shows
    (each is a query, and the cached views are otherwise a few milliseconds)."""
    from models import Department, ServiceItem, Topic

    kinds = kinds or ("topic", "department", "item")
    out: dict[str, dict] = {"topic": {}, "department": {}, "department_code": {}, "item": {}}
    if "topic" in kinds:
        out["topic"] = dict(await Topic.all().values_list("code", "name"))
    if "department" in kinds:
        depts = await Department.all().values("id", "name", "code")
        out["department"] = {d["id"]: d["name"] for d in depts}
        out["department_code"] = {d["id"]: d["code"] for d in depts}
    if "item" in kinds:
        out["item"] = {i["id"]: i for i in await ServiceItem.all().values("id", "name", "department_id")}
    return out


def _label(kind: str, key: Any, n: dict) -> str:
    if kind == "topic":
        return n["topic"].get(key, key) if key else "未归类"
    if kind == "department":
        return n["department"].get(key, str(key)) if key else "未分派"
    item = n["item"].get(key)
    return item["name"] if item else ("未关联事项" if not key else f"事项 {key}")


# ---------------------------------------------------------------- trends

async def trends(rt: Runtime, f: Filters, dimension: str = "topic", top: int = 10) -> dict:
    """Weekly cases per series (the ``top`` largest over the period, the rest summed as
    "其他"), with week-over-week change per series and for the total."""
    col = TREND_DIMENSIONS[dimension]
    rows = await _cached_query(rt, f.since, f.until, group_by=["week", col], measures=["cases"], where=f.where())
    first = f.since - timedelta(days=f.since.weekday())
    weeks = [first + timedelta(days=7 * i) for i in range((f.until - first).days // 7 + 1)]
    index = {w: i for i, w in enumerate(weeks)}
    series: dict[Any, list[int]] = defaultdict(lambda: [0] * len(weeks))
    for r in rows:
        series[r[col]][index[r["week"]]] += r["cases"]
    ranked = sorted(series.items(), key=lambda kv: (-sum(kv[1]), str(kv[0])))
    n = await names(dimension)
    out = []
    for key, values in ranked[:top]:
        out.append({"key": str(key), "label": _label(dimension, key, n), "cases": values, "total": sum(values),
                    "wow": A.week_over_week(values), "topic_code": key if dimension == "topic" else ""})
    rest = [v for _, v in ranked[top:]]
    if rest:
        values = [sum(col_) for col_ in zip(*rest)]
        out.append({"key": "_other", "label": "其他", "cases": values, "total": sum(values),
                    "wow": A.week_over_week(values), "topic_code": ""})
    total = [sum(s[1][i] for s in ranked) for i in range(len(weeks))]
    return {"since": f.since, "until": f.until, "dimension": dimension, "weeks": weeks, "series": out,
            "total": total, "total_wow": A.week_over_week(total), "filters": f.describe()}


# ---------------------------------------------------------------- rising topics

def rising_windows(until: date) -> list[tuple[date, date]]:
    """``BASELINE_WEEKS`` seven-day blocks, then the current seven days ending ``until``
    (rolling weeks: a Monday does not reset "this week" to one day of data)."""
    ends = [until - timedelta(days=7 * i) for i in range(A.BASELINE_WEEKS, -1, -1)]
    return [(e - timedelta(days=6), e) for e in ends]


async def rising(rt: Runtime, f: Filters) -> dict:
    windows = rising_windows(f.until)
    rows = await _cached_query(rt, windows[0][0], f.until, group_by=["day", "topic_code"], measures=["cases"],
                               where=f.where())
    weekly: dict[str, list[int]] = defaultdict(lambda: [0] * len(windows))
    for r in rows:
        if not r["topic_code"]:
            continue  # unclassified questions are the emerging view's business
        i = (r["day"] - windows[0][0]).days // 7
        weekly[r["topic_code"]][i] += r["cases"]
    n = await names("topic")
    ranked = A.rising_topics(weekly)
    for r in ranked:
        r["label"] = _label("topic", r["topic_code"], n)
    return {"week_start": windows[-1][0], "week_end": windows[-1][1], "baseline_start": windows[0][0],
            "baseline_weeks": A.BASELINE_WEEKS, "min_count": A.MIN_RISING_COUNT, "alpha": A.ALPHA,
            "test": ("泊松检验（单侧）：本周件数 x 与前 8 周均值 λ 比较，p = P(X ≥ x | λ)；"
                     f"本周至少 {A.MIN_RISING_COUNT} 件且 p < 0.05/主题数（Bonferroni 校正）视为显著上升"),
            "topics": ranked, "filters": f.describe()}


# ---------------------------------------------------------------- emerging topics

def _unclassified(f: Filters):
    """The most recent unclassified questions of the filters (a queryset)."""
    from models import Consultation

    since = max(f.since, f.until - timedelta(days=RAW_DAYS - 1))
    lo, hi = bounds(since, f.until)
    qs = Consultation.filter(topic_code="", accepted_at__gte=lo, accepted_at__lt=hi, merged_into_id=None) \
        .exclude(moderation="held")
    if f.department_id:
        qs = qs.filter(department_id=f.department_id)
    for k in ("region_code", "industry_group", "size_class"):
        if getattr(f, k):
            qs = qs.filter(**{f"enterprise__{k}": getattr(f, k)})
    return qs.order_by("-accepted_at").limit(RAW_LIMIT)


#: Placeholders left by de-identification (【手机号】, 某先生): they are not what a question is about.
_PLACEHOLDER = re.compile(r"【[^】]*】|某(?:先生|女士|小姐|经理|老板)")
#: Words of asking, not of the subject: they would otherwise top every cluster's terms.
GENERIC_WORDS = frozenset("请问 问下 怎么 怎么办 如何 怎样 什么 哪里 需要 可以 是否 办理 咨询 联系 联系人 电话 谢谢 你好 您好".split())


def _cluster(rows: list[dict]) -> list[dict]:
    """Terms and examples come from the de-identified text, so a name or a number can
    neither become a top term nor appear in an example."""
    from services.consultations.deidentify import deidentify
    from services.service_items.text import tokens

    texts = [deidentify(r["content"]).strip().replace("\n", " ") for r in rows]
    docs = [[t for t in tokens(_PLACEHOLDER.sub(" ", text)) if t not in GENERIC_WORDS] for text in texts]
    if sum(1 for doc in docs if doc) < A.MIN_CLUSTER_DOCS:
        return []  # what cluster_questions would say, without a child process (about a second)
    clusters = _in_child(A.cluster_questions, docs)
    out = []
    for n, c in enumerate(clusters, 1):
        members = [rows[i] for i in c["members"]]
        examples = []
        for i in c["members"][:3]:
            text = texts[i]
            examples.append(text[:120] + ("…" if len(text) > 120 else ""))
        out.append({"n": n, "terms": c["terms"], "size": c["size"],
                    "enterprises": len({m["enterprise_id"] for m in members}), "examples": examples,
                    "cohesion": c["cohesion"], "k": c["k"], "silhouette": c["silhouette"]})
    return out


def _in_child(fn, *args):
    """``fn(*args)`` in a short-lived process. k-means needs scikit-learn, which brings
    numpy and scipy — about 100 MB that would otherwise stay in the API process for
    good, for a result computed at most every ``CACHE_SECONDS``. The process exits with
    the result, and its memory with it."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _emerging_family(f: Filters) -> str:
    """The stored clustering a visit with these filters reads: the dimension filters and
    the period — a period ending today as its length only, so that tomorrow's visit of the
    same tab finds today's clustering (and refreshes it) instead of nothing."""
    today = local_today()
    period: list = [(f.until - f.since).days + 1] if f.until == today else [f.since.isoformat(), f.until.isoformat()]
    dims = {k: v for k, v in f.describe().items() if k not in ("since", "until")}
    return hashlib.sha1(orjson.dumps(["emerging", dims, period])).hexdigest()


def _fingerprint(ids: Sequence[int]) -> str:
    return hashlib.sha1(orjson.dumps(sorted(ids))).hexdigest()


#: A filter family's clustering is recomputed at most once per this many seconds, however
#: often new questions arrive: the stored result is then at most this old plus one
#: computation (a few seconds at ``RAW_LIMIT`` questions) behind the newest question.
EMERGING_REFRESH_SECONDS = 60
#: Filter families visited within this many days are refreshed by the scheduled job too.
EMERGING_USED_DAYS = 7
EMERGING_USED_MAX = 20
_refreshing: dict[str, asyncio.Task] = {}


async def _emerging_store(family: str, f: Filters) -> dict:
    """Cluster the questions of ``f`` as they are now and store the result as the family's
    clustering, with the ids of the questions it covers and when it was computed."""
    rows = await _unclassified(f).values("id", "content", "enterprise_id")
    clusters = await asyncio.to_thread(_cluster, rows)
    body = {"clusters": clusters, "ids": [r["id"] for r in rows], "filters": f.describe()}
    row = await _store("emerging", family, body, one_per_view=False)
    return {"computed_at": row.computed_at, **body}


def _refresh_later(rt: Runtime, family: str, f: Filters) -> None:
    """Recompute the family's clustering in the background, once at a time per process
    and at most every ``EMERGING_REFRESH_SECONDS`` across processes (a Redis key taken
    with NX): the visit that noticed new questions does not wait for k-means."""
    loop = asyncio.get_running_loop()
    running = _refreshing.get(family)
    if running is not None and not running.done() and running.get_loop() is loop:
        return

    async def run() -> None:
        try:
            gate = f"{rt.keys.prefix}:insights:emerging:refresh:{family}"
            if not await rt.redis.set(gate, "1", nx=True, ex=EMERGING_REFRESH_SECONDS):
                return
            await _emerging_store(family, f)
        except Exception:
            log.exception("insights_emerging_refresh_failed", family=family)

    _refreshing[family] = loop.create_task(run())


async def settle() -> None:
    """Wait for the background refreshes this event loop started (tests, shutdown)."""
    loop = asyncio.get_running_loop()
    while pending := [t for t in _refreshing.values() if not t.done() and t.get_loop() is loop]:
        await asyncio.gather(*pending, return_exceptions=True)


async def _remember_use(rt: Runtime, family: str, f: Filters) -> None:
    """Note that a visit used this family, so the scheduled job keeps it fresh."""
    try:
        await rt.redis.hset(f"{rt.keys.prefix}:insights:emerging:used", family, orjson.dumps(
            {"at": datetime.now(timezone.utc).timestamp(), "days": (f.until - f.since).days + 1,
             "relative": f.until == local_today(), "filters": f.describe()}))
    except Exception:  # a note for the scheduled job; the visit keeps its answer
        log.warning("insights_emerging_use_not_noted", exc_info=True)


async def emerging(rt: Runtime, f: Filters) -> dict:
    """Clusters of the most recent unclassified questions, never computed while a staff
    member waits: the view reads the family's stored clustering (``_emerging_family``) and
    says when it was computed (``generated_at``). When questions have arrived since — the
    ids read now differ from those the clustering covers — it answers with the stored
    clustering, marks it ``stale`` with the number of new questions, and starts a
    recomputation in the background (``_refresh_later``); the next visit after it
    finishes sees the new clusters. With no stored clustering yet the answer is
    ``pending`` with no clusters, and the first computation starts. The scheduled job
    keeps the default filters and every family visited in the last
    ``EMERGING_USED_DAYS`` days fresh (``precompute``)."""
    ids = await _unclassified(f).values_list("id", flat=True)
    family = _emerging_family(f)
    await _remember_use(rt, family, f)
    row = await Precomputed.filter(key=family).first()
    stored = None
    if row is not None:
        stored = {"computed_at": row.computed_at, **row.body}
    elif len(ids) < A.MIN_CLUSTER_DOCS:  # nothing to cluster: answered now, no child process
        stored = await _emerging_store(family, f)
    new = len(set(ids) - set(stored["ids"])) if stored else len(ids)
    fresh = stored is not None and _fingerprint(stored["ids"]) == _fingerprint(ids)
    if not fresh:
        _refresh_later(rt, family, f)
    return {"questions": len(stored["ids"]) if stored else 0, "questions_now": len(ids), "new_questions": new,
            "generated_at": stored["computed_at"] if stored else None, "stale": stored is not None and not fresh,
            "pending": stored is None, "refresh_seconds": EMERGING_REFRESH_SECONDS,
            "window_days": RAW_DAYS, "limit": RAW_LIMIT,
            "method": "jieba 分词 + TF-IDF + k-means（k 取 2–6 中轮廓系数最高者）；示例问题已去标识化；"
                      f"聚类在后台计算，有新问题时最多每 {EMERGING_REFRESH_SECONDS} 秒重算一次",
            "clusters": stored["clusters"] if stored else [], "filters": f.describe()}


async def adopt(*, code: str, name: str, keywords: list[str], department: str | None):
    """Add a cluster to the taxonomy as a topic whose keywords are its top terms."""
    from models import Department, Topic
    from services.errors import Conflict

    if await Topic.filter(code=code).exists():
        raise Conflict("主题编码已存在", code="topic_exists")
    dept = None
    if department:
        dept = await Department.get_or_none(code=department)
        if dept is None:
            raise ValidationFailed.field("department", "没有这个部门", code="unknown_department")
    last = await Topic.all().order_by("-sort_order").first()
    return await Topic.create(code=code, name=name, keywords=keywords, department=dept,
                              sort_order=(last.sort_order if last else 0) + 1)


# ---------------------------------------------------------------- friction

FRICTION_MEASURES = ("cases", "repeats", "overdue", "close_seconds", "close_count", *CLOSE_BUCKETS, *RATING_COLUMNS,
                     *ELEMENT_COMPLAINTS)


async def audience(f: Filters) -> int:
    """Enterprises the items are for. The catalogue has no audience rule per item, so
    every registered enterprise within the region / industry / size filters counts."""
    from models import Enterprise

    return await Enterprise.filter(**{k: v for k, v in f.where(department=False).items()}).count()


async def friction(rt: Runtime, f: Filters) -> dict:
    """Per item, its measures and the complaints and poor ratings naming each element, read
    by item alone (``ELEMENT_COMPLAINTS``): by item, element and kind a read had ten times
    the cells, and no table keyed by county could hold them for a whole year."""
    rows = await _cached_query(rt, f.since, f.until, group_by=["service_item_id"], measures=FRICTION_MEASURES,
                               where=f.where())
    n = await names("item", "department")
    per_item: dict[int, dict] = {}
    for r in rows:
        if r["service_item_id"]:
            per_item[r["service_item_id"]] = {"m": r, "el": {e: r[f"complaints_{e}"] for e in COMPLAINED_ELEMENTS}}
    aud = await audience(f)
    stats = [A.ItemStats(item_id=i, cases=s["m"]["cases"], repeats=s["m"]["repeats"], overdue=s["m"]["overdue"],
                         close_seconds=s["m"]["close_seconds"], close_count=s["m"]["close_count"],
                         rated=sum(s["m"][c] for c in RATING_COLUMNS), poor=s["m"]["rating_1"] + s["m"]["rating_2"],
                         element_complaints=dict(s["el"]), audience=aud) for i, s in per_item.items()]
    ranked = A.friction_index(stats)
    for r in ranked:
        item = n["item"].get(r["service_item_id"]) or {}
        r["label"] = item.get("name", f"事项 {r['service_item_id']}")
        r["department"] = n["department"].get(item.get("department_id"), "")
        p50 = percentile([per_item[r["service_item_id"]]["m"][c] for c in CLOSE_BUCKETS], 0.5)
        r["close_p50_hours"] = None if p50 is None else round(p50 / 3600, 2)
    return {"audience": aud, "audience_note": AUDIENCE_NOTE, "components": list(A.FRICTION_COMPONENTS),
            "method": "各分项在参与比较的事项间做最小-最大归一化（0 最好，1 最差），指数为各分项均值 × 100；"
                      "驱动因素为归一化值不低于 0.5 的分项；少于 3 件的事项不参与排名",
            "items": ranked, "filters": f.describe()}


# ---------------------------------------------------------------- departments

DEPT_MEASURES = ("cases", "answered", "answered_on_time", "overdue", *RATING_COLUMNS, "rectifications_opened",
                 "rectifications_closed", "callbacks_due", "callbacks_done")


async def departments(rt: Runtime, f: Filters) -> dict:
    rows = await _cached_query(rt, f.since, f.until, group_by=["department_id"], measures=DEPT_MEASURES,
                               where=f.where())
    n = await names("department")
    out = []
    for r in rows:
        if not r["department_id"]:
            continue
        perf = A.department_performance(r)
        perf.update({"department_id": r["department_id"], "label": n["department"].get(r["department_id"], ""),
                     "code": n["department_code"].get(r["department_id"], "")})
        out.append(perf)
    out.sort(key=lambda d: (-d["on_time_rate"], -d["cases"], d["department_id"]))
    return {"departments": out, "filters": f.describe()}


# ---------------------------------------------------------------- policy reach

async def policy_reach(rt: Runtime, f: Filters) -> dict:
    """Funnels by size class, by industry group, for all, and for the ten policies that
    matched most. Policies are not tied to a handling department, so the department
    filter does not apply here."""
    from models import Policy
    from services.insights.open_data import _industry_groups

    measures = ("matched", "delivered", "read", "consented", "followups")
    dims = ("size_class", "industry_group", "policy_series_id")
    # one read by the three dimensions (a few hundred rows), summed three ways here
    cells = await _cached_query(rt, f.since, f.until, group_by=list(dims), measures=measures,
                                where=f.where(department=False), table="policy")
    by = {dim: [{dim: k, **v} for k, v in sorted(A.sum_rows(cells, lambda r: r[dim], measures).items(),
                                                 key=lambda kv: str(kv[0]))] for dim in dims}
    total = A.reach_funnel(facts.totals(by["size_class"], measures))
    sizes = {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"}
    groups = _industry_groups()
    top = sorted(by["policy_series_id"], key=lambda r: -r["matched"])[:10]
    titles = {p["series_id"]: p["title"] for p in await Policy.filter(series_id__in=[r["policy_series_id"] for r in top])
              .order_by("version").values("series_id", "title")}

    def rows(dim: str, labels: dict) -> list[dict]:
        return [{"key": str(r[dim]), "label": labels.get(r[dim], str(r[dim]) or "未知"), **A.reach_funnel(r)}
                for r in by[dim]]

    return {"total": total, "by_size_class": rows("size_class", sizes),
            "by_industry_group": rows("industry_group", groups),
            "by_policy": rows("policy_series_id", titles), "filters": f.describe(),
            "note": "政策未对应承办部门，部门筛选不适用于政策触达"}


# ---------------------------------------------------------------- bundles

async def _needs(f: Filters) -> list[tuple[int, int, date]]:
    """Distinct (enterprise, service item, local day) of the cases naming an item in the
    period (at most ``BUNDLE_LIMIT``, newest days first): the analysis works on days, so
    an enterprise asking about the same item five times in a day is one need."""
    d = dialect()
    p = facts.Params(d)
    lo, hi = bounds(f.since, f.until)
    conds = [d.in_range("c.accepted_at", lo, hi), "c.service_item_id IS NOT NULL", "c.merged_into_id IS NULL"]
    for k in ("region_code", "industry_group", "size_class"):
        if getattr(f, k):
            conds.append(f"e.{k} = {p(getattr(f, k))}")
    join = " JOIN enterprise e ON e.id = c.enterprise_id" if len(conds) > 3 else ""
    sql = (f"SELECT DISTINCT c.enterprise_id AS e, c.service_item_id AS i, {d.day('c.accepted_at')} AS d "
           f"FROM consultation c{join} WHERE {' AND '.join(conds)} ORDER BY d DESC LIMIT {BUNDLE_LIMIT}")
    _, rows = await connections.get("default").execute_query(sql, p.values)
    return [(r["e"], r["i"], r["d"] if isinstance(r["d"], date) else date.fromisoformat(r["d"])) for r in rows]


def _bundles_key(f: Filters, min_enterprises: int, window_days: int) -> str:
    return hashlib.sha1(orjson.dumps(["bundles", f.describe(), min_enterprises, window_days])).hexdigest()


async def _bundles_compute(f: Filters, min_enterprises: int, window_days: int) -> tuple[list[dict], int]:
    raw = await _needs(f)
    n = await names("item", "department")
    depts = {i: item["department_id"] for i, item in n["item"].items()}
    found = await asyncio.to_thread(A.bundle_candidates, raw, depts, window_days=window_days,
                                    min_enterprises=min_enterprises)
    return _bundles_shown(f, found, n), len({e for e, _, _ in raw})


def _bundles_shown(f: Filters, found: list[dict], n: dict) -> list[dict]:
    """The first ``BUNDLES_SHOWN`` of the ranked sets, under a department filter those
    with one of the department's items, with names."""
    depts = {i: item["department_id"] for i, item in n["item"].items()}
    if f.department_id:
        found = [b for b in found if any(depts[i] == f.department_id for i in b["items"])]
    found = found[:BUNDLES_SHOWN]
    for b in found:
        b["labels"] = [n["item"][i]["name"] for i in b["items"]]
        b["department_names"] = [n["department"].get(depts[i], "") for i in b["items"]]
    return found


#: The enterprise mix of a ``BundleCount`` row that sums every mix (the unfiltered counts
#: and a department's, without adding up every county's rows).
MIX_ALL = ("*", "*", "*")


def _bundle_counts(raw: list[tuple[int, int, date]], depts: dict[int, int], mix: dict[int, tuple[str, str, str]],
                   window_days: int) -> dict[tuple, int]:
    """(enterprise mix, item_a, item_b, item_c) → enterprises: each enterprise's presence,
    items and sets (``A.enterprise_bundles``), added to its own mix."""
    counts: dict[tuple, int] = defaultdict(int)
    for ent, items, found in A.enterprise_bundles(raw, depts, window_days=window_days):
        cell = mix.get(ent, ("", "", ""))
        counts[(cell, 0, 0, 0)] += 1
        for i in items:
            counts[(cell, i, 0, 0)] += 1
        for combo in found:
            counts[(cell, *combo, *(0,) * (3 - len(combo)))] += 1
    return counts


async def _store_bundle_counts(conn, counts: dict[tuple, int]) -> None:
    """Add rows to ``insight_bundle_count`` (on the caller's transaction): on PostgreSQL one
    INSERT of arrays, elsewhere row by row."""
    if not counts:
        return
    cols = "region_code, industry_group, size_class, item_a, item_b, item_c, enterprises"
    if dialect().pg:
        arrays: list[list] = [[] for _ in range(7)]
        for (cell, a, b, c), n in counts.items():
            for column, value in zip(arrays, (*cell, a, b, c, n)):
                column.append(value)
        await conn.execute_query(
            f"INSERT INTO insight_bundle_count ({cols}) SELECT * FROM unnest($1::varchar[], $2::varchar[], "
            "$3::varchar[], $4::int[], $5::int[], $6::int[], $7::int[])", arrays)
    else:
        await conn.execute_many(f"INSERT INTO insight_bundle_count ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [[*cell, a, b, c, n] for (cell, a, b, c), n in counts.items()])


async def _bundles_from_counts(f: Filters, min_enterprises: int) -> tuple[list[dict], int]:
    """The candidates under ``f``'s enterprise mix (summed over its cells; without one,
    the ``MIX_ALL`` rows) and department, from ``insight_bundle_count``: the same figures
    ``_bundles_compute`` gives for the stored period. The database drops the sets below
    ``min_enterprises`` and, under a department, those without one of its items, so
    only what can be shown comes back (thousands of rows, not tens of thousands)."""
    p = facts.Params(dialect())
    names_ = await names("item", "department")
    depts = {i: item["department_id"] for i, item in names_["item"].items()}
    mix = {k: getattr(f, k) for k in ("region_code", "industry_group", "size_class") if getattr(f, k)}
    cells = mix or dict(zip(("region_code", "industry_group", "size_class"), MIX_ALL))
    conds = [f"{k} = {p(v)}" for k, v in cells.items()]
    if f.department_id:
        own = ", ".join(str(int(i)) for i, d in depts.items() if d == f.department_id) or "NULL"
        conds.append(f"(item_b = 0 OR item_a IN ({own}) OR item_b IN ({own}) OR item_c IN ({own}))")
    _, rows = await connections.get("default").execute_query(
        f"SELECT item_a, item_b, item_c, SUM(enterprises) AS n FROM insight_bundle_count WHERE {' AND '.join(conds)} "
        f"GROUP BY item_a, item_b, item_c HAVING item_b = 0 OR SUM(enterprises) >= {p(min_enterprises)}", p.values)
    single: dict[int, int] = {}
    sets: dict[tuple[int, ...], int] = {}
    total = 0
    for r in rows:
        a, b, c, k = r["item_a"], r["item_b"], r["item_c"], int(r["n"])
        if b:
            sets[(a, b, c) if c else (a, b)] = k
        elif a:
            single[a] = k
        else:
            total = k
    if len(sets) > BUNDLES_SHOWN and total:
        # ranked by support first: a set below the support of the BUNDLES_SHOWN-th largest
        # count is not shown, and ranking thousands of them is most of the time here
        floor = round(heapq.nlargest(BUNDLES_SHOWN, sets.values())[-1] / total, 4)
        sets = {key: k for key, k in sets.items() if round(k / total, 4) >= floor}
    sets = {key: k for key, k in sets.items() if all(i in depts for i in key)}
    found = A.rank_bundles(sets, single, total, depts, min_enterprises=min_enterprises) if total else []
    return _bundles_shown(f, found, names_), total


async def _counts_period(window_days: int, min_enterprises: int) -> dict | None:
    """The period of the stored bundle counts, when they serve this window and threshold."""
    bodies = await Precomputed.filter(view="bundles").values_list("body", flat=True)
    counted = bodies[0][2] if bodies and len(bodies[0]) > 2 else None
    if not counted or counted["window_days"] != window_days or min_enterprises < counted["min_enterprises"]:
        return None
    return counted


async def bundles(rt: Runtime, f: Filters, *, min_enterprises: int = 5, window_days: int = 30) -> dict:
    """Computed from the needs of the period (``_needs``) every ``CACHE_SECONDS`` — the
    cadence of the rollup —, not on every visit: a second of per-enterprise sequences at
    a million cases a year. For the console's default filters the scheduled job computes
    it after each rollup (``precompute``) and the view reads that result for the rest of
    the day until the next run replaces it; with it the job stores the counts per
    enterprise mix (``insight_bundle_count``), from which any county, industry, size or
    department filter over the same period is summed. For other periods it is computed
    on the first visit and kept in Redis for ``CACHE_SECONDS``. Either way a case asked
    in between shows up at the next computation, as the method text says. A
    supervisor's department filter keeps the sets that include one of the department's
    items — the other department is the point."""
    digest = _bundles_key(f, min_enterprises, window_days)
    stored = await _stored(digest)
    if stored is not None:
        found, enterprises = stored[:2]
    else:
        key = f"{rt.keys.prefix}:insights:bundles:{digest}"
        cached = await rt.redis.get(key) if caching(rt) else None
        counted = None if cached else await _counts_period(window_days, min_enterprises)
        if cached:
            found, enterprises = orjson.loads(cached)
        elif counted and counted["since"] == f.since.isoformat() and counted["until"] == f.until.isoformat():
            found, enterprises = await _bundles_from_counts(f, min_enterprises)
        else:
            found, enterprises = await _bundles_compute(f, min_enterprises, window_days)
            if caching(rt):
                await rt.redis.set(key, orjson.dumps([found, enterprises]), ex=CACHE_SECONDS)
    return {"enterprises": enterprises, "window_days": window_days,
            "min_enterprises": min_enterprises, "bundles": found, "filters": f.describe(),
            "method": f"同一企业 {window_days} 天内先后需要、且来自至少两个部门的 2–3 个事项（按日计；三项组合只取窗口内不超过 8 个事项的情形）；"
                      "支持度 = 含该组合的企业 / 有事项咨询的企业，提升度 = 支持度 / 各事项支持度之积（>1 表示比随机更常一起出现）；"
                      "结果每 10 分钟重新计算"}


async def _precompute_bundles() -> None:
    """The default filters' bundles, and their counts per enterprise mix (``_bundle_counts``)
    unless the needs were cut at ``BUNDLE_LIMIT`` (a filtered computation would then see
    needs the counts do not). The counts are made and written a county at a time, so
    only one county's (tens of thousands of cells) is held at once, beside the sums
    over every mix (``MIX_ALL``), from which the unfiltered result is ranked. The rewrite
    takes the rollup's lock: two jobs deleting and inserting at once would each keep
    their rows, and every count would be doubled."""
    plain = dict(since=None, until=None, department=None, region_code=None, industry_group=None, size_class=None,
                 forced_department=None)
    f = await resolve(**plain, default_days=RAW_DAYS)
    raw = await _needs(f)
    n = await names("item", "department")
    depts = {i: item["department_id"] for i, item in n["item"].items()}
    counted = None
    async with in_transaction() as conn:
        await serialise(conn, dialect())
        await conn.execute_script("DELETE FROM insight_bundle_count")
        if len(raw) < BUNDLE_LIMIT:
            _, rows = await conn.execute_query("SELECT id, region_code, industry_group, size_class FROM enterprise")
            mix = {r["id"]: (r["region_code"] or "", r["industry_group"] or "", r["size_class"] or "") for r in rows}
            by_region: dict[str, list] = defaultdict(list)
            for need in raw:
                by_region[mix.get(need[0], ("",))[0]].append(need)
            total: dict[tuple, int] = defaultdict(int)
            for needs in by_region.values():
                counts = await asyncio.to_thread(_bundle_counts, needs, depts, mix, DEFAULT_WINDOW_DAYS)
                await _store_bundle_counts(conn, counts)
                for (_, a, b, c), k in counts.items():
                    total[(MIX_ALL, a, b, c)] += k
            await _store_bundle_counts(conn, total)
            if dialect().pg:  # the planner's row estimates for the new rows, as autovacuum would give them later
                await conn.execute_script("ANALYZE insight_bundle_count")
            single = {a: k for (_, a, b, _c), k in total.items() if a and not b}
            sets = {tuple(i for i in key[1:] if i): k for key, k in total.items() if key[2]}
            found = A.rank_bundles(sets, single, total.get((MIX_ALL, 0, 0, 0), 0), depts,
                                   min_enterprises=DEFAULT_MIN_ENTERPRISES)
            counted = {"since": f.since.isoformat(), "until": f.until.isoformat(),
                       "window_days": DEFAULT_WINDOW_DAYS, "min_enterprises": 1}
        else:
            found = await asyncio.to_thread(A.bundle_candidates, raw, depts, window_days=DEFAULT_WINDOW_DAYS,
                                            min_enterprises=DEFAULT_MIN_ENTERPRISES)
        await _store("bundles", _bundles_key(f, DEFAULT_MIN_ENTERPRISES, DEFAULT_WINDOW_DAYS),
                     [_bundles_shown(f, found, n), len({e for e, _, _ in raw}), counted])


# ---------------------------------------------------------------- precomputed raw-row views

async def _stored(key: str) -> Any:
    """The body the scheduled job stored under ``key`` (``insight_precomputed``), or None."""
    bodies = await Precomputed.filter(key=key).values_list("body", flat=True)
    return bodies[0] if bodies else None


async def _store(view: str, key: str, body: Any, *, one_per_view: bool = True) -> Precomputed:
    """Store ``body`` under ``key``, replacing the view's stored result (``one_per_view``:
    only the latest run's is kept, as for bundles) or only the one under the same key
    (emerging topics keep one clustering per filter family, see ``_emerging_store``)."""
    async with in_transaction():
        await (Precomputed.filter(view=view) if one_per_view else Precomputed.filter(key=key)).delete()
        return await Precomputed.create(view=view, key=key, computed_at=datetime.now(timezone.utc), body=body)


async def _used_families(rt: Runtime | None) -> list[Filters]:
    """The filters of the emerging-topic families visited in the last
    ``EMERGING_USED_DAYS`` days (at most ``EMERGING_USED_MAX``, latest first), with a
    period that ended on the day of the visit moved to end today."""
    if rt is None:
        return []
    key = f"{rt.keys.prefix}:insights:emerging:used"
    notes = {k.decode() if isinstance(k, bytes) else k: orjson.loads(v) for k, v in (await rt.redis.hgetall(key)).items()}
    cutoff = datetime.now(timezone.utc).timestamp() - EMERGING_USED_DAYS * 86400
    old = [k for k, n in notes.items() if n["at"] < cutoff]
    if old:
        await rt.redis.hdel(key, *old)
    today = local_today()
    out = []
    for note in sorted((n for n in notes.values() if n["at"] >= cutoff), key=lambda n: -n["at"])[:EMERGING_USED_MAX]:
        fl = note["filters"]
        until = today if note["relative"] else date.fromisoformat(fl["until"])
        since = until - timedelta(days=note["days"] - 1) if note["relative"] else date.fromisoformat(fl["since"])
        out.append(Filters(since, until, fl["department_id"], fl["region_code"], fl["industry_group"],
                           fl["size_class"]))
    return out


async def refresh_emerging(rt: Runtime | None = None) -> int:
    """Recompute the stored clustering of the default filters and of every family visited
    lately (``_used_families``) whose questions changed; drop clusterings nobody has
    visited for ``EMERGING_USED_DAYS`` days. Returns how many were recomputed."""
    plain = dict(since=None, until=None, department=None, region_code=None, industry_group=None, size_class=None,
                 forced_department=None)
    wanted = [await resolve(**plain, default_days=RAW_DAYS), *await _used_families(rt)]
    done, seen = 0, set()
    for f in wanted:
        family = _emerging_family(f)
        if family in seen:
            continue
        seen.add(family)
        row = await Precomputed.filter(key=family).first()
        ids = await _unclassified(f).values_list("id", flat=True)
        if row is None or _fingerprint(row.body["ids"]) != _fingerprint(ids):
            await _emerging_store(family, f)
            done += 1
    cutoff = datetime.now(timezone.utc) - timedelta(days=EMERGING_USED_DAYS)
    await Precomputed.filter(view="emerging", computed_at__lt=cutoff).exclude(key__in=list(seen)).delete()
    return done


async def precompute(*, embedded: bool = False, rt: Runtime | None = None) -> dict[str, Any]:
    """Compute the raw-row views (``RAW_VIEWS``) and store them, so that a visit reads the
    result instead of running k-means or the per-enterprise sequences (seconds at a
    million cases a year). Called by the scheduled rollup, before warming. Emerging
    topics: the default filters and the families visited lately whose questions changed
    (``refresh_emerging``; with ``rt``, whose Redis notes the visits). Bundles: the
    console's default filters, the run's result for the day (see ``bundles``). Not run
    in the embedded set-up (see ``warm``). Returns milliseconds per view (None: failed,
    logged)."""
    import time

    if embedded:
        return {}
    out: dict[str, Any] = {}
    for name in RAW_VIEWS:
        started = time.perf_counter()
        try:
            if name == "emerging":
                await refresh_emerging(rt)
            else:
                await _precompute_bundles()
            out[name] = round((time.perf_counter() - started) * 1000, 1)
        except Exception:
            log.exception("insights_precompute_failed", view=name)
            out[name] = None
    return out


# ---------------------------------------------------------------- warming

#: Views whose first call reads raw rows (emerging: up to ``RAW_LIMIT`` questions and a
#: k-means child process; bundles: up to ``BUNDLE_LIMIT`` needs) rather than the facts.
RAW_VIEWS = ("emerging", "bundles")


async def warm(rt: Runtime, views: Sequence[str] | None = None) -> dict[str, Any]:
    """Fill the caches of the console's 需求洞察 page as it opens each tab — a policy
    officer's default filters (no department, region, industry or size; 12 weeks,
    90 days for emerging topics and bundles; trends by topic; bundles of at least 5
    enterprises within 30 days) — so the first visitor after a rollup does not pay the
    uncached reads. Called by the scheduled rollup; views run one after the other, and
    one that fails is logged and skipped (the rollup has already succeeded).

    In the embedded set-up (in-process Redis substitute, the scheduler inside the only
    API process) the raw-row views are left out by default: a k-means child process
    every 10 minutes for a dashboard that may not be opened is not worth it there, and
    on embedded volumes their first call is short. Returns milliseconds per view
    (``None`` for a view that failed)."""
    import time

    if not caching(rt):
        return {}
    if views is None:
        embedded = str(getattr(rt.settings, "redis_url", "")).startswith("memory://")
        views = tuple(v for v in WARM_VIEWS if not (embedded and v in RAW_VIEWS))
    plain = dict(since=None, until=None, department=None, region_code=None, industry_group=None, size_class=None,
                 forced_department=None)
    out: dict[str, Any] = {}
    for name in views:
        started = time.perf_counter()
        try:
            await WARM_VIEWS[name](rt, plain)
            out[name] = round((time.perf_counter() - started) * 1000, 1)
        except Exception:
            log.exception("insights_warm_failed", view=name)
            out[name] = None
    return out


async def _warm_trends(rt: Runtime, plain: dict) -> None:
    await trends(rt, await resolve(**plain), "topic")


async def _warm_rising(rt: Runtime, plain: dict) -> None:
    await rising(rt, await resolve(**plain))


async def _warm_emerging(rt: Runtime, plain: dict) -> None:
    await emerging(rt, await resolve(**plain, default_days=RAW_DAYS))


async def _warm_friction(rt: Runtime, plain: dict) -> None:
    await friction(rt, await resolve(**plain))


async def _warm_departments(rt: Runtime, plain: dict) -> None:
    await departments(rt, await resolve(**plain))


async def _warm_policy_reach(rt: Runtime, plain: dict) -> None:
    await policy_reach(rt, await resolve(**plain))


async def _warm_bundles(rt: Runtime, plain: dict) -> None:
    await bundles(rt, await resolve(**plain, default_days=RAW_DAYS), min_enterprises=DEFAULT_MIN_ENTERPRISES,
                  window_days=DEFAULT_WINDOW_DAYS)


#: The console's tabs, in its order, with the defaults of ``handlers.insights``.
WARM_VIEWS = {"trends": _warm_trends, "rising": _warm_rising, "emerging": _warm_emerging,
              "friction": _warm_friction, "departments": _warm_departments, "policy_reach": _warm_policy_reach,
              "bundles": _warm_bundles}


# ---------------------------------------------------------------- proposal evaluation

EVAL_MEASURES = ("cases", "repeats", "overdue", "answered", "answered_on_time", *CLOSE_BUCKETS, *RATING_COLUMNS)


async def window_metrics(items: Sequence[int], first: date, last: date) -> dict:
    rows = await facts.query(first, last, group_by=["kind"], measures=EVAL_MEASURES,
                             where={"service_item_id": list(items)})
    m = facts.totals(rows, EVAL_MEASURES)
    m["complaints"] = sum(r["cases"] for r in rows if r["kind"] == "complaint")
    m["rated"] = sum(m[c] for c in RATING_COLUMNS)
    m["poor"] = m["rating_1"] + m["rating_2"]
    p50 = percentile([m[c] for c in CLOSE_BUCKETS], 0.5)
    m["close_p50_hours"] = None if p50 is None else round(p50 / 3600, 2)
    return m


async def evaluate_proposal(items: Sequence[int], go_live: date | None, metrics: Sequence[str]) -> dict | None:
    if not go_live or not items:
        return None
    windows = A.equal_windows(go_live, local_today())
    if windows is None:
        return None
    (b0, b1), (a0, a1) = windows
    before, after = await window_metrics(items, b0, b1), await window_metrics(items, a0, a1)
    return {"before": {"since": b0, "until": b1}, "after": {"since": a0, "until": a1}, "days": (b1 - b0).days + 1,
            "metrics": A.evaluate(before, after, metrics or list(A.METRICS)),
            "tests": "件数：泊松率比检验（等长窗口，条件二项检验，双侧）；占比：两比例 z 检验（双侧）；"
                     "时长：仅列变化不做检验；p < 0.05 视为超出随机波动"}
