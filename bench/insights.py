"""``python -m bench insights --consultations 1000000``: a year of demand on PostgreSQL,
the rollup over it, and every dashboard view read through the API against the same
figures by plain queries over the raw tables.

1. Generates (COPY) enterprises and a year of cases with skewed, plausible mixes of
   topics, items, departments, channels and kinds (a few percent unclassified, on new
   themes), answers, closings, ratings, rectifications and call-backs; and a year of
   pushes of the seeded policies (inbox, deliveries, reads, consents, follow-ups). As on
   a system that has run for that year, the supervision ladder's steps of past deadlines
   are stamped and answers left unanswered by the enterprise are closed, so the server's
   periodic sweep has no year of backlog to chase while the dashboard is timed.
2. ``rollup_seconds``: the rollup of the whole year (one statement per table);
   ``day_rollup_seconds``: re-running one day; ``precompute_seconds``: then, as the
   scheduled job does, emerging topics and bundles for the default filters
   (``views.precompute``), which the views read while their key matches;
   ``precompute_ms`` per view is what a visit costs when it does not.
3. Per view the console's 需求洞察 page loads (``VIEWS``), through a real server process:
   the first call (``cold_ms``) and repeated calls (``p50_ms``, ``p95_ms``); through a
   second server that keeps no results (``INSIGHTS_CACHE=off``), ``uncached_p50_ms`` /
   ``uncached_p95_ms``, and the same under one department, one county, and one county's
   micro enterprises (``filtered``; the worst is ``worst_filtered_uncached_p95_ms``); ``naive_ms``,
   the median of the same figures by plain queries over the raw tables, same run; and
   ``same_figures``, the API's figures checked against them. Views over a period are
   read over the whole year (the most the API allows), the others as the console opens
   them. The top level reports the worst view: ``dashboard_p95_ms`` is the highest p95,
   ``speedup`` the lowest naive / p95.
4. ``rss_mb``: the server's peak RSS over the whole run (RssSampler), the staff login
   (argon2 hashes with 64 MiB of scratch) included; ``rss_with_children_mb``: the peak
   of the server plus its child processes (k-means of emerging topics runs in one).

Targets: every view's p95 ≤ 100 ms, speedup ≥ 10, day rollup ≤ 2 s, RSS ≤ 300 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from rich.console import Console

from bench.common import ROOT, RssSampler, pg_database, server

TZ = ZoneInfo("Asia/Shanghai")
TARGETS = {"dashboard_p95_ms_max": 100.0, "speedup_min": 10.0, "day_rollup_seconds_max": 2.0, "rss_mb_max": 300.0}
REGIONS = ["440303", "440304", "440305", "440306", "440307", "440309", "440310", "440311"]
GROUPS = ["I", "C", "F", "M", "L", "E", "H", "K"]


UNCLASSIFIED_SHARE = 0.04
NEW_QUESTIONS = (
    "数据出境安全评估申报要准备哪些材料，第{n}次问", "跨境电商海外仓备案怎么办理，需要几天",
    "低空经济无人机企业有没有补贴，怎么申请", "预制菜生产许可证要什么条件，车间有要求吗",
    "直播带货的营业执照经营范围怎么写", "新能源充电桩建设备案找哪个部门，要{n}个工作日吗",
    "企业数据资产入表有没有政策支持", "外籍员工工作许可延期需要哪些材料",
)


async def _policy_reach_rows(conn, start: datetime, now: datetime) -> None:
    """A year of pushes of the seeded policies to the bench enterprises' owners: one
    campaign per policy, inbox messages for about a third of the owners, deliveries
    (mostly delivered), reads, consents to 免申即享 policies and cases citing a policy.
    No delivery is left queued, so the server's worker has nothing to send."""
    span = max(1, int((now - start).total_seconds()) - 7 * 86400)
    await conn.execute("""
        INSERT INTO app_user (kind, openid, role, display_name, enterprise_id, failed_logins, is_active, created_at)
        SELECT 'wechat', 'bench-' || id, 'enterprise_owner', '', id, 0, true, $1
        FROM enterprise WHERE credit_code LIKE 'Y%'""", start)
    await conn.execute("""
        INSERT INTO notification_campaign (kind, source_id, title, summary, page, critical, topic, department_code,
                                           matched, recipients, read_count, created_at)
        SELECT 'policy', id, title, '', '', false, '', '', 0, 0, 0, $1::timestamptz + make_interval(secs => (id * 7919) % $2::int)
        FROM policy WHERE status = 'published'""", start, span)
    await conn.execute("""
        INSERT INTO inbox_message (user_id, campaign_id, created_at, read_at)
        SELECT u.id, k.id, k.created_at,
               CASE WHEN (u.id * 31 + k.id * 17) % 10 < 4
                    THEN k.created_at + make_interval(secs => (u.id * 7 + k.id) % 400000) END
        FROM app_user u CROSS JOIN notification_campaign k
        WHERE u.openid LIKE 'bench-%' AND k.kind = 'policy' AND (u.id * 13 + k.id * 5) % 3 = 0""")
    await conn.execute("""
        INSERT INTO notification_delivery (campaign_id, user_id, channel, openid, status, digest, attempts,
                                           credit_held, offer_at, last_error, note, sent_at, created_at)
        SELECT i.campaign_id, i.user_id, 'subscribe', u.openid,
               CASE WHEN (i.id % 10) = 0 THEN 'rejected' ELSE 'delivered' END, false, 1, false, 0, '', '',
               CASE WHEN (i.id % 10) = 0 THEN NULL ELSE i.created_at + interval '3 minutes' END, i.created_at
        FROM inbox_message i JOIN app_user u ON u.id = i.user_id WHERE u.openid LIKE 'bench-%'""")
    await conn.execute("""
        INSERT INTO policy_consent (series_id, policy_id, enterprise_id, user_id, consented_at)
        SELECT p.series_id, p.id, u.enterprise_id, u.id, i.read_at + interval '1 hour'
        FROM inbox_message i JOIN notification_campaign k ON k.id = i.campaign_id
             JOIN policy p ON p.id = k.source_id AND p.no_application
             JOIN app_user u ON u.id = i.user_id
        WHERE u.openid LIKE 'bench-%' AND i.read_at IS NOT NULL AND i.id % 2 = 0
        ON CONFLICT DO NOTHING""")
    await conn.execute("""
        UPDATE consultation SET policy_series_id = s.ids[1 + consultation.id % array_length(s.ids, 1)]
        FROM (SELECT array_agg(DISTINCT series_id) AS ids FROM policy WHERE status = 'published') s
        WHERE consultation.id % 40 = 0 AND array_length(s.ids, 1) > 0""")


