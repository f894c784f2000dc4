"""``python -m bench intake``: consultation intake vs the hello route of the same server.

Each request is a new question from a different enterprise user (wrk cycles through
thousands of session tokens, made with the openid as a WeChat login makes them) with its
own Idempotency-Key, so every request does the whole intake: rate limit, msgSecCheck v2
against a WeChat sandbox *process* (the server calls it over HTTP, as it would call
WeChat), classification (jieba + the topic taxonomy + catalogue search), the deadline,
and the statement that stores the case under its key and dispatches it to the
consultant with the least open work.

The server runs with ``CONSULTATION_RATE_PER_HOUR=10000``: the per-user limit (20 by
default) is not what is measured here, and with fewer users than requests it would turn
the run into 429s. After the run the cases in the database are checked against the 201
answers wrk saw (requests still in flight when wrk stops are counted separately: the
server finishes them, wrk no longer reads them) and for repeated idempotency keys.

Target (issue: consultation channel): ratio ≥ 0.05, p99 ≤ 100 ms, 0 errors (non-2xx
included) at 64 connections, on PostgreSQL + Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psutil
import requests
from rich.console import Console
from rich.table import Table

from bench.common import REDIS_URL, ROOT, WrkResult, free_port, histograms, pg_database, server_view, servers, wrk

TARGETS = {"ratio_min": 0.05, "p99_ms_max": 100.0, "errors_max": 0}
#: Histograms of the server's /metrics the JSON reports for the measured run.
SERVER_SERIES = {
    "request": ("http_request_seconds", {"method": "POST", "route": "/api/v1/consultations"}),
    "classify": ("sz_intake_stage_seconds", {"stage": "classify"}),
    "content_check": ("sz_intake_stage_seconds", {"stage": "content_check"}),
    "write": ("sz_intake_stage_seconds", {"stage": "write"}),
    "group_write": ("sz_intake_stage_seconds", {"stage": "group"}),
    "loop_lag": ("sz_event_loop_lag_seconds", {}),
}
RATE_PER_HOUR = 10_000
CONSULTANTS_PER_DEPARTMENT = 3
QUESTIONS = [
    "请问{x}需要准备哪些材料？可以全程网上办理吗？",
    "我们是一家{size}{trade}企业，想了解{x}的办理流程和承诺时限。",
    "{x}在哪个窗口办理？工作日中午能不能预约？",
    "上个月提交了{x}的申请，到现在还没有结果，请问怎么查询办理进度？",
    "{x}收费吗？材料不齐的话能不能先容缺受理，后面再补？",
    "公司刚从{district}搬过来，之前办的{x}需要重新办理吗？",
    "第一次办{x}，网上填报时系统一直提示信息不完整，请问是哪里填错了？",
    "关于{kw}，我们{size}{trade}企业今年能享受哪些政策？申请条件是什么？",
    "{kw}的事情想咨询一下：法人不在本地，可以委托代理人办理吗？需要什么手续？",
    "我们公司有{n}名员工，{kw}方面有没有针对小微企业的优惠或者补贴？",
]
SIZES = ["小微", "小型", "个体", "初创", "微型"]
TRADES = ["餐饮", "软件", "商贸", "物流", "制造", "文化传媒", "装修", "跨境电商"]
DISTRICTS = ["福田区", "罗湖区", "南山区", "宝安区", "龙岗区", "龙华区", "外市"]


def _questions(count: int, rng: random.Random) -> list[str]:
    """Varied, plausible questions naming catalogue items and taxonomy keywords, so that
    classification finds a topic, an item and a department for most of them. Words the
    sandbox flags (risky or for review) are left out: every case should be dispatched."""
    from wechat.sandbox import REVIEW_WORDS, RISKY_WORDS

    catalogue = json.loads((ROOT / "services/service_items/data/demo_catalogue.json").read_text(encoding="utf-8"))
    taxonomy = json.loads((ROOT / "services/consultations/data/topics.json").read_text(encoding="utf-8"))
    items = [re.sub(r"（.*?）|“|”", "", i["name"]) for i in catalogue["items"]]
    keywords = [k for t in taxonomy["topics"] for k in t["keywords"] if len(k) >= 2]
    flagged = [*RISKY_WORDS, *REVIEW_WORDS]
    out: set[str] = set()
    while len(out) < count:
        q = rng.choice(QUESTIONS).format(x=rng.choice(items), kw=rng.choice(keywords), size=rng.choice(SIZES),
                                         trade=rng.choice(TRADES), district=rng.choice(DISTRICTS),
                                         n=rng.randint(2, 80))
        if not any(w in q for w in flagged):
            out.add(q)
    return sorted(out)


async def _populate(database_url: str, prefix: str, users: int) -> list[str]:
    """Enterprises with owners whose openids the sandbox issues (``openid_for``), a few
    consultants with skills in every department, and one session token per owner."""
    import asyncpg
    from redis.asyncio import Redis

    from models.redis_keys import Keys
    from server.settings import Settings
    from services.auth import sessions
    from services.auth.roles import Role
    from services.runtime import Runtime
    from wechat.sandbox import SandboxState

    settings = Settings()
    now = datetime.now(timezone.utc)
    taxonomy = json.loads((ROOT / "services/consultations/data/topics.json").read_text(encoding="utf-8"))
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f"""
            INSERT INTO enterprise (credit_code, name, industry_code, industry_group, region_code, employees,
                                    size_class, size_rule_version, size_inputs, size_basis, contact_phone_enc,
                                    created_at, updated_at)
            SELECT '9144BI' || lpad(g::text, 11, '0') || 'X', '咨询压测企业' || g, '65', 'software', '440305',
                   (g % 50) + 1, CASE WHEN g % 4 = 0 THEN 'small' ELSE 'micro' END, 'bench', '{{}}', '', '',
                   now(), now()
            FROM generate_series(1, {users}) g""")
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM enterprise WHERE credit_code LIKE '9144BI%' ORDER BY id")]
        await conn.copy_records_to_table(
            "app_user", columns=["kind", "openid", "role", "display_name", "failed_logins", "is_active", "created_at",
                                 "enterprise_id"],
            records=[("wechat", SandboxState.openid_for(settings.wechat_appid, f"bench{eid}"), "enterprise_owner",
                      "", 0, True, now, eid) for eid in ids])
        await conn.execute("""UPDATE enterprise e SET owner_id = u.id FROM app_user u
                              WHERE u.enterprise_id = e.id AND e.credit_code LIKE '9144BI%'""")
        departments = dict(await conn.fetch("SELECT code, id FROM department"))
        topics_of: dict[str, list[str]] = {}
        for t in taxonomy["topics"]:
            topics_of.setdefault(t["department"], []).append(t["code"])
        for code, dept_id in departments.items():
            for n in range(CONSULTANTS_PER_DEPARTMENT):
                uid = await conn.fetchval(
                    """INSERT INTO app_user (kind, username, role, display_name, department_id, failed_logins,
                                             is_active, created_at)
                       VALUES ('staff', $1, 'consultant', $2, $3, 0, TRUE, now()) RETURNING id""",
                    f"bench-{code.lower()}-{n}", f"压测咨询员{code}{n}", dept_id)
                skills = topics_of.get(code, [])[n % 2::2] if n else topics_of.get(code, [])
                await conn.executemany("INSERT INTO staff_skill (user_id, topic_code) VALUES ($1, $2)",
                                       [(uid, s) for s in skills])
        users_rows = await conn.fetch(
            "SELECT id, enterprise_id, openid FROM app_user WHERE enterprise_id IS NOT NULL AND kind = 'wechat' "
            "AND openid IS NOT NULL AND enterprise_id = ANY($1::int[]) ORDER BY id", ids)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    redis = Redis.from_url(REDIS_URL)
    rt = Runtime(settings=settings, redis=redis, keys=Keys(prefix), cipher=None)
    try:
        # With the openid, as a WeChat login makes them (intake then reads no openid).
        return [await sessions.create(rt, user_id=u["id"], role=Role.ENTERPRISE_OWNER, enterprise_id=u["enterprise_id"],
                                      openid=u["openid"]) for u in users_rows]
    finally:
        await redis.aclose()


async def _analyze(database_url: str) -> None:
    """Statistics as autovacuum keeps them in a running deployment. The warm-up grew the
    case table from the few demo cases; plans made then — asyncpg's prepared statements
    and the foreign-key checks each backend caches — read the whole table for what an
    index finds (a sequential intake measured 5–6 such scans per case, 1.4 → 3.8 ms of
    PostgreSQL CPU per case within 3,000 cases). Autovacuum's ANALYZE, which replaces
    them in production, runs at most once a minute and so never within a 10-second run;
    run it here, so the run measures the steady state rather than a cold start."""
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _lua(tokens: list[str], bodies: list[str], key_prefix: str, path: Path) -> Path:
    """Each request: the next user's token, a question, and a key no request shares
    (prefix, thread, a per-thread random salt, a counter). The answers are counted per
    thread — created (201), replayed (201 with ``Idempotent-Replayed``), other — and
    ``done`` writes the totals, with how many requests were sent, next to the script."""
    lua_list = lambda xs: ",\n".join(f"  [==[{x}]==]" for x in xs)  # noqa: E731
    path.write_text(
        f"local tokens = {{\n{lua_list(tokens)}\n}}\n"
        f"local bodies = {{\n{lua_list(bodies)}\n}}\n"
        "local nt, nb = #tokens, #bodies\n"
        "local threads, made = {}, 0\n"
        "setup = function(thread)\n"
        "  made = made + 1\n"
        "  thread:set('tid', made)\n"
        "  thread:set('offset', math.random(nt))\n"
        "  table.insert(threads, thread)\n"
        "end\n"
        "init = function(args)\n"
        "  tid = tonumber(tid) or 0\n"
        "  i = tonumber(offset) or 0\n"
        "  math.randomseed(os.time() * 1000 + tid * 7919)\n"
        "  salt = string.format('%06x', math.random(0, 16777215))\n"
        "  seq, sent, created, replayed, other = 0, 0, 0, 0, 0\n"
        "end\n"
        "request = function()\n"
        "  i = i % nt + 1\n"
        "  seq = seq + 1\n"
        "  sent = sent + 1\n"
        f"  local key = string.format('{key_prefix}-%d-%s-%d-%04x', tid, salt, seq, math.random(0, 65535))\n"
        "  return wrk.format('POST', nil, {['Authorization'] = 'Bearer ' .. tokens[i],\n"
        "    ['Content-Type'] = 'application/json', ['Idempotency-Key'] = key}, bodies[(seq * 31 + tid) % nb + 1])\n"
        "end\n"
        "response = function(status, headers, body)\n"
        "  if status == 201 and headers['Idempotent-Replayed'] then replayed = replayed + 1\n"
        "  elseif status == 201 then created = created + 1\n"
        "  else other = other + 1 end\n"
        "end\n"
        "done = function(summary, latency, requests)\n"
        "  local s, c, r, o = 0, 0, 0, 0\n"
        "  for _, t in ipairs(threads) do\n"
        "    s = s + t:get('sent'); c = c + t:get('created'); r = r + t:get('replayed'); o = o + t:get('other')\n"
        "  end\n"
        f"  local f = io.open('{path.with_suffix('.json')}', 'w')\n"
        "  f:write(string.format('{\"sent\": %d, \"created\": %d, \"replayed\": %d, \"other\": %d}',\n"
        "    s, c, r, o))\n"
        "  f:close()\n"
        "end\n", encoding="utf-8")
    return path


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += sum(p.cpu_times()[:2])
    return total


def _schedstat(pid: int) -> tuple[float, float] | None:
    """(seconds on a core, seconds runnable but waiting for one) of a process's main
    thread — the event loop — from Linux's /proc; None elsewhere."""
    try:
        on_cpu, waiting, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def _loop_time(pid: int, before: tuple[float, float] | None, wall: float) -> dict | None:
    """How the first server process's event loop spent the run: running, runnable but
    waiting for a core (preempted by PostgreSQL, the sandbox, wrk), and the rest —
    asleep, with nothing ready."""
    after = _schedstat(pid)
    if before is None or after is None or wall <= 0:
        return None
    running, waiting = (after[0] - before[0]) / wall, (after[1] - before[1]) / wall
    return {"running": round(running, 2), "waiting_for_cpu": round(waiting, 2),
            "idle": round(max(0.0, 1 - running - waiting), 2)}


