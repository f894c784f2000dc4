"""Matching in the database: the SQL built from the rules selects exactly the enterprises
the Python core calls eligible (random rules × random enterprises), and one policy is
matched against 100,000 enterprises within a second on PostgreSQL."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise import connections

from models import Enterprise, EnterpriseTag
from services.enterprises import sizing
from services.policies import rules as R
from services.policies import service as policies
from services.policies import sql
from tests.conftest import BACKEND, auth
from tests.unit.test_policy_rules import raw_rules

SCALE = 100_000 if BACKEND == "pg" else 10_000
DIVISIONS = sizing.list_divisions()


@pytest.fixture(autouse=True)
async def _clean(client):
    yield
    conn = connections.get("default")
    for table in ("policy_consent", "policy_transition", "policy", "enterprise_tag"):
        await conn.execute_script(f"DELETE FROM {table}")


def _dialect() -> str:
    return connections.get("default").capabilities.dialect


async def _ids(rules: dict, day: date) -> set[int]:
    where, params = sql.enterprise_where(rules, _dialect(), today=day)
    rows = await connections.get("default").execute_query_dict(f"SELECT e.id FROM enterprise e WHERE {where}", params)
    return {r["id"] for r in rows}


async def _profiles() -> dict[int, R.Profile]:
    rows = await Enterprise.all().values("id", "industry_code", "industry_group", "size_class", "region_code",
                                         "employees", "revenue", "founded_on")
    tags: dict[int, set[str]] = {}
    for eid, tag in await EnterpriseTag.all().values_list("enterprise_id", "tag"):
        tags.setdefault(eid, set()).add(tag)
    out = {}
    for r in rows:
        founded = r["founded_on"]
        if isinstance(founded, str):
            founded = date.fromisoformat(founded)
        out[r["id"]] = R.Profile(
            industry_code=r["industry_code"], industry_group=r["industry_group"], size_class=r["size_class"],
            region_code=r["region_code"], employees=r["employees"],
            revenue=None if r["revenue"] is None else Decimal(str(r["revenue"])), founded_on=founded,
            tags=frozenset(tags.get(r["id"], ())))
    return out


# ----------------------------------------------------------------- SQL ≡ Python

TODAY = policies.today()
# Values on and next to the bounds the rule strategy draws, so equality cases come up often.
_EDGE_EMPLOYEES = [0, 1, 9, 10, 11, 99, 100, 101, 300, 1000, 2999, 3000]
_EDGE_REVENUE = [Decimal(v) for v in ("0", "0.01", "99.99", "100", "100.01", "500", "2000", "99999.99")]
_EDGE_DATES = [R.add_years(TODAY, -n) + timedelta(days=d) for n in (0, 1, 2, 3, 5, 10, 30) for d in (-1, 0, 1)
               if R.add_years(TODAY, -n) + timedelta(days=d) <= TODAY]

enterprises = st.lists(st.tuples(
    st.sampled_from(DIVISIONS), st.sampled_from(R.SIZE_CLASSES),
    st.sampled_from(["440305", "440306", "440106", "110105", "440300", "310115", "440000"]),
    st.none() | st.sampled_from(_EDGE_EMPLOYEES) | st.integers(0, 3000),
    st.none() | st.sampled_from(_EDGE_REVENUE) | st.decimals(0, 100000, places=2, allow_nan=False,
                                                           allow_infinity=False),
    st.none() | st.sampled_from(_EDGE_DATES) | st.dates(date(1949, 1, 1), TODAY),
    st.lists(st.sampled_from(list(R.ENTERPRISE_TAGS)), max_size=2, unique=True),
), min_size=1, max_size=12)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=raw_rules, rows=enterprises)
async def test_the_sql_filter_selects_exactly_the_enterprises_python_calls_eligible(client, raw, rows):
    try:
        rules = R.validate(raw, today=TODAY)
    except R.InvalidRules:
        return
    conn = connections.get("default")
    await conn.execute_script("DELETE FROM enterprise_tag")
    await conn.execute_script("DELETE FROM enterprise")
    await Enterprise.bulk_create([
        Enterprise(credit_code=f"P{n:017d}", name=f"性质测试企业{n}", industry_code=d.code, industry_group=d.group_code,
                   size_class=size, region_code=region, employees=employees, revenue=revenue, founded_on=founded,
                   size_rule_version="test", size_inputs={}, size_basis="")
        for n, (d, size, region, employees, revenue, founded, _tags) in enumerate(rows)])
    ids = await Enterprise.all().order_by("id").values_list("id", flat=True)  # inserted in order
    await EnterpriseTag.bulk_create([EnterpriseTag(enterprise_id=eid, tag=t)
                                     for eid, row in zip(ids, rows) for t in row[6]])
    expected = {eid for eid, p in (await _profiles()).items() if R.evaluate(rules, p, today=TODAY).eligible}
    assert await _ids(rules, TODAY) == expected, rules


# ----------------------------------------------------------------- 100,000 enterprises


def _day(expr: str) -> str:
    if _dialect() == "postgres":
        return f"(DATE '2000-01-01' + CAST({expr} AS INTEGER))"
    return f"date('2000-01-01', '+' || ({expr}) || ' days')"


async def _insert_many(count: int) -> None:
    """Synthetic enterprises in one statement (plus their users and some tags): a spread of
    industries, sizes, districts, head counts, revenues and ages, some fields left blank."""
    conn = connections.get("default")
    pg = _dialect() == "postgres"
    source = ("generate_series(1, $1) AS s(n)" if pg else
              "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?1) SELECT n FROM s) AS s")
    now = "now()" if pg else "CURRENT_TIMESTAMP"
    await conn.execute_query(
        "INSERT INTO enterprise (credit_code, name, industry_code, industry_group, region_code, employees, revenue, "
        "founded_on, contact_phone_enc, size_class, size_rule_version, size_inputs, size_basis, created_at, updated_at) "
        "SELECT 'S' || CAST(n AS TEXT), '规模测试企业' || CAST(n AS TEXT), "
        "CASE n % 8 WHEN 0 THEN '65' WHEN 1 THEN '52' WHEN 2 THEN '33' WHEN 3 THEN '13' WHEN 4 THEN '62' "
        "  WHEN 5 THEN '48' WHEN 6 THEN '702' ELSE '74' END, "
        "CASE n % 8 WHEN 0 THEN 'software_it' WHEN 1 THEN 'retail' WHEN 2 THEN 'industry' WHEN 3 THEN 'industry' "
        "  WHEN 4 THEN 'catering' WHEN 5 THEN 'construction' WHEN 6 THEN 'property_management' ELSE 'other' END, "
        "CASE (n / 8) % 6 WHEN 0 THEN '440305' WHEN 1 THEN '440306' WHEN 2 THEN '440307' WHEN 3 THEN '440106' "
        "  WHEN 4 THEN '110105' ELSE '440304' END, "
        "CASE WHEN n % 13 = 0 THEN NULL ELSE (n * 7) % 400 END, "
        "CASE WHEN n % 17 = 0 THEN NULL ELSE ((n * 37) % 500000) / 100.0 END, "
        f"CASE WHEN n % 11 = 0 THEN NULL ELSE {_day('(n * 3) % 9500')} END, "
        "'', CASE (n / 48) % 4 WHEN 0 THEN 'micro' WHEN 1 THEN 'small' WHEN 2 THEN 'medium' ELSE 'large' END, "
        f"'test', '{{}}', '', {now}, {now} FROM {source}", [count])
    await conn.execute_query(
        "INSERT INTO enterprise_tag (enterprise_id, tag, created_at) SELECT id, "
        "CASE id % 3 WHEN 0 THEN 'high_tech' WHEN 1 THEN 'tech_sme' ELSE 'specialized' END, created_at "
        "FROM enterprise WHERE id % 10 = 0")
    await conn.execute_query(
        "INSERT INTO app_user (kind, openid, role, display_name, failed_logins, is_active, created_at, enterprise_id) "
        f"SELECT 'wechat', 'scale-' || CAST(id AS TEXT), 'enterprise_owner', '', 0, {'TRUE' if pg else '1'}, "
        "created_at, id FROM enterprise")
    if pg:
        await conn.execute_script("ANALYZE enterprise; ANALYZE enterprise_tag; ANALYZE app_user")


SCALE_RULES = [
    {"industries": ["industry", "65", "52"], "size_classes": ["small", "micro"], "regions": ["4403"],
     "employees": {"max": 100}, "revenue": {"max": 2000}, "age_years": {"min": 1}},
    {"tags": ["high_tech", "specialized"], "size_classes": ["medium", "small", "micro"]},
    {"regions": ["440305", "440306"], "age_years": {"max": 5}},
]


async def test_one_policy_is_matched_against_100000_enterprises_in_the_database_within_a_second(client, api):
    started = time.perf_counter()
    await _insert_many(SCALE)
    inserted = time.perf_counter() - started
    assert await Enterprise.all().count() == SCALE
    profiles = await _profiles()
    day = policies.today()
    officer = await api.staff_token("policy_officer")
    for raw in SCALE_RULES:
        rules = R.validate(raw, today=day)
        expected = sum(1 for p in profiles.values() if R.evaluate(rules, p, today=day).eligible)
        assert 0 < expected < SCALE, raw

        t0 = time.perf_counter()
        count = await policies.count_matching(rules)
        counted = time.perf_counter() - t0
        assert count == expected, raw

        # The same through the live-preview route, and the push audience as the outbox reads it.
        t0 = time.perf_counter()
        resp = await client.post("/api/v1/policies/match-preview", json={"rules": raw}, headers=auth(officer))
        previewed = time.perf_counter() - t0
        assert resp.status == 200 and (await resp.json())["count"] == expected

        text, params = sql.recipients_sql(rules, _dialect(), today=day)
        if _dialect() == "sqlite":
            text = text.replace("$", "?")
        t0 = time.perf_counter()
        rows = await connections.get("default").execute_query_dict(f"SELECT COUNT(*) AS n FROM ({text}) r", params)
        audience = time.perf_counter() - t0
        assert rows[0]["n"] == expected  # one owner per enterprise here

        print(f"\n{SCALE} enterprises (inserted in {inserted:.2f}s): {expected} match {raw}; "
              f"count {counted * 1000:.0f} ms, preview route {previewed * 1000:.0f} ms, "
              f"recipients {audience * 1000:.0f} ms")
        if BACKEND == "pg":
            assert counted <= 1.0 and previewed <= 1.0 and audience <= 1.0
