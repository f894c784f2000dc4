"""``python -m bench insights --consultations 1000000``: a year of demand on PostgreSQL,
the rollup over it, and a dashboard read through the API against a plain GROUP BY.

1. Generates (COPY) enterprises and a year of cases with skewed, plausible mixes of
   topics, items, departments, channels and kinds, answers, closings, ratings,
   rectifications and call-backs. As on a system that has run for that year, the
   supervision ladder's steps of past deadlines are stamped and answers left unanswered
   by the enterprise are closed, so the server's periodic sweep has no year of backlog
   to chase while the dashboard is timed.
2. ``rollup_seconds``: the rollup of the whole year (one statement per fact table);
   ``day_rollup_seconds``: re-running one day.
3. ``dashboard_p50_ms`` / ``dashboard_p95_ms``: ``GET /api/v1/insights/trends`` (weekly
   cases by topic over the year) through a real server process, repeated; the first,
   uncached call is reported as ``dashboard_cold_ms``. ``naive_ms``: the median of the
   same figures by a plain GROUP BY over the raw table, same run; the API's figures are
   checked equal to it per week. ``speedup`` = naive_ms / dashboard_p95_ms.
4. ``rss_mb``: the server's peak RSS over the whole run (RssSampler), the staff login
   (argon2 hashes with 64 MiB of scratch) included.

Targets: dashboard p95 ≤ 100 ms, speedup ≥ 10, day rollup ≤ 2 s, RSS ≤ 300 MB.
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
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from rich.console import Console

from bench.common import ROOT, RssSampler, pg_database, server

TZ = ZoneInfo("Asia/Shanghai")
TARGETS = {"dashboard_p95_ms_max": 100.0, "speedup_min": 10.0, "day_rollup_seconds_max": 2.0, "rss_mb_max": 300.0}
REGIONS = ["440303", "440304", "440305", "440306", "440307", "440309", "440310", "440311"]
GROUPS = ["I", "C", "F", "M", "L", "E", "H", "K"]


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
                                 rng.choices(["consultation", "suggestion", "complaint"], [85, 10, 5])[0], "基准咨询内容", "",
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
        await conn.execute("VACUUM ANALYZE")
        return start.date(), now.date()
    finally:
        await conn.close()


async def _rollups(url: str, since: date, until: date) -> tuple[float, float, int]:
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

        await connections.get("default").execute_script("ANALYZE insight_case_fact, insight_case_week")
        return whole, one, year["case_rows"]
    finally:
        await db.close_db()


async def _naive(url: str, since: date, until: date, repeat: int) -> tuple[float, dict]:
    """The same figures straight from the raw table."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    lo = datetime.combine(since, datetime.min.time(), TZ)
    hi = datetime.combine(until + timedelta(days=1), datetime.min.time(), TZ)
    sql = ("SELECT date_trunc('week', accepted_at AT TIME ZONE 'Asia/Shanghai')::date AS week, topic_code, "
           "COUNT(*) AS n FROM consultation WHERE accepted_at >= $1 AND accepted_at < $2 GROUP BY 1, 2")
    times = []
    try:
        for _ in range(repeat):
            t = time.perf_counter()
            rows = await conn.fetch(sql, lo, hi)
            times.append((time.perf_counter() - t) * 1000)
    finally:
        await conn.close()
    return statistics.median(times), {(r["week"].isoformat(), r["topic_code"]): r["n"] for r in rows}


def run(consultations: int = 1_000_000, calls: int = 60) -> dict:
    console = Console(stderr=True)
    rng = random.Random(2025)
    with pg_database() as url, server(url) as (base, proc):
        rss = RssSampler(proc.pid)
        rss.start()
        login = requests.post(base + "/api/v1/auth/staff-login", json={"username": "policy", "password": _password()},
                              timeout=10)
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        t = time.perf_counter()
        since, until = asyncio.run(_generate(url, consultations, rng, console))
        generate_s = time.perf_counter() - t
        console.print(f"数据生成 {generate_s:.1f}s")
        with console.status("汇总全年…"):
            rollup_s, day_s, fact_rows = asyncio.run(_rollups(url, since, until))
        console.print(f"全年汇总 {rollup_s:.1f}s（{fact_rows:,} 行事实），单日重算 {day_s:.2f}s")
        url_trends = f"{base}/api/v1/insights/trends?since={since}&until={until}"
        times = []
        body = None
        for _ in range(calls):
            t = time.perf_counter()
            resp = requests.get(url_trends, headers=headers, timeout=30)
            times.append((time.perf_counter() - t) * 1000)
            resp.raise_for_status()
            body = resp.json()
        cold, warm = times[0], sorted(times[1:])
        p50, p95 = statistics.median(warm), warm[int(0.95 * (len(warm) - 1))]
        naive_ms, naive = asyncio.run(_naive(url, since, until, 5))
        # per week, summed over the series (the dashboard may fold small topics into "其他")
        api: dict[str, int] = {}
        for s in body["series"]:
            for w, n in zip(body["weeks"], s["cases"]):
                api[w] = api.get(w, 0) + n
        weekly: dict[str, int] = {}
        for (w, _), n in naive.items():
            weekly[w] = weekly.get(w, 0) + n
        same = {w: n for w, n in api.items() if n} == weekly
        rss_mb = rss.stop()
    speedup = naive_ms / p95 if p95 else 0.0
    result = {"bench": "insights", "database": "postgresql", "consultations": consultations, "fact_rows": fact_rows,
              "generate_seconds": round(generate_s, 1), "rollup_seconds": round(rollup_s, 2),
              "day_rollup_seconds": round(day_s, 3), "dashboard_cold_ms": round(cold, 1),
              "dashboard_p50_ms": round(p50, 2), "dashboard_p95_ms": round(p95, 2), "naive_ms": round(naive_ms, 1),
              "speedup": round(speedup, 1), "same_figures": same, "rss_mb": rss_mb, "targets": TARGETS}
    result["pass"] = (same and p95 <= TARGETS["dashboard_p95_ms_max"] and speedup >= TARGETS["speedup_min"]
                      and day_s <= TARGETS["day_rollup_seconds_max"] and rss_mb <= TARGETS["rss_mb_max"])
    print(json.dumps(result, ensure_ascii=False))
    return result


def _password() -> str:
    from services.seed import DEMO_PASSWORD

    return DEMO_PASSWORD


if __name__ == "__main__":  # pragma: no cover
    subprocess.run([sys.executable, "-m", "bench", "insights"], cwd=ROOT, env=os.environ, check=False)
