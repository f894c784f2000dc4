"""``python -m bench feed``: the per-enterprise policy feed vs the hello route of the same server.

Each request comes from a different enterprise (wrk cycles through thousands of session
tokens), so the feed cannot be served from one cached answer: every request resolves
its session, checks its enterprise's profile version in Redis and matches the profile
against every published policy. The profile itself comes from the database on the
enterprise's first request in the process (and after every change of it): with 3000
enterprises and a short warm-up, a good part of the measured requests are such firsts.

Target (issue: policy library and precision push): ratio ≥ 0.25 and p99 ≤ 50 ms at 64
connections, on PostgreSQL + Redis. Besides rps and latency the JSON gives the server
process's CPU time per request of each route: on a shared, noisy machine that is the
steadier figure, and it says where a feed request's time goes compared with hello.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from bench.common import REDIS_URL, WrkResult, pg_database, server, wrk

TARGETS = {"ratio_min": 0.25, "p99_ms_max": 50.0}
REGIONS = ["440303", "440304", "440305", "440306", "440307", "440309", "440310", "440311", "440106", "110105"]
TAGS = ["high_tech", "tech_sme", "specialized", "foreign_trade"]


def _enterprises(count: int, rng: random.Random) -> list[tuple]:
    """Plausible profiles: a real division with its size group, mostly small and micro,
    mostly in 深圳, with some figures left blank as real owners leave them."""
    from services.enterprises import sizing

    divisions = sizing.list_divisions()
    today = date.today()
    rows = []
    for n in range(count):
        d = rng.choice(divisions)
        size = rng.choices(["micro", "small", "medium", "large"], weights=[55, 30, 12, 3])[0]
        employees = None if rng.random() < 0.1 else rng.randint(1, 600)
        revenue = None if rng.random() < 0.15 else round(rng.uniform(5, 30000), 2)
        founded = None if rng.random() < 0.1 else today - timedelta(days=rng.randint(30, 30 * 365))
        rows.append((f"B{n:017d}", f"基准测试企业{n}", d.code, d.group_code, rng.choice(REGIONS), employees,
                     revenue, founded, size))
    return rows


async def _populate(database_url: str, prefix: str, count: int) -> list[str]:
    """Enterprises and their owners straight into PostgreSQL (COPY), sessions into Redis
    through the same module the login uses; returns one session token per enterprise."""
    import asyncpg
    from redis.asyncio import Redis

    from models.redis_keys import Keys
    from server.settings import Settings
    from services.auth import sessions
    from services.auth.roles import Role
    from services.runtime import Runtime

    rng = random.Random(20251)
    rows = _enterprises(count, rng)
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.copy_records_to_table(
            "enterprise", columns=["credit_code", "name", "industry_code", "industry_group", "region_code",
                                   "employees", "revenue", "founded_on", "size_class", "contact_phone_enc",
                                   "size_rule_version", "size_inputs", "size_basis", "created_at", "updated_at"],
            records=[(*r[:6], None if r[6] is None else Decimal(str(r[6])), r[7], r[8], "",
                      "bench", "{}", "", _now(), _now()) for r in rows])
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM enterprise WHERE credit_code LIKE 'B%' ORDER BY id")]
        await conn.copy_records_to_table(
            "app_user", columns=["kind", "openid", "role", "display_name", "failed_logins", "is_active", "created_at",
                                 "enterprise_id"],
            records=[("wechat", f"bench-{eid}", "enterprise_owner", "基准用户", 0, True, _now(), eid) for eid in ids])
        await conn.copy_records_to_table(
            "enterprise_tag", columns=["enterprise_id", "tag", "created_at"],
            records=[(eid, rng.choice(TAGS), _now()) for eid in ids if rng.random() < 0.2])
        users = await conn.fetch("SELECT id, enterprise_id FROM app_user WHERE openid LIKE 'bench-%' ORDER BY id")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    redis = Redis.from_url(REDIS_URL)
    rt = Runtime(settings=Settings(), redis=redis, keys=Keys(prefix), cipher=None)
    try:
        return [await sessions.create(rt, user_id=u["id"], role=Role.ENTERPRISE_OWNER, enterprise_id=u["enterprise_id"])
                for u in users]
    finally:
        await redis.aclose()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _lua(tokens: list[str], directory: Path) -> Path:
    """A wrk script that sends each request with the next enterprise's token."""
    path = directory / "feed.lua"
    listed = ",\n".join(f'  "{t}"' for t in tokens)
    path.write_text(
        f"local tokens = {{\n{listed}\n}}\n"
        "local n = #tokens\n"
        "local i = 0\n"
        "setup = function(thread) thread:set('offset', math.random(n)) end\n"
        "init = function(args) i = tonumber(offset) or 0 end\n"
        "request = function()\n"
        "  i = i % n + 1\n"
        "  return wrk.format('GET', nil, {['Authorization'] = 'Bearer ' .. tokens[i]})\n"
        "end\n", encoding="utf-8")
    return path


