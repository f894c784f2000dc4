"""Consultant load (migration 0011): dispatch ranks consultants by counter rows that
triggers keep, so the counters must equal the open cases of each consultant after
every way a case can move — intake, 派单, 改派, 退单 to another department, answer,
resolve, close, reopen, merge, withdraw, a bulk UPDATE, and an enterprise deleted with
its cases. Checked on both tiers (PostgreSQL: one PL/pgSQL trigger function, sharded
rows; SQLite: four triggers, one row per consultant)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import Any, NamedTuple

import pytest
from tortoise import connections

from services.consultations import workflow
from tests.conftest import BACKEND, auth

pytestmark = pytest.mark.usefixtures("catalogue")


async def _loads() -> dict[int, int]:
    rows = await connections.get("default").execute_query_dict(
        "SELECT user_id, SUM(open_cases) AS n FROM consultant_load GROUP BY user_id")
    return {int(r["user_id"]): int(r["n"]) for r in rows if int(r["n"])}


async def _open_cases() -> dict[int, int]:
    from models import Consultation

    counts: dict[int, int] = {}
    for a in await Consultation.filter(assignee_id__isnull=False, status__in=list(workflow.OPEN_STATUSES)
                                       ).values_list("assignee_id", flat=True):
        counts[int(a)] = counts.get(int(a), 0) + 1
    return counts


async def _agree(expected_total: int | None = None) -> dict[int, int]:
    loads, cases = await _loads(), await _open_cases()
    assert loads == cases
    if expected_total is not None:
        assert sum(loads.values()) == expected_total
    return loads


async def _ask(api, token: str, content: str) -> dict:
    resp = await api.client.post("/api/v1/consultations", json={"content": content}, headers=auth(token))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _post(api, token: str, path: str, body: dict | None = None) -> dict:
    resp = await api.client.post(path, json=body or {}, headers=auth(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


def test_the_migration_counts_the_statuses_the_workflow_calls_open():
    migration = importlib.import_module("models.migrations.0011_consultant_load")
    listed = {s.strip(" '") for s in migration.OPEN.strip("()").split(",")}
    assert listed == set(workflow.OPEN_STATUSES)


async def test_load_follows_every_move_of_a_case(api, topics):
    from models import Consultation, Enterprise

    await api.staff_token("consultant", "load-a", department="SCJG")
    await api.staff_token("consultant", "load-b", department="SCJG")
    await api.staff_token("consultant", "load-rs", department="RS")
    sup = await api.staff_token("supervisor", "load-sup", department="SCJG")
    token, ent = await api.owner("load-owner-1")
    cases = [await _ask(api, token, q) for q in ("营业执照经营范围怎么填写？", "个体工商户营业执照能网上办吗？",
                                                 "营业执照经营范围变更怎么办理？", "营业执照的住所变更要什么材料？")]
    assert {c["status"] for c in cases} == {"assigned"}, [(c["status"], c["department"]) for c in cases]
    loads = await _agree(4)
    assert sorted(loads.values()) == [2, 2]  # least open work spreads them
    one, two, three, four = (c["id"] for c in cases)

    # 改派: one consultant's load moves to the other
    current = (await (await api.client.get(f"/api/v1/consultations/{one}", headers=auth(sup))).json())["assignee"]["id"]
    other = next(u for u in loads if u != current)
    await _post(api, sup, f"/api/v1/consultations/{one}/assign", {"assignee_id": other, "reason": "原承办人休假"})
    await _agree(4)

    # 退单 to another department: off SCJG, onto the RS consultant by redispatch
    scjg_token = await api.staff_token("supervisor", "load-sup-b", department="SCJG")
    moved = await _post(api, scjg_token, f"/api/v1/consultations/{two}/return",
                        {"reason": "主要是社保参保问题", "department_code": "RS"})
    assert moved["status"] == "assigned"
    await _agree(4)

    # answered is still open work; resolved and closed are not; reopened is again
    row = await Consultation.get(id=three)
    answerer = await api.staff_token("supervisor", "load-sup-c", department="SCJG")
    resp = await api.client.post(f"/api/v1/consultations/{three}/messages", headers=auth(answerer),
                                 json={"body": "请在线提交住所证明材料。", "internal": False})
    assert resp.status == 200, await resp.text()
    assert (await Consultation.get(id=three)).status == "answered"
    await _agree(4)
    await _post(api, token, f"/api/v1/consultations/{three}/resolve")
    await _agree(3)
    await _post(api, answerer, f"/api/v1/consultations/{three}/close")
    await _agree(3)
    await _post(api, token, f"/api/v1/consultations/{three}/reopen")
    assert (await Consultation.get(id=three)).assignee_id == row.assignee_id
    await _agree(4)

    # 并单 and withdrawal end open work
    await _post(api, sup, f"/api/v1/consultations/{four}/merge", {"into_id": one, "reason": "同一问题"})
    await _agree(3)
    await _post(api, token, f"/api/v1/consultations/{one}/withdraw", {"reason": "已自行解决"})
    await _agree(2)

    # a bulk UPDATE outside the service, then the enterprise deleted with its cases
    await Consultation.filter(id=three).update(status="closed")
    await _agree(1)
    await Enterprise.filter(id=ent["id"]).delete()
    assert await _agree(0) == {}


async def test_dispatch_goes_by_the_load(api, topics):
    """The consultant with fewer open cases gets the next one, whoever got the last."""
    from models import Consultation, User

    await api.staff_token("consultant", "load-c", department="SCJG")
    await api.staff_token("consultant", "load-d", department="SCJG")
    token, _ = await api.owner("load-owner-2")
    first = await _ask(api, token, "营业执照经营范围怎么填写？")
    c = await User.get(username="load-c")
    d = await User.get(username="load-d")
    assert (await Consultation.get(id=first["id"])).assignee_id == c.id  # tie: the lower id
    # d is given two cases behind dispatch's back: the next case goes to c again
    for content in ("营业执照经营范围变更怎么办理？", "营业执照的住所变更要什么材料？"):
        case = await _ask(api, token, content)
        await Consultation.filter(id=case["id"]).update(assignee_id=d.id)
    await _agree(3)
    nxt = await _ask(api, token, "个体工商户营业执照能网上办吗？")
    assert (await Consultation.get(id=nxt["id"])).assignee_id == c.id
    await _agree(4)


async def test_the_migration_fills_the_load_of_cases_already_there(api, topics):
    """Upgrading a database with open cases: migration 0011 counts them (and may run its
    step again: the triggers are replaced, not doubled)."""
    from tortoise.transactions import in_transaction

    await api.staff_token("consultant", "load-e", department="SCJG")
    await api.staff_token("consultant", "load-f", department="SCJG")
    token, _ = await api.owner("load-owner-3")
    for content in ("营业执照经营范围怎么填写？", "个体工商户营业执照能网上办吗？", "营业执照经营范围变更怎么办理？"):
        await _ask(api, token, content)
    before = await _agree(3)
    await connections.get("default").execute_script("DELETE FROM consultant_load")
    assert await _loads() == {}
    async with in_transaction() as conn:
        class Editor:
            client = conn

        # 0011 again, and the migrations that changed its triggers since (0019, 0020)
        for name in ("0011_consultant_load", "0019_consultant_load_per_statement",
                     "0020_consultant_load_update_in_order"):
            await importlib.import_module(f"models.migrations.{name}")._forward(None, Editor())
    assert await _agree(3) == before
    await _ask(api, token, "营业执照的住所变更要什么材料？")  # one trigger per change, not two
    await _agree(4)


@pytest.mark.parametrize("name", ["0019_consultant_load_per_statement", "0020_consultant_load_update_in_order"])
def test_the_later_triggers_count_the_same_statuses_as_open(name):
    migration = importlib.import_module(f"models.migrations.{name}")
    listed = {s.strip(" '") for s in migration.OPEN.strip("()").split(",")}
    assert listed == set(workflow.OPEN_STATUSES) and migration.SHARDS == 16


_CASE = ("INSERT INTO consultation (channel, kind, content, contact_name, element_detail, topic_code, suggestion, "
         "corrected, status, moderation, accepted_at, working_days, due_at, due_provisional, remind_at, escalate_at, "
         "overdue, created_at, updated_at, enterprise_id, assignee_id) VALUES {rows}")
_ROW = ("('miniprogram', 'consultation', '并发派单', '', '', '', '{{}}', FALSE, 'assigned', 'pass', now(), 3, now(), "
        "FALSE, now(), now(), FALSE, now(), now(), {ent}, {user})")


class _Race(NamedTuple):
    """Two consultants ``a`` < ``b`` of one department, an enterprise ``ent``, and a
    ``writer`` connection whose shard's counter row of ``a`` another transaction holds
    until ``release()``; ``prober`` looks on."""

    a: int
    b: int
    ent: int
    writer: Any
    prober: Any
    shard: int
    release: Any


@contextlib.asynccontextmanager
async def _a_row_held(api, database_url: str, name: str):
    import asyncpg

    from models import User

    await api.staff_token("consultant", f"{name}-a", department="SCJG")
    await api.staff_token("consultant", f"{name}-b", department="SCJG")
    a, b = sorted([(await User.get(username=f"{name}-{x}")).id for x in "ab"])
    _, ent = await api.owner(f"{name}-owner")
    url = database_url.replace("postgres://", "postgresql://", 1)
    writer, holder, prober = [await asyncpg.connect(url) for _ in range(3)]
    try:
        shard = writer.get_server_pid() % 16
        await holder.execute(f"INSERT INTO consultant_load (user_id, shard, open_cases) VALUES ({a}, {shard}, 0), "
                             f"({b}, {shard}, 0) ON CONFLICT (user_id, shard) DO NOTHING")
        hold = holder.transaction()
        await hold.start()
        await holder.execute(f"SELECT 1 FROM consultant_load WHERE user_id = {a} AND shard = {shard} FOR UPDATE")
        yield _Race(a, b, ent["id"], writer, prober, shard, hold.rollback)
    finally:
        for conn in (writer, holder, prober):
            await conn.close()


async def _waits_then_b_is_free(race: _Race) -> None:
    """The writer waits for a lock (A's row), and B's row can be taken meanwhile."""
    for _ in range(100):
        if await race.prober.fetchval("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1 "
                                      "AND wait_event_type = 'Lock'", race.writer.get_server_pid()):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the writer should be waiting for A's row")
    probe = race.prober.transaction()
    await probe.start()
    await race.prober.execute("SET LOCAL lock_timeout = '200ms'")
    await race.prober.execute(f"SELECT 1 FROM consultant_load WHERE user_id = {race.b} AND shard = {race.shard} "
                              "FOR UPDATE")
    await probe.rollback()


@pytest.mark.skipif(BACKEND != "pg", reason="shards and row locks of concurrent writers exist on PostgreSQL only; "
                                            "SQLite has one writer")
async def test_a_statement_takes_its_consultants_rows_in_consultant_order(api, database_url):
    """Why two groups written at once cannot deadlock (migration 0019): a statement that
    adds cases for consultants B and A (in that order) waits for A's counter row before it
    touches B's. Shown with A's row held by another transaction: B's row stays free."""
    async with _a_row_held(api, database_url, "order") as race:
        # B's case first, then A's: the statement blocks on A's row
        rows = ", ".join(_ROW.format(ent=race.ent, user=u) for u in (race.b, race.a))
        write = asyncio.create_task(race.writer.execute(_CASE.format(rows=rows)))
        await _waits_then_b_is_free(race)
        await race.release()
        await asyncio.wait_for(write, 5)
        assert await _loads() == await _open_cases() == {race.a: 1, race.b: 1}


@pytest.mark.skipif(BACKEND != "pg", reason="shards and row locks of concurrent writers exist on PostgreSQL only; "
                                            "SQLite has one writer")
async def test_a_reassignment_takes_both_consultants_rows_in_consultant_order(api, database_url):
    """Why a 改派 cannot deadlock with an intake (migration 0020): moving a case from B
    to A (A's id the lower) waits for A's counter row before it touches B's, as an
    intake statement does (0019). Shown with A's row held by another transaction: B's
    row stays free; and the counts are right once A's row is released."""
    async with _a_row_held(api, database_url, "move") as race:
        case = await race.writer.fetchval(_CASE.format(rows=_ROW.format(ent=race.ent, user=race.b)) + " RETURNING id")
        move = asyncio.create_task(race.writer.execute(
            f"UPDATE consultation SET assignee_id = {race.a} WHERE id = {case}"))
        await _waits_then_b_is_free(race)
        await race.release()
        await asyncio.wait_for(move, 5)
        assert await _loads() == await _open_cases() == {race.a: 1}
