"""``python -m bench push``: a policy push to N enterprises, end to end, vs the bare ceiling.

One run, PostgreSQL + Redis + processes:

1. seed N enterprises, each with an owner who allowed one subscribe message and chose no
   quiet hours (set-based SQL);
2. ``create_campaign`` matching all of them (timed: ``match_seconds``) and ``kick``;
3. two ``python -m server worker`` processes deliver through a WeChat sandbox process;
4. the ceiling: a bare aiohttp client posts N messages to the same sandbox endpoint,
   as fast as it takes them, with the workers' total concurrency — once before and once
   after the push, averaged (the machine is shared and its load drifts).

Targets: lost 0, match ≤ 1 s, ratio (workers ÷ ceiling) ≥ 0.5, worker peak RSS ≤ 200 MB.
The last line of output is the JSON result.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid

import aiohttp
from rich.console import Console

from bench.common import REDIS_URL, ROOT, RssSampler, drop_redis_prefix, free_port, pg_database

TARGETS = {"lost_max": 0, "match_seconds_max": 1.0, "ratio_min": 0.5, "worker_rss_mb_max": 200.0}
WORKERS = 2
CONCURRENCY = 64  # per worker (DELIVERY_CONCURRENCY); the ceiling client gets WORKERS × this
TEMPLATE = "sandbox-tpl-policy"
console = Console(stderr=True)
#: CPU seconds of the bare client in each ceiling run: what sending costs without the workers' work.
CEILING_CLIENT_CPU: list[float] = []


async def _seed(conn, n: int) -> None:
    await conn.execute_script(f"""
        INSERT INTO enterprise (credit_code, name, industry_code, industry_group, region_code, employees,
                                size_class, size_rule_version, size_inputs, size_basis, contact_phone_enc,
                                created_at, updated_at)
        SELECT '9144BN' || lpad(g::text, 11, '0') || 'X', '压测企业' || g, '65', 'software', '440305',
               (g % 20) + 1, CASE WHEN g % 3 = 0 THEN 'small' ELSE 'micro' END, 'bench', '{{}}', '', '',
               now(), now()
        FROM generate_series(1, {n}) g;
        INSERT INTO app_user (kind, openid, role, display_name, enterprise_id, failed_logins, is_active, created_at)
        SELECT 'wechat', 'oBENCH' || lpad(e.id::text, 8, '0'), 'enterprise_owner', '', e.id, 0, TRUE, now()
        FROM enterprise e;
        UPDATE enterprise e SET owner_id = u.id FROM app_user u WHERE u.enterprise_id = e.id;
        INSERT INTO subscribe_credit (openid, template_id, credits, last_outcome, client_pending, event_pending,
                                      updated_at)
        SELECT openid, '{TEMPLATE}', 1, 'accept', 0, 0, now() FROM app_user WHERE openid LIKE 'oBENCH%';
        -- No quiet hours (start = end): the push goes out at once whatever the hour of the
        -- run, so the bench measures the same thing at night in Beijing as by day.
        INSERT INTO notification_preference (user_id, policy_types, departments, mode, quiet_start, quiet_end,
                                             updated_at)
        SELECT id, '', '', 'immediate', 0, 0, now() FROM app_user WHERE openid LIKE 'oBENCH%';
        ANALYZE enterprise; ANALYZE app_user; ANALYZE subscribe_credit; ANALYZE notification_preference;
    """)


def _cpu(pid: int) -> float:
    import psutil

    with contextlib.suppress(psutil.Error):
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    return 0.0


async def _wait_http(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def _ceiling(base: str, n: int, concurrency: int) -> float:
    """Bare client: the same subscribe-send request N times, no database, no queue."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=base, connector=connector) as http:
        async with http.post("/cgi-bin/stable_token", json={"grant_type": "client_credential",
                                                            "appid": "wxsandboxminiapp01",
                                                            "secret": "sandbox-secret"}) as resp:
            token = (await resp.json())["access_token"]
        counter = iter(range(n))
        errors = 0

        async def client() -> None:
            nonlocal errors
            for i in counter:
                body = {"touser": f"oCEIL{i:08d}", "template_id": TEMPLATE, "page": "pages/policy-detail/policy-detail?id=1",
                        "miniprogram_state": "formal", "lang": "zh_CN",
                        "data": {"thing1": {"value": "小微企业稳岗补贴申领开始"}, "thing2": {"value": "符合条件的企业可在线申领"},
                                 "time3": {"value": "2026年3月2日 10:00"}}}
                async with http.post("/cgi-bin/message/subscribe/send", params={"access_token": token},
                                     json=body) as resp:
                    if (await resp.json()).get("errcode"):
                        errors += 1

        t0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    CEILING_CLIENT_CPU.append(time.process_time() - cpu0)
    if errors:
        raise RuntimeError(f"ceiling run: {errors} errors")
    return n / elapsed