def _zipf(n: int, s: float = 1.1) -> list[float]:
    return [1 / (i + 1) ** s for i in range(n)]


async def _generate(url: str, count: int, rng: random.Random, console: Console) -> tuple[date, date]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        now = datetime.now(TZ)
        n_ent = max(1000, count // 50)
        await conn.copy_records_to_table(
            "enterprise", columns=["credit_code", "name", "industry_code", "industry_group", "region_code", "size_class",
                                   "size_rule_version", "size_inputs", "size_basis", "contact_phone_enc",
                                   "created_at", "updated_at"],
            records=[(f"Y{n:017d}", f"洞察基准企业{n}", "65", rng.choices(GROUPS, _zipf(len(GROUPS)))[0],
                      rng.choices(REGIONS, _zipf(len(REGIONS), 0.7))[0],
                      rng.choices(["micro", "small", "medium", "large"], [55, 30, 12, 3])[0], "bench", "{}", "", "",
                      now, now) for n in range(n_ent)])
        ents = [r["id"] for r in await conn.fetch("SELECT id FROM enterprise WHERE credit_code LIKE 'Y%'")]
        topics = [(r["code"], r["department_id"]) for r in await conn.fetch("SELECT code, department_id FROM topic")]
        items = [(r["id"], r["department_id"]) for r in await conn.fetch("SELECT id, department_id FROM service_item")]
        ent_w, topic_w, item_w = _zipf(len(ents), 0.6), _zipf(len(topics)), _zipf(len(items), 0.9)
        start = datetime.combine(now.date() - timedelta(days=364), datetime.min.time(), TZ)
        span = (now - start).total_seconds() - 120
        cols = ["enterprise_id", "channel", "kind", "content", "contact_name", "service_item_id", "element",
                "element_detail", "topic_code", "department_id", "suggestion", "corrected", "status", "moderation",
                "accepted_at", "working_days", "due_at", "due_provisional", "remind_at", "escalate_at", "overdue",
                "first_answered_at", "answered_at", "closed_at", "reminded_at", "urged_at", "escalated_at",
                "created_at", "updated_at"]
        batch = 100_000
        done = 0
        with console.status("") as status:
            while done < count:
                rows = []
                pick_e = rng.choices(ents, ent_w, k=min(batch, count - done))
                for eid in pick_e:
                    # weekday office hours dominate
                    at = start + timedelta(seconds=rng.random() * span)
                    if at.weekday() >= 5 and rng.random() < 0.7:
                        at -= timedelta(days=2)
                    topic, tdept = rng.choices(topics, topic_w)[0]
                    content = "基准咨询内容"
                    if rng.random() < UNCLASSIFIED_SHARE:  # a question no taxonomy topic fits yet
                        topic, content = "", rng.choice(NEW_QUESTIONS).format(n=rng.randrange(1, 9))
                    item, dept = rng.choices(items, item_w)[0] if rng.random() < 0.55 else (None, tdept)
                    due = at + timedelta(days=rng.choice([1, 3, 5, 5, 10]))
                    first = at + timedelta(seconds=rng.lognormvariate(9, 1.6)) if rng.random() < 0.93 else None
                    first = first if first and first < now else None
                    closed = first + timedelta(seconds=rng.lognormvariate(10, 1.3)) if first and rng.random() < 0.85 else None
                    if first and not closed and first < now - timedelta(days=7):
                        closed = first + timedelta(days=7)  # auto-closed ~7 working days after the answer
                    closed = closed if closed and closed < now else None
                    late = (first or now) > due
                    # the supervision ladder has long run on a past year: its steps are stamped,
                    # so the server's sweep does not chase (and notify about) a year of backlog
                    chased = due if due < now and (first is None or first > due) else None
                    rows.append((eid, rng.choices(["miniprogram", "phone", "walk_in", "hotline_12345"], [60, 20, 12, 8])[0],
                                 rng.choices(["consultation", "suggestion", "complaint"], [85, 10, 5])[0], content, "",
                                 item, rng.choices([None, "materials", "steps", "time_limit", "fees", "online"],
                                                   [50, 18, 12, 8, 5, 7])[0], "", topic, dept, "{}", False,
                                 "closed" if closed else ("answered" if first else "assigned"), "pass", at, 3, due, False,
                                 due, due, late and due < now, first, first, closed, chased, chased, chased, at, at))
                await conn.copy_records_to_table("consultation", columns=cols, records=rows)
                done += len(rows)
                status.update(f"写入咨询 {done:,}/{count:,}")
        # ON CONFLICT: the server runs while this loads, and its sweep may close a case (with
        # its call-back) first; that case keeps what the server gave it.
        await conn.execute("""
            INSERT INTO consultation_rating (consultation_id, enterprise_id, score, comment, created_at, updated_at)
            SELECT id, enterprise_id, (ARRAY[1,2,3,4,4,5,5,5,5,5])[1 + (id::bigint * 7919) % 10], '',
                   closed_at + interval '2 hours', closed_at + interval '2 hours'
            FROM consultation WHERE closed_at IS NOT NULL AND id % 3 = 0
            ON CONFLICT DO NOTHING""")
        await conn.execute("""
            INSERT INTO rectification (consultation_id, department_id, score, status, due_at, evidence, closed_at,
                                       appeal_reason, appeal_comment, created_at)
            SELECT r.consultation_id, c.department_id, r.score, CASE WHEN c.id % 4 = 0 THEN 'open' ELSE 'closed' END,
                   r.created_at + interval '5 days', '', CASE WHEN c.id % 4 = 0 THEN NULL ELSE r.created_at + interval '3 days' END,
                   '', '', r.created_at
            FROM consultation_rating r JOIN consultation c ON c.id = r.consultation_id WHERE r.score <= 2""")
        await conn.execute("""
            INSERT INTO callback_task (consultation_id, department_id, status, due_at, notes, done_at, created_at)
            SELECT id, department_id, CASE WHEN id % 5 = 0 THEN 'open' ELSE 'done' END, closed_at + interval '3 days', '',
                   CASE WHEN id % 5 = 0 THEN NULL ELSE closed_at + interval '1 day' END, closed_at
            FROM consultation WHERE closed_at IS NOT NULL AND id % 2 = 0
            ON CONFLICT DO NOTHING""")
        await _policy_reach_rows(conn, start, now)
        await conn.execute("VACUUM ANALYZE")
        return start.date(), now.date()
    finally:
        await conn.close()


async def _rollups(url: str, since: date, until: date) -> tuple[float, float, int, dict]:
    from server import db
    from services.insights.rollup import rollup

    await db.init_db(url)
    try:
        t = time.perf_counter()
        year = await rollup(since, until)
        whole = time.perf_counter() - t
        day = until - timedelta(days=40)
        t = time.perf_counter()
        await rollup(day, day)
        one = time.perf_counter() - t
        from tortoise import connections

        # as autovacuum would soon after a rollup: the planner needs the new tables' sizes
        await connections.get("default").execute_script(
            "ANALYZE insight_case_fact, insight_case_week, insight_case_item_week, insight_case_day, "
            "insight_case_item_day, insight_case_item_total, insight_policy_fact")
        # what the scheduled job does next: the raw-row views for the default filters
        from services.insights.views import precompute

        # a reused database may hold an earlier run's results: computed afresh here
        await connections.get("default").execute_script("DELETE FROM insight_precomputed")
        done = await precompute()
        if any(ms is None for ms in done.values()):
            raise RuntimeError(f"precompute failed: {done}")
        return whole, one, year["case_rows"], done
    finally:
        await db.close_db()


# ---------------------------------------------------------------- the same figures, plain

# Each naive function answers what its view shows with plain queries over the raw tables
# (no fact table, no cache), on one asyncpg connection; ``lo``/``hi`` are the period's
# local-midnight bounds. They return figures in the shape ``_compare`` expects.

LOCAL_DAY = "(({}) AT TIME ZONE 'Asia/Shanghai')::date"


def _day(col: str) -> str:
    return LOCAL_DAY.format(col)


async def _naive_trends(conn, lo: datetime, hi: datetime, **_) -> dict:
    rows = await conn.fetch(
        f"SELECT date_trunc('week', {_day('accepted_at')})::date AS week, COALESCE(topic_code, '') AS topic_code, "
        "COUNT(*) AS n FROM consultation WHERE accepted_at >= $1 AND accepted_at < $2 GROUP BY 1, 2", lo, hi)
    return {(r["week"].isoformat(), r["topic_code"]): r["n"] for r in rows}


async def _naive_rising(conn, lo: datetime, hi: datetime, start: date, **_) -> dict:
    rows = await conn.fetch(
        f"SELECT topic_code, ({_day('accepted_at')} - $3::date) / 7 AS block, COUNT(*) AS n FROM consultation "
        "WHERE accepted_at >= $1 AND accepted_at < $2 AND COALESCE(topic_code, '') <> '' GROUP BY 1, 2", lo, hi, start)
    weekly: dict[str, list[int]] = {}
    for r in rows:
        weekly.setdefault(r["topic_code"], [0] * 9)[r["block"]] += r["n"]
    return {t: (v[-1], round(sum(v[:-1]) / 8, 3)) for t, v in weekly.items()}


_CASE_WHERE = "c.accepted_at >= $1 AND c.accepted_at < $2"


async def _case_measures(conn, lo: datetime, hi: datetime, key: str, *, repeats: bool) -> dict:
    """Per ``key`` (a column of the case): the measures friction and departments show,
    each on the day of its own event, straight from the raw tables."""
    acc: dict = {}

    def add(rows, *names):
        for r in rows:
            slot = acc.setdefault(r["k"], {})
            for n in names:
                slot[n] = slot.get(n, 0) + (r[n] or 0)

    rep = ("SUM(CASE WHEN EXISTS (SELECT 1 FROM consultation p WHERE p.enterprise_id = c.enterprise_id "
           "AND p.accepted_at <= c.accepted_at AND p.accepted_at >= c.accepted_at - INTERVAL '30 days' "
           "AND p.id <> c.id AND (CASE WHEN c.service_item_id IS NOT NULL THEN p.service_item_id = c.service_item_id "
           "ELSE p.service_item_id IS NULL AND p.topic_code = c.topic_code END)) THEN 1 ELSE 0 END) AS repeats"
           if repeats else "0 AS repeats")
    add(await conn.fetch(f"SELECT {key} AS k, COUNT(*) AS cases, {rep} FROM consultation c WHERE {_CASE_WHERE} "
                         "GROUP BY 1", lo, hi), "cases", "repeats")
    add(await conn.fetch(f"SELECT {key} AS k, COUNT(*) AS answered, "
                         "SUM(CASE WHEN first_answered_at <= due_at THEN 1 ELSE 0 END) AS answered_on_time "
                         "FROM consultation c WHERE first_answered_at >= $1 AND first_answered_at < $2 GROUP BY 1",
                         lo, hi), "answered", "answered_on_time")
    add(await conn.fetch(f"SELECT {key} AS k, COUNT(*) AS close_count, "
                         "SUM(GREATEST(0, EXTRACT(EPOCH FROM closed_at - accepted_at)::bigint))::bigint AS close_seconds "
                         "FROM consultation c WHERE closed_at >= $1 AND closed_at < $2 GROUP BY 1", lo, hi),
        "close_count", "close_seconds")
    add(await conn.fetch(f"SELECT {key} AS k, COUNT(*) AS overdue FROM consultation c "
                         "WHERE overdue AND due_at >= $1 AND due_at < $2 GROUP BY 1", lo, hi), "overdue")
    add(await conn.fetch(f"SELECT {key} AS k, " + ", ".join(
        f"SUM(CASE WHEN r.score = {n} THEN 1 ELSE 0 END) AS rating_{n}" for n in range(1, 6)) +
        " FROM consultation_rating r JOIN consultation c ON c.id = r.consultation_id "
        "WHERE r.created_at >= $1 AND r.created_at < $2 GROUP BY 1", lo, hi), *(f"rating_{n}" for n in range(1, 6)))
    add(await conn.fetch(f"SELECT {key} AS k, COUNT(*) AS rectifications_opened FROM rectification x "
                         "JOIN consultation c ON c.id = x.consultation_id "
                         "WHERE x.created_at >= $1 AND x.created_at < $2 GROUP BY 1", lo, hi), "rectifications_opened")
    add(await conn.fetch(f"SELECT {key} AS k, COUNT(*) AS rectifications_closed FROM rectification x "
                         "JOIN consultation c ON c.id = x.consultation_id WHERE x.status = 'closed' "
                         "AND x.closed_at >= $1 AND x.closed_at < $2 GROUP BY 1", lo, hi), "rectifications_closed")
    add(await conn.fetch(f"SELECT {key} AS k, COUNT(*) AS callbacks_due FROM callback_task b "
                         "JOIN consultation c ON c.id = b.consultation_id "
                         "WHERE b.due_at >= $1 AND b.due_at < $2 GROUP BY 1", lo, hi), "callbacks_due")
    add(await conn.fetch(f"SELECT {key} AS k, COUNT(*) AS callbacks_done FROM callback_task b "
                         "JOIN consultation c ON c.id = b.consultation_id WHERE b.status = 'done' "
                         "AND b.done_at >= $1 AND b.done_at < $2 GROUP BY 1", lo, hi), "callbacks_done")
    return acc


async def _naive_friction(conn, lo: datetime, hi: datetime, **_) -> dict:
    from services.insights import analysis as A

    per_item = await _case_measures(conn, lo, hi, "c.service_item_id", repeats=True)
    elements: dict = {}
    for r in await conn.fetch(
            "SELECT service_item_id, element, COUNT(*) AS n FROM consultation c "
            f"WHERE {_CASE_WHERE} AND kind = 'complaint' AND element IS NOT NULL AND element <> '' GROUP BY 1, 2",
            lo, hi):
        elements.setdefault(r["service_item_id"], {})[r["element"]] = r["n"]
    for r in await conn.fetch(
            "SELECT c.service_item_id, c.element, COUNT(*) AS n FROM consultation_rating r "
            "JOIN consultation c ON c.id = r.consultation_id WHERE r.created_at >= $1 AND r.created_at < $2 "
            "AND r.score <= 2 AND c.element IS NOT NULL AND c.element <> '' GROUP BY 1, 2", lo, hi):
        slot = elements.setdefault(r["service_item_id"], {})
        slot[r["element"]] = slot.get(r["element"], 0) + r["n"]
    audience = await conn.fetchval("SELECT COUNT(*) FROM enterprise")
    stats = [A.ItemStats(item_id=i, cases=m.get("cases", 0), repeats=m.get("repeats", 0), overdue=m.get("overdue", 0),
                         close_seconds=m.get("close_seconds", 0), close_count=m.get("close_count", 0),
                         rated=sum(m.get(f"rating_{n}", 0) for n in range(1, 6)),
                         poor=m.get("rating_1", 0) + m.get("rating_2", 0), element_complaints=elements.get(i, {}),
                         audience=audience) for i, m in per_item.items() if i]
    return {r["service_item_id"]: _friction_figures(r) for r in A.friction_index(stats)}


def _friction_figures(r: dict) -> tuple:
    return (r["score"], r["cases"], r["repeat_share"], r["overdue_share"], r["close_hours"], r["poor_share"],
            r["rated"], r["element_complaints_per_100"], tuple((e["element"], e["count"]) for e in r["elements"]))


async def _naive_departments(conn, lo: datetime, hi: datetime, **_) -> dict:
    from services.insights import analysis as A

    per_dept = await _case_measures(conn, lo, hi, "c.department_id", repeats=False)
    return {d: A.department_performance(m) for d, m in per_dept.items() if d}


_REACH = ("matched", "delivered", "read", "consented", "followups")


async def _naive_policy_reach(conn, lo: datetime, hi: datetime, **_) -> dict:
    """Funnel by size class (and the total) from the inbox, deliveries, consents and cases."""
    to_ent = ("JOIN notification_campaign k ON k.id = {t}.campaign_id AND k.kind = 'policy' "
              "JOIN policy p ON p.id = k.source_id JOIN app_user u ON u.id = {t}.user_id "
              "JOIN enterprise e ON e.id = u.enterprise_id")
    queries = {
        "matched": f"SELECT e.size_class AS k, COUNT(*) AS n FROM inbox_message i {to_ent.format(t='i')} "
                   "WHERE i.created_at >= $1 AND i.created_at < $2 GROUP BY 1",
        "delivered": "SELECT e.size_class AS k, COUNT(*) AS n FROM (SELECT campaign_id, user_id FROM "
                     "notification_delivery WHERE status = 'delivered' AND sent_at >= $1 AND sent_at < $2 "
                     f"GROUP BY 1, 2) s {to_ent.format(t='s')} GROUP BY 1",
        "read": f"SELECT e.size_class AS k, COUNT(*) AS n FROM inbox_message i {to_ent.format(t='i')} "
                "WHERE i.read_at >= $1 AND i.read_at < $2 GROUP BY 1",
        "consented": "SELECT e.size_class AS k, COUNT(*) AS n FROM policy_consent pc JOIN enterprise e "
                     "ON e.id = pc.enterprise_id WHERE pc.consented_at >= $1 AND pc.consented_at < $2 GROUP BY 1",
        "followups": "SELECT e.size_class AS k, COUNT(*) AS n FROM consultation c JOIN enterprise e "
                     "ON e.id = c.enterprise_id WHERE c.policy_series_id IS NOT NULL AND c.accepted_at >= $1 "
                     "AND c.accepted_at < $2 GROUP BY 1",
    }
    out: dict = {}
    for measure, sql in queries.items():
        for r in await conn.fetch(sql, lo, hi):
            out.setdefault(r["k"], dict.fromkeys(_REACH, 0))[measure] = r["n"]
    out["_total"] = {m: sum(v[m] for v in out.values()) for m in _REACH}
    return out


async def _naive_bundles(conn, lo: datetime, hi: datetime, window_days: int = 30, **_) -> dict:
    """Cross-department pairs of items the same enterprise needed within the window (in
    local days, as the view counts), by a self-join of the raw cases: pair → enterprises."""
    rows = await conn.fetch(f"""
        WITH ev AS (SELECT DISTINCT c.enterprise_id, c.service_item_id, {_day('c.accepted_at')} AS day,
                           s.department_id
                    FROM consultation c JOIN service_item s ON s.id = c.service_item_id
                    WHERE c.accepted_at >= $1 AND c.accepted_at < $2 AND c.merged_into_id IS NULL)
        SELECT a.service_item_id AS i, b.service_item_id AS j, COUNT(DISTINCT a.enterprise_id) AS n
        FROM ev a JOIN ev b ON b.enterprise_id = a.enterprise_id AND a.service_item_id < b.service_item_id
             AND a.department_id <> b.department_id AND abs(b.day - a.day) <= {int(window_days)}
        GROUP BY 1, 2""", lo, hi)
    return {(r["i"], r["j"]): r["n"] for r in rows}


# ---------------------------------------------------------------- the API's figures, comparable

def _api_trends(body: dict, naive: dict) -> bool:
    """Every topic series week by week, and the weekly total (small topics may be folded
    into "其他", which is checked through the total)."""
    weeks = [w if isinstance(w, str) else w.isoformat() for w in body["weeks"]]
    for s in body["series"]:
        if s["topic_code"] or s["key"] == "":
            code = s["topic_code"]
            if [naive.get((w, code), 0) for w in weeks] != s["cases"]:
                return False
    weekly: dict[str, int] = {}
    for (w, _), n in naive.items():
        weekly[w] = weekly.get(w, 0) + n
    return [weekly.get(w, 0) for w in weeks] == body["total"]


def _api_rising(body: dict, naive: dict) -> bool:
    return _same({t["topic_code"]: (t["this_week"], t["baseline_mean"]) for t in body["topics"]}, naive)


def _api_friction(body: dict, naive: dict) -> bool:
    return _same({i["service_item_id"]: _friction_figures(i) for i in body["items"]}, naive)


def _api_departments(body: dict, naive: dict) -> bool:
    keys = [k for k in body["departments"][0] if k not in ("department_id", "code", "label")] if body["departments"] else []
    return _same({d["department_id"]: {k: d[k] for k in keys} for d in body["departments"]},
                 {d: {k: v[k] for k in keys} for d, v in naive.items()})


def _same(api: dict, naive: dict) -> bool:
    """Equal, or the first differences on stderr (a mismatch should be explainable)."""
    if api == naive:
        return True
    diff = [(k, api.get(k), naive.get(k)) for k in sorted(set(api) | set(naive), key=str) if api.get(k) != naive.get(k)]
    for k, a, n in diff[:5]:
        print(f"  differs at {k}: api {a} / plain {n}", file=sys.stderr)
    return False


def _api_policy_reach(body: dict, naive: dict) -> bool:
    api = {r["key"]: {m: r[m] for m in _REACH} for r in body["by_size_class"]}
    api["_total"] = {m: body["total"][m] for m in _REACH}
    naive = {k: v for k, v in naive.items() if k == "_total" or any(v.values())}
    api = {k: v for k, v in api.items() if k == "_total" or any(v.values())}
    return _same(api, naive)


def _api_bundles(body: dict, naive: dict) -> bool:
    """Each pair the API ranks carries the enterprises the self-join counts (triples
    have no plain counterpart here and are not compared)."""
    pairs = [b for b in body["bundles"] if b["size"] == 2]
    return _same({tuple(b["items"]): b["enterprises"] for b in pairs},
                 {tuple(b["items"]): naive.get(tuple(b["items"])) for b in pairs})


# ---------------------------------------------------------------- timing

@dataclass
class View:
    name: str
    path: str
    period: str  # "year": the whole generated year; "default": as the console opens it
    naive: object | None = None
    compare: object | None = None
    naive_runs: int = 5


VIEWS = (
    View("trends", "/api/v1/insights/trends", "year", _naive_trends, _api_trends),
    View("rising", "/api/v1/insights/rising-topics", "default", _naive_rising, _api_rising),
    View("emerging", "/api/v1/insights/emerging-topics", "default"),
    View("friction", "/api/v1/insights/friction", "year", _naive_friction, _api_friction, 3),
    View("departments", "/api/v1/insights/departments", "year", _naive_departments, _api_departments),
    View("policy_reach", "/api/v1/insights/policy-reach", "year", _naive_policy_reach, _api_policy_reach),
    View("bundles", "/api/v1/insights/bundles", "default", _naive_bundles, _api_bundles, 3),
)


def _time_api(url: str, headers: dict, calls: int, budget_s: float) -> tuple[list[float], dict]:
    """The first call (cold) and then up to ``calls`` more, stopping early — after at
    least 10 — when the view has used ``budget_s`` seconds."""
    times, body = [], None
    started = time.perf_counter()
    while len(times) < calls + 1:
        t = time.perf_counter()
        resp = requests.get(url, headers=headers, timeout=120)
        times.append((time.perf_counter() - t) * 1000)
        resp.raise_for_status()
        body = resp.json()
        if len(times) > 10 and time.perf_counter() - started > budget_s:
            break
    return times, body


def _time_uncached(url: str, headers: dict, calls: int = 10, budget_s: float = 20) -> list[float]:
    """Calls to the server with ``INSIGHTS_CACHE=off``: every one computes the view
    afresh. At most ``calls``, stopping after ``budget_s`` seconds (at least 3 calls)."""
    times = []
    started = time.perf_counter()
    while len(times) < calls:
        t = time.perf_counter()
        resp = requests.get(url, headers=headers, timeout=120)
        times.append((time.perf_counter() - t) * 1000)
        resp.raise_for_status()
        if len(times) >= 3 and time.perf_counter() - started > budget_s:
            break
    return times


async def _time_naive(url: str, view: View, lo: datetime, hi: datetime, **kw) -> tuple[float, dict]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    times, figures = [], None
    try:
        for _ in range(view.naive_runs):
            t = time.perf_counter()
            figures = await view.naive(conn, lo, hi, **kw)
            times.append((time.perf_counter() - t) * 1000)
    finally:
        await conn.close()
    return statistics.median(times), figures


def _filtered(view: View, query: str, filters: dict[str, str], uncached: tuple[str, dict]) -> dict:
    """The view's uncached calls (``INSIGHTS_CACHE=off``) under each filter of ``filters``
    (name → query string), as a staff member narrowing the chart would make them."""
    out = {}
    for name, extra in filters.items():
        url = uncached[0] + view.path + query + ("&" if query else "?") + extra
        plain = sorted(_time_uncached(url, uncached[1], calls=10, budget_s=15))
        out[name] = {"calls": len(plain), "uncached_p50_ms": round(statistics.median(plain), 1),
                     "uncached_p95_ms": round(plain[int(0.95 * (len(plain) - 1))], 1)}
    return out


def _measure(view: View, base: str, headers: dict, db_url: str, since: date, until: date, calls: int,
             uncached: tuple[str, dict], filters: dict[str, str] | None = None) -> dict:
    from services.insights.rollup import bounds
    from services.insights.views import RAW_DAYS, rising_windows

    if view.period == "year":
        query, first = f"?since={since}&until={until}", since
    else:  # the console's own opening: the server picks the period
        query = ""
        first = until - timedelta(days=(RAW_DAYS if view.name in ("emerging", "bundles") else 84) - 1)
    times, body = _time_api(base + view.path + query, headers, calls, budget_s=20)
    cold, warm = times[0], sorted(times[1:])
    out = {"period": f"{first}..{until}", "calls": len(times), "cold_ms": round(cold, 1),
           "p50_ms": round(statistics.median(warm), 2), "p95_ms": round(warm[int(0.95 * (len(warm) - 1))], 2)}
    plain = sorted(_time_uncached(uncached[0] + view.path + query, uncached[1]))
    out.update(uncached_calls=len(plain), uncached_p50_ms=round(statistics.median(plain), 1),
               uncached_p95_ms=round(plain[int(0.95 * (len(plain) - 1))], 1))
    if filters:
        out["filtered"] = _filtered(view, query, filters, uncached)
    if view.naive is None:
        out.update(naive_ms=None, speedup=None, same_figures=None)
        return out
    start = first
    if view.name == "rising":
        start = rising_windows(until)[0][0]
    lo, hi = bounds(start, until)
    naive_ms, figures = asyncio.run(_time_naive(db_url, view, lo, hi, start=start))
    out.update(naive_ms=round(naive_ms, 1), speedup=round(naive_ms / out["p95_ms"], 1) if out["p95_ms"] else None,
               same_figures=view.compare(body, figures))
    return out


async def _filters(url: str) -> dict[str, str]:
    """The filters the filtered timings use: the department with the most cases, the
    county with the most enterprises, and both with the largest size class."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        dept = await conn.fetchval("""
            SELECT d.code FROM consultation c JOIN department d ON d.id = c.department_id
            GROUP BY d.code ORDER BY COUNT(*) DESC LIMIT 1""")
        region = await conn.fetchval("""
            SELECT region_code FROM enterprise WHERE credit_code LIKE 'Y%'
            GROUP BY region_code ORDER BY COUNT(*) DESC LIMIT 1""")
    finally:
        await conn.close()
    return {"department": f"department={dept}", "region": f"region_code={region}",
            "region_micro": f"region_code={region}&size_class=micro"}


async def _generated(url: str) -> tuple[date, date, int]:
    """The period and size of a database generated by an earlier run (``--reuse``)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        row = await conn.fetchrow("SELECT MIN(accepted_at) AS lo, COUNT(*) AS n FROM consultation")
    finally:
        await conn.close()
    if not row["n"]:
        raise SystemExit("该数据库没有咨询数据，无法复用")
    until = datetime.now(TZ).date()
    # the year the timings read (as generated: weekend cases moved back may start before it)
    return max(row["lo"].astimezone(TZ).date(), until - timedelta(days=364)), until, row["n"]


def run(consultations: int = 1_000_000, calls: int = 60, *, keep: bool = False, reuse: str | None = None) -> dict:
    console = Console(stderr=True)
    rng = random.Random(2025)
    # No scheduler in the servers: the bench rolls up itself, and a scheduled re-roll (which
    # also warms the default views) during the timings would move the caches under them.
    quiet = {"RUN_BACKGROUND": "false"}
    with pg_database(keep=keep, reuse=reuse) as url, \
            server(url, seed=not reuse, extra_env=quiet) as (base, proc):
        rss = RssSampler(proc.pid)
        rss.start()
        headers = _login(base)
        t = time.perf_counter()
        if reuse:
            since, until, consultations = asyncio.run(_generated(url))
        else:
            since, until = asyncio.run(_generate(url, consultations, rng, console))
        generate_s = time.perf_counter() - t
        console.print(f"数据{'读取' if reuse else '生成'} {generate_s:.1f}s")
        with console.status("汇总全年…"):
            rollup_s, day_s, fact_rows, precompute_ms = asyncio.run(_rollups(url, since, until))
        precompute_s = sum(precompute_ms.values()) / 1000
        console.print(f"全年汇总 {rollup_s:.1f}s（{fact_rows:,} 行事实），单日重算 {day_s:.2f}s，"
                      f"预计算 {precompute_s:.1f}s")
        views = {}
        # the same database through a second server that keeps no results (INSIGHTS_CACHE=off)
        filters = asyncio.run(_filters(url))
        with server(url, seed=False, extra_env={**quiet, "INSIGHTS_CACHE": "off"}) as (plain_base, _):
            uncached = (plain_base, _login(plain_base))
            for view in VIEWS:
                with console.status(f"计时 {view.name}…"):
                    views[view.name] = _measure(view, base, headers, url, since, until, calls, uncached, filters)
                console.print(f"{view.name}: {views[view.name]}")
        rss_mb = rss.stop()
    worst = max(views, key=lambda v: views[v]["p95_ms"])
    worst_uncached = max(views, key=lambda v: views[v]["uncached_p95_ms"])
    filtered = [(f["uncached_p95_ms"], f"{v}?{name}") for v, fv in views.items()
                for name, f in fv.get("filtered", {}).items()]
    worst_filtered = max(filtered) if filtered else (None, None)
    compared = {v: f for v, f in views.items() if f["speedup"] is not None}
    slowest = min(compared, key=lambda v: compared[v]["speedup"])
    same = all(f["same_figures"] for f in compared.values())
    p95, speedup = views[worst]["p95_ms"], compared[slowest]["speedup"]
    result = {"bench": "insights", "database": "postgresql", "reused": bool(reuse), "consultations": consultations, "fact_rows": fact_rows,
              "generate_seconds": round(generate_s, 1), "rollup_seconds": round(rollup_s, 2),
              "day_rollup_seconds": round(day_s, 3), "precompute_seconds": round(precompute_s, 2),
              "precompute_ms": precompute_ms, "dashboard_p95_ms": p95, "dashboard_p95_view": worst,
              "dashboard_cold_ms": max(f["cold_ms"] for f in views.values()),
              "worst_uncached_p95_ms": views[worst_uncached]["uncached_p95_ms"],
              "worst_uncached_view": worst_uncached, "worst_filtered_uncached_p95_ms": worst_filtered[0],
              "worst_filtered_uncached_view": worst_filtered[1], "filters": filters,
              "naive_ms": compared[slowest]["naive_ms"], "speedup": speedup, "speedup_view": slowest,
              "same_figures": same, "rss_mb": rss_mb, "rss_with_children_mb": rss.tree_peak_mb, "views": views, "targets": TARGETS}
    result["pass"] = (same and p95 <= TARGETS["dashboard_p95_ms_max"] and speedup >= TARGETS["speedup_min"]
                      and day_s <= TARGETS["day_rollup_seconds_max"] and rss_mb <= TARGETS["rss_mb_max"])
    print(json.dumps(result, ensure_ascii=False))
    return result


def _login(base: str) -> dict:
    login = requests.post(base + "/api/v1/auth/staff-login", json={"username": "policy", "password": _password()},
                          timeout=10)
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _password() -> str:
    from services.seed import DEMO_PASSWORD

    return DEMO_PASSWORD


if __name__ == "__main__":  # pragma: no cover
    subprocess.run([sys.executable, "-m", "bench", "insights"], cwd=ROOT, env=os.environ, check=False)