async def _backends(database_url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (the server is shared)."""
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()


def _processes(pids: list[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            out.append(psutil.Process(pid))
    return out


def _measured(procs: list[psutil.Process], url: str, script: Path, *, database_url: str | None = None,
              sandbox_pid: int | None = None, **kwargs) -> tuple[WrkResult, dict, dict]:
    """wrk with the intake script: result, CPU µs per request of each process that serves
    it — the server (all its processes), its PostgreSQL backends, the sandbox and wrk
    itself, which share the machine's cores — and the script's counts."""
    backends = _processes(asyncio.run(_backends(database_url))) if database_url else []
    sandbox = _processes([sandbox_pid]) if sandbox_pid else []
    before = {"server": _cpu(procs), "postgres": _cpu(backends), "sandbox": _cpu(sandbox)}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine, started = psutil.cpu_times(), time.monotonic()
    result = wrk(url, script=str(script), **kwargs)
    wall, machine_after = time.monotonic() - started, psutil.cpu_times()
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    if database_url:  # backends the pool opened during the run count from zero
        known = {p.pid for p in backends}
        backends += [p for p in _processes(asyncio.run(_backends(database_url))) if p.pid not in known]
    used = {"server": _cpu(procs) - before["server"], "postgres": _cpu(backends) - before["postgres"],
            "sandbox": _cpu(sandbox) - before["sandbox"],
            "wrk": (done.ru_utime + done.ru_stime) - (children.ru_utime + children.ru_stime)}
    per = {k: round(v / max(result.requests, 1) * 1e6, 1) for k, v in used.items()}
    # Cores each kept busy on average, and the whole machine's (every process; idle and
    # I/O wait excluded): a server near 1.0 with cores to spare is held by its own
    # event loop, a machine near its core count by the CPU the intake costs in total.
    idle = lambda t: t.idle + getattr(t, "iowait", 0.0)  # noqa: E731
    per["cores_busy"] = {**{k: round(v / wall, 2) for k, v in used.items()},
                         "machine": round((sum(machine_after) - idle(machine_after) - sum(machine) + idle(machine))
                                          / wall, 2), "of": psutil.cpu_count()}
    counts = json.loads(script.with_suffix(".json").read_text())
    return result, per, counts


async def _cases(database_url: str, key_prefix: str) -> dict:
    """What the run left in the database: cases, repeated keys, how many were routed."""
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        like = key_prefix + "-%"
        row = await conn.fetchrow(
            """SELECT count(*) AS cases, count(assignee_id) AS assigned, count(department_id) AS routed,
                      count(*) FILTER (WHERE topic_code <> '') AS topic, count(service_item_id) AS item,
                      count(*) FILTER (WHERE moderation = 'pass') AS passed
               FROM consultation WHERE idempotency_key LIKE $1""", like)
        dups = await conn.fetchval(
            """SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM consultation
               WHERE idempotency_key LIKE $1 GROUP BY idempotency_key HAVING count(*) > 1) d""", like)
        return {**dict(row), "duplicates": int(dups)}
    finally:
        await conn.close()


def _settled(database_url: str, key_prefix: str) -> dict:
    """Wait until the server has finished the requests wrk left in flight."""
    last, stable_since = None, time.monotonic()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = asyncio.run(_cases(database_url, key_prefix))
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 1.0:
            break
        time.sleep(0.25)
    return last


@contextlib.contextmanager
def _sandbox():
    """The WeChat sandbox as its own process, like the real WeChat is to the server."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wechat.sandbox", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/sandbox/stats", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("wechat sandbox did not start")
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def headroom(rps: float, p99_ms: float, cpu_us: dict[str, float], *, processes: int, cores: int,
             p99_target_ms: float = TARGETS["p99_ms_max"]) -> dict:
    """How far this host is from the latency target, from the run's own figures.

    wrk keeps every connection busy, so a request's latency is the queue ahead of it:
    at a fixed connection count the whole latency distribution scales as 1 / rate
    (Little's law), and the run's p99 becomes the target at ``rps × p99 / target``
    (``needed_rps``). Two ceilings bound the rate this host can reach, whatever the
    scheduling: each server process's event loop at one full core (``server_cpu``), and
    all the cores at the CPU one intake costs the server, PostgreSQL, the sandbox and wrk
    together (``machine_cpu``). When ``needed_rps`` is above the lower one, no tuning of
    groups, pools or processes can meet the target here; only CPU per intake can.
    """
    server = cpu_us.get("server") or 0.0
    total = sum(v for v in cpu_us.values() if isinstance(v, (int, float)))
    out = {"needed_rps": round(rps * p99_ms / p99_target_ms, 1) if p99_target_ms else None,
           "server_cpu_ceiling_rps": round(processes * 1e6 / server, 1) if server else None,
           "machine_cpu_ceiling_rps": round(cores * 1e6 / total, 1) if total else None}
    ceilings = (out["server_cpu_ceiling_rps"], out["machine_cpu_ceiling_rps"])
    out["within_reach"] = (None not in ceilings and out["needed_rps"] is not None
                           and out["needed_rps"] <= min(ceilings))
    return out