async def _run(n: int, database_url: str) -> dict:
    from tortoise import connections
    from tortoise.transactions import in_transaction

    from models.redis_keys import Keys
    from notifications import outbox
    from server import db
    from server.app import make_redis
    from server.settings import Settings
    from services.runtime import Runtime

    prefix = f"szbench:{uuid.uuid4().hex[:6]}"
    port = free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url + os.environ.get("BENCH_DB_OPTIONS", ""), "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix,
           "WECHAT_API_BASE": sandbox_url, "WECHAT_SEND_RATE": "1000000", "LOG_LEVEL": "WARNING",
           "DELIVERY_CONCURRENCY": str(CONCURRENCY), "DELIVERY_BATCH_SIZE": "200",
           "WECHAT_POLICY_TEMPLATE_ID": TEMPLATE, "PYTHONUNBUFFERED": "1"}
    sandbox = subprocess.Popen([sys.executable, "-m", "wechat.sandbox", "--port", str(port), "--sent-limit", "1000"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[subprocess.Popen] = []
    redis = make_redis(REDIS_URL)
    try:
        await db.migrate(database_url)
        await db.init_db(database_url)
        conn = connections.get("default")
        if os.environ.get("BENCH_PG_LOG_MS"):
            # Diagnosis: the server log gets every statement slower than this (workers' included).
            await conn.execute_script(f"ALTER DATABASE \"{database_url.rsplit('/', 1)[1]}\" SET "
                                      f"log_min_duration_statement = {int(os.environ['BENCH_PG_LOG_MS'])}")
        with console.status(f"写入 {n} 家企业、用户与订阅额度…"):
            t = time.perf_counter()
            await _seed(conn, n)
            seed_seconds = time.perf_counter() - t
        await _wait_http(sandbox_url + "/sandbox/stats")
        # The ceiling is measured before and after the push and averaged: this machine is
        # shared, and its load drifts over a minute-long run.
        with console.status(f"参照上限（推送前）：裸 aiohttp 客户端发送 {n} 条…"):
            ceiling_before = await _ceiling(sandbox_url, n, WORKERS * CONCURRENCY)
        async with aiohttp.ClientSession(base_url=sandbox_url) as http:
            await http.post("/sandbox/reset")
        settings = Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=prefix,
                            wechat_api_base=sandbox_url, run_background=False, wechat_policy_template_id=TEMPLATE)
        outbox.configure(settings)
        rt = Runtime(settings=settings, redis=redis, keys=Keys(prefix), cipher=None)

        # BENCH_WORKER_LOG=path keeps the workers' log lines (warnings and up) for a look afterwards.
        log_path = os.environ.get("BENCH_WORKER_LOG")
        worker_log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        workers = [subprocess.Popen([sys.executable, "-m", "server", "worker"], cwd=ROOT, env=env,
                                    stdout=worker_log, stderr=worker_log) for _ in range(WORKERS)]
        samplers = [RssSampler(w.pid) for w in workers]
        for s in samplers:
            s.start()
        with console.status("等待 worker 就绪…"):
            for _ in range(300):
                with contextlib.suppress(Exception):
                    if len(await redis.xinfo_consumers(rt.keys.outbox_stream(), "delivery-workers")) >= WORKERS:
                        break
                await asyncio.sleep(0.1)

        with console.status("匹配并写入推送任务…"):
            t = time.perf_counter()
            async with in_transaction():
                cid = await outbox.create_campaign(
                    kind="policy", source_id=1, title="小微企业稳岗补贴申领开始", summary="符合条件的企业可在线申领",
                    page="pages/policy-detail/policy-detail?id=1",
                    recipient_sql="SELECT u.id AS user_id FROM enterprise e JOIN app_user u ON u.enterprise_id = e.id "
                                  "WHERE e.size_class IN ('micro', 'small') AND e.region_code LIKE $1",
                    recipient_params=["4403%"], created_by=None, topic="subsidy")
            match_seconds = time.perf_counter() - t
        t0 = time.perf_counter()
        kicked = await outbox.kick(rt, cid)
        kick_seconds = time.perf_counter() - t0
        timeline: list[tuple[float, int]] = []
        status_sql = ("SELECT COUNT(*) FILTER (WHERE status IN ('queued', 'sending', 'retrying')) AS open, "
                      "COUNT(*) FILTER (WHERE status = 'delivered') AS delivered FROM notification_delivery "
                      "WHERE campaign_id = $1")
        with console.status(f"2 个 worker 推送 {kicked} 条…"):
            # Progress comes from the sandbox's send count; the database is asked only once
            # the sandbox has taken every message (or every 2 s): counting the campaign's
            # rows five times a second cost PostgreSQL CPU on the cores the workers share.
            async with aiohttp.ClientSession(base_url=sandbox_url) as http:
                asked = 0.0
                while True:
                    now = time.perf_counter() - t0
                    sent = int((await (await http.get("/sandbox/stats")).json())["sent_total"])
                    timeline.append((round(now, 1), sent))
                    if sent >= kicked or now - asked >= 2:
                        asked = now
                        [row] = await conn.execute_query_dict(status_sql, [cid])
                        if row["open"] == 0:
                            break
                    if now > 1800:
                        raise RuntimeError("deliveries did not finish within 30 minutes")
                    await asyncio.sleep(0.2)
        push_seconds = time.perf_counter() - t0
        if os.environ.get("BENCH_TIMELINE"):
            console.print(timeline[::10])
        rss = max(s.stop() for s in samplers)
        # Where the CPU went (a 2-core machine shares it between sandbox, workers and PostgreSQL).
        cpu = {"workers": round(sum(_cpu(w.pid) for w in workers), 1), "sandbox": round(_cpu(sandbox.pid), 1)}
        # The PostgreSQL backends serving the workers: all of this database's but the ones
        # this process holds (its pool may have several: the publish and the progress
        # counts ran on them), told apart by their client ports.
        import psutil

        pg_port = urllib.parse.urlsplit(database_url).port or 5432
        own_ports = [c.laddr.port for c in psutil.Process().net_connections(kind="tcp")
                     if c.raddr and c.raddr.port == pg_port]
        backends = await conn.execute_query_dict(
            "SELECT pid, client_port, backend_type FROM pg_stat_activity WHERE datname = current_database()")
        cpu["postgres_for_workers"] = round(sum(_cpu(int(b["pid"])) for b in backends
                                                if b["client_port"] not in own_ports
                                                and b["backend_type"] == "client backend"), 1)
        cpu["postgres_for_bench"] = round(sum(_cpu(int(b["pid"])) for b in backends
                                              if b["client_port"] in own_ports), 1)
        [table] = await conn.execute_query_dict(
            "SELECT seq_scan, seq_tup_read, idx_scan, n_tup_upd, n_tup_hot_upd, n_dead_tup, "
            "autovacuum_count, autoanalyze_count FROM pg_stat_user_tables WHERE relname = 'notification_delivery'")
        for w in workers:
            w.terminate()
        async with aiohttp.ClientSession(base_url=sandbox_url) as http:
            stats = await (await http.get("/sandbox/stats")).json()
            await http.post("/sandbox/reset")
        figures = await outbox.campaign_figures(cid)
        with console.status(f"参照上限（推送后）：裸 aiohttp 客户端发送 {n} 条…"):
            ceiling_after = await _ceiling(sandbox_url, n, WORKERS * CONCURRENCY)
        ceiling = (ceiling_before + ceiling_after) / 2
    finally:
        for w in workers:
            with contextlib.suppress(Exception):
                w.kill()
                w.wait(timeout=5)
        sandbox.terminate()
        with contextlib.suppress(Exception):
            sandbox.wait(timeout=10)
        with contextlib.suppress(Exception):
            await db.close_db()
        await redis.aclose()
        drop_redis_prefix(REDIS_URL, prefix)

    delivered = int(row["delivered"])
    unique_sent = stats["sent_total"] - stats["sent_repeated"]
    lost = max(0, delivered - unique_sent) + int(row["open"])
    rate = delivered / push_seconds
    return {"bench": "push", "recipients": n, "matched": figures["matched"], "seed_seconds": round(seed_seconds, 2),
            "match_seconds": round(match_seconds, 3), "kick_seconds": round(kick_seconds, 3),
            "push_seconds": round(push_seconds, 2), "delivered": delivered, "lost": lost,
            "duplicates": stats["sent_repeated"], "statuses": figures["channels"]["subscribe"],
            "msgs_per_s": round(rate, 1), "ceiling_msgs_per_s": round(ceiling, 1),
            "ceiling_before_after": [round(ceiling_before, 1), round(ceiling_after, 1)],
            "ratio": round(rate / ceiling, 3), "worker_rss_mb": rss, "cpu_seconds_during_push": cpu,
            "ceiling_client_cpu_seconds": [round(c, 1) for c in CEILING_CLIENT_CPU],
            "delivery_table": {k: int(v) for k, v in table.items()},
            "workers": WORKERS,
            "concurrency_per_worker": CONCURRENCY}


def run(recipients: int = 100_000) -> dict:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    with pg_database() as url:
        result = asyncio.run(_run(recipients, url))
    result["targets"] = TARGETS
    result["pass"] = (result["lost"] <= TARGETS["lost_max"]
                      and result["match_seconds"] <= TARGETS["match_seconds_max"]
                      and result["ratio"] >= TARGETS["ratio_min"]
                      and result["worker_rss_mb"] <= TARGETS["worker_rss_mb_max"])
    console.print(f"匹配 {result['match_seconds']}s，送达 {result['delivered']}，丢失 {result['lost']}，"
                  f"重复 {result['duplicates']}，{result['msgs_per_s']} 条/秒（上限 {result['ceiling_msgs_per_s']}，"
                  f"比值 {result['ratio']}），worker 峰值内存 {result['worker_rss_mb']} MB")
    print(json.dumps(result, ensure_ascii=False))
    return result
