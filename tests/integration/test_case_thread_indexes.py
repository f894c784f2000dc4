"""A case's page reads its history and thread through an index on the case (migration
0018), not by scanning every case's events and messages: with thousands of other rows
present, the query plan of both reads uses the index on both tiers, and the case page
still shows its own history and thread only."""

from __future__ import annotations

import json

import pytest
from tortoise import connections

from tests.conftest import auth

pytestmark = pytest.mark.usefixtures("catalogue")

OTHER_ROWS = 3000


async def _fill(table: str, case_id: int) -> None:
    """OTHER_ROWS rows of another case, written by the database itself (one statement)."""
    conn = connections.get("default")
    if table == "consultation_event":
        cols, vals = ("consultation_id, action, from_status, to_status, actor_role, actor_name, detail, at",
                      "{id}, 'note', '', '', 'system', '系统', {detail}, CURRENT_TIMESTAMP")
    else:
        cols, vals = ("consultation_id, author_role, author_name, body, internal, created_at",
                      "{id}, 'system', '系统', '其他咨询的留言', FALSE, CURRENT_TIMESTAMP")
    if conn.capabilities.dialect == "postgres":
        sql = (f"INSERT INTO {table} ({cols}) SELECT {vals.format(id=case_id, detail=repr(json.dumps({})) + '::jsonb')} "
               f"FROM generate_series(1, {OTHER_ROWS})")
        await conn.execute_script(sql)
        await conn.execute_script(f"ANALYZE {table}")
    else:
        sql = (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {OTHER_ROWS}) "
               f"INSERT INTO {table} ({cols}) SELECT {vals.format(id=case_id, detail=repr(json.dumps({})))} FROM n")
        await conn.execute_script(sql)
        await conn.execute_script("ANALYZE")


async def _plan(table: str, case_id: int) -> str:
    conn = connections.get("default")
    query = f"SELECT * FROM {table} WHERE consultation_id = {case_id} ORDER BY id"
    if conn.capabilities.dialect == "postgres":
        _, rows = await conn.execute_query(f"EXPLAIN {query}")
        return "\n".join(r["QUERY PLAN"] for r in rows)
    _, rows = await conn.execute_query(f"EXPLAIN QUERY PLAN {query}")
    return "\n".join(str(r["detail"]) for r in rows)


async def test_case_history_and_thread_are_read_by_index(api, topics):
    tax = await api.staff_token("consultant", "idx-tax", department="SW")
    token, _ = await api.owner("idx-owner-1")
    asked = []
    for text in ("我们是小规模纳税人，增值税发票怎么申报？", "个体工商户的增值税起征点是多少？"):
        resp = await api.client.post("/api/v1/consultations", json={"content": text}, headers=auth(token))
        assert resp.status == 201
        asked.append((await resp.json())["id"])
    mine, other = asked
    resp = await api.client.post(f"/api/v1/consultations/{mine}/messages", headers=auth(tax),
                                 json={"body": "您好，月销售额10万元以下免征增值税。"})
    assert resp.status == 200
    for table in ("consultation_event", "consultation_message"):
        await _fill(table, other)
        plan = await _plan(table, mine)
        assert "index" in plan.lower() and "consultation_id" in plan, plan
        assert "Seq Scan" not in plan and f"SCAN {table}\n" not in plan + "\n", plan
    page = await (await api.client.get(f"/api/v1/consultations/{mine}", headers=auth(tax))).json()
    assert [e["action"] for e in page["events"]] == ["create", "assign", "answer"]
    assert [m["body"] for m in page["messages"]] == ["您好，月销售额10万元以下免征增值税。"]