def run(seconds: int = 10, connections: int = 64, users: int = 3000, processes: int = 1) -> dict:
    """``processes``: server processes sharing the port (README: several API processes);
    the JSON says how many ran."""
    console = Console(stderr=True)
    load_start = round(os.getloadavg()[0], 2)
    prefix = f"szbench:{uuid.uuid4().hex[:6]}"
    bodies = [json.dumps({"content": q, "kind": "consultation"}, ensure_ascii=False)
              for q in _questions(400, random.Random(4))]
    env = {"REDIS_PREFIX": prefix, "CONSULTATION_RATE_PER_HOUR": str(RATE_PER_HOUR)}
    with _sandbox() as (sandbox, sandbox_pid), pg_database() as url, \
            servers(url, extra_env={**env, "WECHAT_MODE": "sandbox", "WECHAT_API_BASE": sandbox},
                    processes=processes) as (base, procs), \
            tempfile.TemporaryDirectory() as tmp:
        server_procs = [psutil.Process(p.pid) for p in procs]
        with console.status(f"写入 {users} 家企业、用户会话和各部门咨询员…"):
            tokens = asyncio.run(_populate(url, prefix, users))
        warm = _lua(tokens, bodies, "bw", Path(tmp) / "warm.lua")
        script = _lua(tokens, bodies, "bk", Path(tmp) / "intake.lua")
        intake_url = f"{base}/api/v1/consultations"
        with console.status("预热…"):
            # At the run's own connection count: the pools (PostgreSQL, Redis, the
            # client to WeChat) open as many connections as the run will use, and every
            # PostgreSQL backend plans its statements, before anything is measured.
            _measured(server_procs, intake_url, warm, connections=connections, seconds=2)
            asyncio.run(_analyze(url))
            # ANALYZE invalidates the backends' cached plans: plan them again, with the
            # new statistics, outside the measured run.
            _measured(server_procs, intake_url, warm, connections=connections, seconds=1)
            wrk(f"{base}/api/v1/hello", connections=connections, seconds=2)
        with console.status(f"wrk：提交咨询 {seconds}s × {connections} 连接（{len(tokens)} 个用户轮流）"):
            scraped, sched, started = histograms(base), _schedstat(procs[0].pid), time.monotonic()
            intake, cpu, counts = _measured(server_procs, intake_url, script, database_url=url,
                                            sandbox_pid=sandbox_pid, connections=connections, seconds=seconds)
            loop_time = _loop_time(procs[0].pid, sched, time.monotonic() - started)
            seen = server_view(scraped, histograms(base), SERVER_SERIES)
            intake_cpu, cores = cpu["server"], cpu.pop("cores_busy")
        with console.status("核对数据库中的咨询事项…"):
            db = _settled(url, "bk")
            sec_checks = requests.get(sandbox + "/sandbox/stats", timeout=5).json()["calls"].get("msg_sec_check", 0)
        with console.status(f"wrk：hello 参照 {seconds}s × {connections} 连接"):
            before = _cpu(server_procs)
            hello = wrk(f"{base}/api/v1/hello", connections=connections, seconds=seconds)
            hello_cpu = round((_cpu(server_procs) - before) / max(hello.requests, 1) * 1e6, 1)
    ratio = intake.rps / hello.rps if hello.rps else 0.0
    in_flight = max(counts.get("sent", 0) - counts.get("created", 0) - counts.get("replayed", 0)
                    - counts.get("other", 0), 0)
    cases = int(db["cases"])
    # Every 201 must be a stored case; beyond those only the requests wrk left unread may have landed.
    db_matches = counts.get("created", -1) <= cases <= counts.get("created", 0) + in_flight
    errors = intake.errors  # socket errors, timeouts and non-2xx answers
    result = {"bench": "intake", "database": "postgresql", "redis": "redis", "wechat": "sandbox process",
              # Which interpreter build ran the server and the sandbox: builds differ by ~10 %
              # in the server's CPU per intake (deploy/pick-python).
              "python": sys.version,
              "connections": connections, "seconds": seconds, "users": len(tokens), "server_processes": processes,
              "consultation_rate_per_hour": RATE_PER_HOUR,
              "intake_rps": round(intake.rps, 1), "intake_p50_ms": round(intake.p50_ms, 2),
              "intake_p99_ms": round(intake.p99_ms, 2), "hello_rps": round(hello.rps, 1),
              "hello_p99_ms": round(hello.p99_ms, 2), "ratio": round(ratio, 3), "errors": errors,
              "non_2xx": counts.get("other", 0), "responses_201": counts.get("created", 0), "replayed": counts.get("replayed", 0),
              "unanswered_at_stop": in_flight, "cases_created": cases, "db_matches_201": db_matches,
              "duplicates": int(db["duplicates"]), "assigned": int(db["assigned"]), "routed": int(db["routed"]),
              "with_topic": int(db["topic"]), "with_item": int(db["item"]), "sec_checks": sec_checks,
              "server_cpu_us_per_request": {"intake": intake_cpu, "hello": hello_cpu},
              # All that one intake costs the machine's cores (PostgreSQL: the bench database's backends).
              "cpu_us_per_intake": cpu,
              # The cores each of them kept busy during the run, and the machine's in all.
              "cores_busy": cores,
              # The server's own view of the same run, from its /metrics (the first
              # process's, with several): its time per request, per intake step, and how
              # late its event loop ran what was due.
              "server_view_ms": seen,
              # Fractions of the run the (first) server's event loop spent on a core,
              # waiting for one, and asleep (Linux only, else null).
              "server_loop": loop_time,
              # The rate the p99 target needs at this run's latency shape, against the
              # rates this host's CPU allows (headroom()).
              "headroom": headroom(intake.rps, intake.p99_ms, cpu, processes=processes,
                                   cores=cores.get("of") or os.cpu_count() or 1),
              # The machine is shared: how busy it was says how far to trust the absolute figures.
              "load_avg_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
              "targets": TARGETS}
    result["pass"] = (ratio >= TARGETS["ratio_min"] and intake.p99_ms <= TARGETS["p99_ms_max"] and errors == 0
                      and db_matches and result["duplicates"] == 0 and counts.get("replayed", 0) == 0)
    table = Table(title=f"POST /api/v1/consultations（{len(tokens)} 个企业用户轮流）vs /api/v1/hello")
    for col in ("route", "rps", "p50 ms", "p99 ms", "errors", "server CPU µs/req"):
        table.add_column(col)
    for name, r, cpu in (("intake", intake, intake_cpu), ("hello", hello, hello_cpu)):
        table.add_row(name, f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.errors), f"{cpu:.0f}")
    console.print(table)
    console.print(f"ratio {ratio:.3f} (≥ {TARGETS['ratio_min']}), p99 {intake.p99_ms:.2f} ms "
                  f"(≤ {TARGETS['p99_ms_max']}); 每用户每小时限额设为 {RATE_PER_HOUR}（CONSULTATION_RATE_PER_HOUR）")
    console.print(f"数据库：{cases} 件（201 应答 {counts.get('created', 0)}，停止时未读应答 {in_flight}），"
                  f"重复 Key {result['duplicates']}，已派单 {result['assigned']}，msgSecCheck {sec_checks} 次")
    console.print("服务端视角（ms，p50/p99）：" + "，".join(
        f"{k} {v['p50']}/{v['p99']}" for k, v in seen.items()))
    room = result["headroom"]
    console.print(f"p99 达标所需速率约 {room['needed_rps']}/s；本机 CPU 上限：服务进程 "
                  f"{room['server_cpu_ceiling_rps']}/s，整机 {room['machine_cpu_ceiling_rps']}/s"
                  f"（{'可及' if room['within_reach'] else '不可及'}）")
    print(json.dumps(result, ensure_ascii=False))
    return result
