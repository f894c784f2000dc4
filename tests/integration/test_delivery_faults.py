"""FAULT TEST: 10,000 deliveries while workers are SIGKILLed and Redis is flushed.

Real processes only — the WeChat sandbox (``python -m wechat.sandbox``) and two
delivery workers (``python -m server worker``) on PostgreSQL and Redis. The sandbox
answers some recipients with permanent refusals and injects transient errors
(45009, -1, HTTP 502) at random. During the run a worker is killed with SIGKILL
at random moments (and restarted) at least five times, and the Redis database is
flushed once. At the end:

* every delivery is terminal and none is lost: each ``delivered`` row reached the
  sandbox, and every message the sandbox took belongs to a delivered row, except…
* …duplicates, each explained by a kill that landed between the sandbox's answer
  and the commit of that answer;
* permanent refusals were attempted once and 43101 zeroed the consent;
* retried deliveries kept to the backoff schedule; exhausted ones failed.

Redis runs on its own database number (/7) so the flush cannot touch other tests.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.redis_keys import Keys
from notifications import outbox
from notifications.schedule import min_retry_delay_ms
from notifications.worker import RECORD_EVERY_SECONDS
from server import db
from server.app import make_redis
from server.settings import Settings
from services.runtime import Runtime
from tests.conftest import BACKEND, REDIS_URL, _create_pg_database, _drop_pg_database

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(BACKEND != "pg", reason="the fault test runs real worker processes on "
                                                         "PostgreSQL + Redis (TEST_BACKEND=pg)")]

ROOT = Path(__file__).resolve().parents[2]
N = 10_000
REFUSED = {43101: 150, 40003: 50}  # recipients the sandbox always refuses, per errcode
KILLS = 6
RETRY_BASE, RETRY_CAP, MAX_ATTEMPTS, CLAIM_TIMEOUT = 0.5, 4.0, 4, 4.0
SEND_RATE = 400  # slow enough that every kill lands while messages are in flight
#: The longest a sent message's answer may wait for its commit (record interval + a commit).
COMMIT_WINDOW = 2.0
#: A critical notice (quiet hours must not hold back a fault test run at night).
TEMPLATE = "sandbox-tpl-notice"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_db7(url: str) -> str:
    base = re.sub(r"/\d+$", "", url.rstrip("/"))
    return f"{base}/7"


def _openid(i: int) -> str:
    return f"oFLT{i:06d}"


async def _wait_http(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def test_killed_workers_and_a_redis_flush_lose_no_message(tmp_path):
    database_url = await _create_pg_database()
    redis_url = _redis_db7(REDIS_URL)
    prefix = f"szfault:{uuid.uuid4().hex[:8]}"
    port = _free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_PREFIX": prefix,
           "WECHAT_API_BASE": sandbox_url, "WECHAT_SEND_RATE": str(SEND_RATE), "LOG_LEVEL": "INFO",
           "DELIVERY_RETRY_BASE_SECONDS": str(RETRY_BASE), "DELIVERY_RETRY_MAX_SECONDS": str(RETRY_CAP),
           "DELIVERY_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "DELIVERY_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT),
           "DELIVERY_BATCH_SIZE": "100", "WECHAT_NOTICE_TEMPLATE_ID": TEMPLATE,
           "PYTHONUNBUFFERED": "1"}  # logs survive SIGKILL
    sandbox = subprocess.Popen([sys.executable, "-m", "wechat.sandbox", "--port", str(port), "--seed", "5",
                                "--sent-limit", "50000"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=open(logs / "sandbox.log", "wb"))
    started = 0

    def start_worker() -> subprocess.Popen:
        nonlocal started
        started += 1
        log = open(logs / f"worker{started}.log", "wb")  # structlog writes JSON lines to stdout
        proc = subprocess.Popen([sys.executable, "-m", "server", "worker"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        proc.args_index = started  # type: ignore[attr-defined]
        return proc

    workers: list[subprocess.Popen] = []
    redis = make_redis(redis_url)
    try:
        await db.migrate(database_url)
        await db.init_db(database_url)
        await _wait_http(sandbox_url + "/sandbox/stats")
        conn = connections.get("default")
        await conn.execute_script(f"""
            INSERT INTO app_user (kind, openid, role, display_name, failed_logins, is_active, created_at)
            SELECT 'wechat', 'oFLT' || lpad(g::text, 6, '0'), 'enterprise_owner', '', 0, TRUE, now()
            FROM generate_series(1, {N}) g;
            INSERT INTO subscribe_credit (openid, template_id, credits, last_outcome, client_pending,
                                          event_pending, updated_at)
            SELECT openid, '{TEMPLATE}', 1, 'accept', 0, 0, now() FROM app_user WHERE openid LIKE 'oFLT%';
        """)
        rng = random.Random(20260301)
        refused: dict[str, int] = {}
        pool = rng.sample(range(1, N + 1), sum(REFUSED.values()))
        for code, count in REFUSED.items():
            for i in pool[:count]:
                refused[_openid(i)] = code
            pool = pool[count:]
        async with aiohttp.ClientSession(base_url=sandbox_url) as http:
            for openid, code in refused.items():
                await http.post("/sandbox/outcomes", json={"openid": openid, "errcode": code})
            for errcode, rate in ((45009, 0.03), (-1, 0.02), (502, 0.01)):
                await http.post("/sandbox/faults", json={"endpoint": "subscribe_send", "errcode": errcode,
                                                         "rate": rate})
            # Slow answers widen the window in which a kill lands mid-send.
            await http.post("/sandbox/faults", json={"endpoint": "subscribe_send", "latency_ms": 30, "rate": 0.2})

        settings = Settings(database_url=database_url, redis_url=redis_url, redis_prefix=prefix,
                            wechat_api_base=sandbox_url, run_background=False,
                            delivery_claim_timeout_seconds=CLAIM_TIMEOUT, delivery_batch_size=100,
                            wechat_notice_template_id=TEMPLATE)
        outbox.configure(settings)
        rt = Runtime(settings=settings, redis=redis, keys=Keys(prefix), cipher=None)
        t0 = time.monotonic()
        async with in_transaction():
            cid = await outbox.create_campaign(
                kind="notice", source_id=1, title="故障演练通知", summary="十万火急也不丢一条", page="pages/inbox/inbox",
                recipient_sql="SELECT id AS user_id FROM app_user WHERE openid LIKE $1",
                recipient_params=["oFLT%"], created_by=None, critical=True)
        match_seconds = time.monotonic() - t0
        assert await outbox.kick(rt, cid) == N

        workers = [start_worker(), start_worker()]

        async def unfinished() -> int:
            [row] = await conn.execute_query_dict(
                "SELECT COUNT(*) AS n FROM notification_delivery WHERE campaign_id = $1 "
                "AND status NOT IN ('delivered', 'rejected', 'failed', 'skipped')", [cid])
            return int(row["n"])

        kills: list[float] = []
        landed = 0
        flushed = False
        for i in range(KILLS):
            victim = rng.randrange(len(workers))
            # Kill a worker that is working, not one still importing: wait for its loop to
            # start, then let it work for a random moment.
            log_file = logs / f"worker{workers[victim].args_index}.log"
            up_by = time.monotonic() + 20
            while b"delivery_worker_started" not in log_file.read_bytes() and time.monotonic() < up_by:
                await asyncio.sleep(0.05)
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            if await unfinished():
                landed += 1
            workers[victim].kill()  # SIGKILL: no clean-up, no acknowledgement
            workers[victim].wait()
            kills.append(time.time())
            workers[victim] = start_worker()
            if i == 2:
                await redis.flushdb()  # database 7: this test's alone
                flushed = True

        deadline = time.monotonic() + 90
        while (left := await unfinished()) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - t0
        assert left == 0, f"{left} deliveries still not terminal after the run"

        rows = await conn.execute_query_dict(
            "SELECT openid, status, attempts, first_attempt_at, last_attempt_at, last_errcode "
            "FROM notification_delivery WHERE campaign_id = $1", [cid])
        credits = {r["openid"]: r["credits"] for r in
                   await conn.execute_query_dict("SELECT openid, credits FROM subscribe_credit")}
        async with aiohttp.ClientSession(base_url=sandbox_url) as http:
            sent = (await (await http.get("/sandbox/sent")).json())["items"]
            stats = await (await http.get("/sandbox/stats")).json()
    finally:
        for w in workers:
            w.kill()
            w.wait()
        sandbox.terminate()
        sandbox.wait(timeout=10)
        await db.close_db()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await _drop_pg_database(database_url)

    assert len(rows) == N
    by_status = Counter(r["status"] for r in rows)
    assert set(by_status) <= {"delivered", "rejected", "failed"}, by_status
    assert stats["sent_total"] == len(sent), "the sandbox record must hold every message"

    first_sent: dict[str, float] = {}
    times: dict[str, list[float]] = {}
    for m in sent:
        times.setdefault(m["touser"], []).append(m["at"])
    for openid, ts in times.items():
        first_sent[openid] = min(ts)

    # None lost: every delivered row reached WeChat.
    delivered = {r["openid"] for r in rows if r["status"] == "delivered"}
    lost = [o for o in delivered if o not in times]
    assert lost == []

    # Duplicates: more than one message to a recipient, or a message to a row that did
    # not end delivered. Each must follow a kill within the answer→commit window.
    duplicates = sum(len(ts) - 1 for ts in times.values()) + sum(
        len(ts) for o, ts in times.items() if o not in delivered)
    repeated = [o for o, ts in times.items() if len(ts) > 1 or o not in delivered]
    gaps = [min((k - min(times[o]) for k in kills if k >= min(times[o])), default=float("inf"))
            for o in repeated]
    unexplained = [o for o, gap in zip(repeated, gaps) if gap > COMMIT_WINDOW]
    assert unexplained == []
    # …and a kill can repeat at most what its worker had sent but not committed: the sends
    # in flight (DELIVERY_CONCURRENCY, 64 by default) and the answers waiting for their commit. Those
    # are committed every 20 ms (RECORD_EVERY_SECONDS) by one statement, and keep arriving
    # while it runs: 100 ms of answers at the shared SEND_RATE is the allowance. A worker
    # that committed once per batch (100 ids, several batches at once) would exceed it.
    # (One clean-clone run saw 400 repeats for 6 kills, 16 over 64 per kill: answers
    # that arrived during a slow flush on a busy host.)
    assert RECORD_EVERY_SECONDS <= 0.05
    per_kill = settings.delivery_concurrency + int(SEND_RATE * 0.1)
    assert duplicates <= len(kills) * per_kill, (duplicates, len(kills))

    # Permanent refusals: the first refusal ends the delivery (rejected, never retried) and a
    # 43101 leaves no consent. A refused row may show more than one attempt only because an
    # injected transient error hit it before the refusal (the sandbox injects faults first).
    once = 0
    for r in rows:
        code = refused.get(r["openid"])
        if code is not None:
            assert (r["status"], r["last_errcode"]) == ("rejected", code), r
            assert r["openid"] not in times
            once += r["attempts"] == 1
            if code == 43101:
                assert credits[r["openid"]] == 0
        elif r["status"] == "delivered":
            assert credits[r["openid"]] == 0  # the one consent was used, and only once
        else:
            assert credits[r["openid"]] == 1  # not delivered: the consent is given back

    # Transient errors: retried on the backoff schedule; exhausted ones failed.
    retried = [r for r in rows if r["attempts"] > 1]
    assert retried, "the injected transient errors must have caused retries"
    for r in retried:
        floor = sum(min_retry_delay_ms(a, base_seconds=RETRY_BASE, cap_seconds=RETRY_CAP)
                    for a in range(1, r["attempts"]))
        assert r["last_attempt_at"] - r["first_attempt_at"] >= floor, r
    assert all(r["attempts"] == MAX_ATTEMPTS for r in rows if r["status"] == "failed")
    assert once >= 0.85 * len(refused), (once, len(refused))

    assert flushed and len(kills) >= 5 and landed >= 5, (len(kills), landed)
    assert stats["faults_injected"] > 0
    print(f"\nFAULT TEST: {N} deliveries in {elapsed:.1f}s (match {match_seconds:.2f}s), "
          f"{dict(by_status)}, kills {len(kills)} (landed mid-run {landed}), redis flushed once, "
          f"retried {len(retried)}, max attempts {max(r['attempts'] for r in rows)}, "
          f"faults injected {stats['faults_injected']}, sandbox messages {stats['sent_total']}, "
          f"duplicates {duplicates} (latest answer before its kill: {max(gaps, default=0):.3f}s), lost {len(lost)}, refused {len(refused)} ({once} at the first attempt)")
