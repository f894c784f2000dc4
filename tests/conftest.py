"""Test set-up for both tiers.

``TEST_BACKEND=embedded`` (default): SQLite file + in-process Redis substitute.
``TEST_BACKEND=pg``: real PostgreSQL (a throw-away database per run) + real Redis
(a unique key prefix per test). An unreachable server FAILS the run with a clear
message: the PostgreSQL tier is never silently skipped.

The WeChat sandbox runs as its own little HTTP server, so the gateway takes the
same code path as in production.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

# Before any module of the project is imported: staff password hashes at test strength
# (services/auth/service.py); inherited by the server, worker and CLI processes tests start.
os.environ.setdefault("PASSWORD_HASH_PROFILE", "test")

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer
from tortoise import Tortoise, connections

from handlers.appkeys import RUNTIME
from server import db
from server.app import create_app, make_redis
from server.settings import Settings
from wechat.sandbox import STATE, create_sandbox_app

BACKEND = os.environ.get("TEST_BACKEND", "embedded")
PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
#: Database 3: the tests' own. Each test cleans its key prefix with a SCAN, whose cost is
#: the size of the database scanned; sharing database 0 with benches and demos, that
#: cost grew with every key they left (0.3 s a test with 187,000 of them).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
ARTIFACTS = Path(__file__).parent / "artifacts"
TABLES = ["insight_bundle_count", "insight_precomputed", "insight_case_mix_total", "insight_case_mix_day", "insight_case_mix_week", "insight_case_item_total", "insight_case_item_day", "insight_case_day", "insight_case_item_week", "insight_case_week", "insight_case_fact", "insight_policy_fact", "insight_proposal", "policy_consent", "policy_transition", "policy", "enterprise_tag", "consultation_event", "consultation_message", "consultation_rating", "callback_task", "rectification",
          "consultation", "consultant_load", "faq_entry", "canned_answer", "deadline_rule", "staff_skill", "topic",
          "notification_delivery", "inbox_message", "notification_campaign", "notification_preference",
          "subscribe_credit", "wechat_follower", "enterprise_invitation", "wechat_event", "service_item", "app_user", "enterprise",
          "department", "audit_entry"]
DEMO_PASSWORD = "Demo@2026zone"


def pytest_report_header(config):
    return f"backend: {BACKEND} ({'PostgreSQL + Redis' if BACKEND == 'pg' else 'SQLite + in-process Redis'})"


async def _create_pg_database() -> str:
    import asyncpg

    name = f"sz_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = PG_ADMIN_URL.replace("postgres://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(admin, timeout=5)
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"PostgreSQL tier: cannot connect to {PG_ADMIN_URL} ({exc}). Start PostgreSQL "
                    f"or set TEST_PG_URL; this tier is never skipped.", returncode=3)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def _drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), timeout=5)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory) -> AsyncIterator[str]:
    if BACKEND == "pg":
        url = await _create_pg_database()
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    await db.migrate(url)
    yield url
    if BACKEND == "pg":
        await _drop_pg_database(url)


@pytest.fixture(scope="session")
async def redis_check() -> None:
    if BACKEND != "pg":
        return
    r = make_redis(REDIS_URL)
    try:
        await r.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"Redis tier: cannot reach {REDIS_URL} ({exc}). Start Redis or set TEST_REDIS_URL; "
                    f"this tier is never skipped.", returncode=3)
    finally:
        await r.aclose()


@pytest.fixture(scope="session")
async def sandbox() -> AsyncIterator[TestServer]:
    server = TestServer(create_sandbox_app(seed=7), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def sandbox_state(sandbox):
    state = sandbox.app[STATE]
    state.reset()
    return state


def make_settings(database_url: str, sandbox: TestServer, **overrides: Any) -> Settings:
    values = dict(database_url=database_url,
                  redis_url=REDIS_URL if BACKEND == "pg" else "memory://",
                  redis_prefix=f"sztest:{uuid.uuid4().hex[:10]}",
                  wechat_api_base=str(sandbox.make_url("")).rstrip("/"),
                  run_background=False)
    values.update(overrides)
    return Settings(**values)


#: PostgreSQL's clean-up script, built once per session (:func:`_pg_reset`).
_PG_RESET: list[str] = []
#: Above this many rows in any table the clean-up truncates everything instead: a DELETE
#: of bulk data (a scale test's 100,000 enterprises) checks each row's references.
BULK_ROWS = 1_000


async def _pg_reset(conn) -> str:
    """Empty every test table and restart its ids, as ``TRUNCATE … RESTART IDENTITY``
    would, in a few ms instead of 350–430 ms: TRUNCATE gives each of the 42 tables
    and their indexes new files, which cost most of a test's teardown (PostgreSQL tier,
    ~0.6 s a test). DELETE in :data:`TABLES` order (children first; the one reference
    back, enterprise → app_user, is ON DELETE SET NULL), TRUNCATE where a table's own
    trigger refuses DELETE, then ``setval`` on the tables' own sequences; one DO block,
    so one round trip and one transaction. With bulk data anywhere, TRUNCATE of all."""
    if not _PG_RESET:
        rows = await conn.execute_query_dict(
            "SELECT DISTINCT s.oid::regclass::text AS seq FROM pg_class s "
            "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "WHERE s.relkind = 'S' AND t.relname = ANY($1::text[])", [TABLES])
        # Tables with a BEFORE DELETE trigger of their own, which refuses (audit entries
        # are kept 180 days), are truncated, and only when they hold rows (bits of
        # tgtype: 2 BEFORE, 8 DELETE).
        guarded = {r["t"] for r in await conn.execute_query_dict(
            "SELECT DISTINCT c.relname AS t FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
            "WHERE NOT g.tgisinternal AND (g.tgtype & 10) = 10 AND c.relname = ANY($1::text[])", [TABLES])}
        tables = ", ".join(f"'{t}'" for t in TABLES)
        seqs = ", ".join(f"'{r['seq']}'" for r in rows) or "NULL"
        truncated = ", ".join(f"'{t}'" for t in sorted(guarded)) or "NULL"
        every = ", ".join(TABLES)
        _PG_RESET.append(f"""DO $$