def _measured(proc: psutil.Process, url: str, **kwargs) -> tuple[WrkResult, float]:
    """A wrk run and the server's CPU microseconds per request during it."""
    before = sum(proc.cpu_times()[:2])
    result = wrk(url, **kwargs)
    used = sum(proc.cpu_times()[:2]) - before
    return result, round(used / max(result.requests, 1) * 1e6, 1)


def run(seconds: int = 10, connections: int = 64, enterprises: int = 3000) -> dict:
    console = Console(stderr=True)
    prefix = f"szbench:{uuid.uuid4().hex[:6]}"
    with pg_database() as url, server(url, extra_env={"REDIS_PREFIX": prefix}) as (base, proc), \
            tempfile.TemporaryDirectory() as tmp:
        server_proc = psutil.Process(proc.pid)
        with console.status(f"写入 {enterprises} 家企业及其登录会话…"):
            tokens = asyncio.run(_populate(url, prefix, enterprises))
        script = str(_lua(tokens, Path(tmp)))
        feed_url = f"{base}/api/v1/policies/recommended"
        with console.status("预热…"):
            wrk(feed_url, connections=8, seconds=2, script=script)
            wrk(f"{base}/api/v1/hello", connections=8, seconds=2)
        with console.status(f"wrk：政策推荐 {seconds}s × {connections} 连接"):
            feed, feed_cpu = _measured(server_proc, feed_url, connections=connections, seconds=seconds,
                                       script=script)
        with console.status(f"wrk：hello 参照 {seconds}s × {connections} 连接"):
            hello, hello_cpu = _measured(server_proc, f"{base}/api/v1/hello", connections=connections,
                                         seconds=seconds)
    ratio = feed.rps / hello.rps if hello.rps else 0.0
    result = {"bench": "feed", "database": "postgresql", "redis": "redis", "connections": connections,
              "seconds": seconds, "enterprises": enterprises,
              "feed": {**feed.as_dict(), "server_cpu_us_per_request": feed_cpu},
              "hello": {**hello.as_dict(), "server_cpu_us_per_request": hello_cpu},
              "ratio": round(ratio, 3), "targets": TARGETS,
              "pass": ratio >= TARGETS["ratio_min"] and feed.p99_ms <= TARGETS["p99_ms_max"] and feed.errors == 0}
    table = Table(title=f"GET /api/v1/policies/recommended（{enterprises} 家企业轮流）vs /api/v1/hello")
    for col in ("route", "rps", "p50 ms", "p99 ms", "errors", "server CPU µs/req"):
        table.add_column(col)
    for name, r, cpu in (("feed", feed, feed_cpu), ("hello", hello, hello_cpu)):
        table.add_row(name, f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.errors), f"{cpu:.0f}")
    console.print(table)
    console.print(f"ratio {ratio:.3f} (≥ {TARGETS['ratio_min']}), p99 {feed.p99_ms:.2f} ms (≤ {TARGETS['p99_ms_max']})")
    print(json.dumps(result, ensure_ascii=False))
    return result