DECLARE t text; n bigint; guarded text[] := '{{}}';
BEGIN
  -- Bulk data (a scale test's 100,000 enterprises): DELETE would check every row's
  -- references one by one, so everything goes at once, the old way.
  FOREACH t IN ARRAY ARRAY[{tables}]::text[] LOOP
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I LIMIT {BULK_ROWS + 1}) x', t) INTO n;
    IF n > {BULK_ROWS} THEN
      TRUNCATE {every} RESTART IDENTITY CASCADE;
      RETURN;
    END IF;
  END LOOP;
  FOREACH t IN ARRAY ARRAY[{tables}]::text[] LOOP
    IF t = ANY(ARRAY[{truncated}]::text[]) THEN
      EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I LIMIT 1) x', t) INTO n;
      IF n > 0 THEN guarded := guarded || t; END IF;
    ELSE
      EXECUTE format('DELETE FROM %I', t);
    END IF;
  END LOOP;
  IF cardinality(guarded) > 0 THEN
    EXECUTE 'TRUNCATE ' || array_to_string(guarded, ', ') || ' CASCADE';
  END IF;
  -- A trigger or an ON DELETE SET NULL of a later DELETE may have written to a table
  -- already emptied (a case's consultant load): then everything goes, the old way.
  FOREACH t IN ARRAY ARRAY[{tables}]::text[] LOOP
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I LIMIT 1) x', t) INTO n;
    IF n > 0 THEN
      RAISE NOTICE 'clean-up: % was written after its DELETE', t;
      TRUNCATE {every} RESTART IDENTITY CASCADE;
      RETURN;
    END IF;
  END LOOP;
  PERFORM setval(s, 1, false) FROM unnest(ARRAY[{seqs}]::text[]) s WHERE s IS NOT NULL;
END $$""")
    return _PG_RESET[0]


async def _truncate() -> None:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(await _pg_reset(conn))
    else:
        for table in TABLES:
            await conn.execute_script(f"DELETE FROM {table}")


async def _drop_prefix(redis, prefix: str) -> None:
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=500)]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
async def settings(database_url, redis_check, sandbox, sandbox_state) -> Settings:
    return make_settings(database_url, sandbox)


@pytest.fixture
async def client(settings) -> AsyncIterator[TestClient]:
    app = create_app(settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c
        await _drop_prefix(app[RUNTIME].redis, settings.redis_prefix)
        await _truncate()


@pytest.fixture
def rt(client):
    return client.app[RUNTIME]


# ---------------------------------------------------------------- helpers for tests


class Api:
    """Small helpers that log people in the way the clients do."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def wechat_token(self, name: str) -> str:
        resp = await self.client.post("/api/v1/auth/wechat-login", json={"code": f"sandbox-{name}"})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["token"]

    async def staff_token(self, role: str, username: str | None = None, department: str | None = None) -> str:
        from models import User
        from services.auth import service as auth

        username = username or f"{role}-user"
        if not await User.filter(username=username).exists():
            await auth.create_staff(username=username, password=DEMO_PASSWORD, role=role,
                                    department_code=department)
        resp = await self.client.post("/api/v1/auth/staff-login",
                                      json={"username": username, "password": DEMO_PASSWORD})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["token"]

    async def register(self, token: str, **overrides: Any) -> dict:
        from services.enterprises.credit_code import check_character

        body = enterprise_body(**overrides)
        if "credit_code" not in overrides:
            body["credit_code"] = body["credit_code"][:17] + check_character(body["credit_code"][:17])
        resp = await self.client.post("/api/v1/enterprises", json=body, headers=auth(token))
        assert resp.status == 201, await resp.text()
        return await resp.json()

    async def owner(self, name: str, **overrides: Any) -> tuple[str, dict]:
        token = await self.wechat_token(name)
        return token, await self.register(token, **overrides)


_serial = iter(range(10_000_000))


def enterprise_body(**overrides: Any) -> dict:
    n = next(_serial)
    body = {"credit_code": f"91440305MA5{n:06d}0", "name": f"深圳市测试科技有限公司{n}",
            "industry_code": "65", "region_code": "440305", "employees": 6, "revenue": 180,
            "founded_on": "2021-04-16", "contact_phone": "13826540917"}
    body.update(overrides)
    return body


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
async def catalogue(client) -> None:
    from services.seed import SeedReport, seed_catalogue

    await seed_catalogue(SeedReport())


@pytest.fixture
async def clean_policies(client) -> AsyncIterator[None]:
    """Policies and what hangs off them go before the shared clean-up: they refer to
    departments with RESTRICT, which a plain DELETE of departments would trip over."""
    yield
    conn = connections.get("default")
    for table in ("policy_consent", "policy_transition", "policy", "enterprise_tag"):
        await conn.execute_script(f"DELETE FROM {table}")


@pytest.fixture
async def topics(catalogue) -> None:
    """The demo catalogue plus the consultation topic taxonomy (as ``make run`` seeds it)."""
    import json

    from models import Department, Topic

    path = Path(__file__).resolve().parents[1] / "services" / "consultations" / "data" / "topics.json"
    depts = dict(await Department.all().values_list("code", "id"))
    for n, t in enumerate(json.loads(path.read_text(encoding="utf-8"))["topics"]):
        await Topic.create(code=t["code"], name=t["name"], keywords=t["keywords"], sort_order=n,
                           department_id=depts.get(t["department"]) if t["department"] else None)
