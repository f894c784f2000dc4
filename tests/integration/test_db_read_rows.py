"""``models.rows.read_rows``: the feed's profile query hands its rows back before asyncpg
has put the connection back in the pool. The connection must still come back, also when
the statement fails, and a read inside a transaction must see that transaction's rows."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from models import Topic
from models.rows import read_rows
from tests.conftest import BACKEND

_PLACEHOLDER = "$1" if BACKEND == "pg" else "?"


async def _settle() -> None:
    """A few event-loop turns: the release task's, and the pool's own after it."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_rows_come_back_as_the_statement_gives_them(client):
    rows = await read_rows(f"SELECT 40 + {_PLACEHOLDER} AS answer", [2])
    assert [dict(r) for r in rows] == [{"answer": 42}]


@pytest.mark.skipif(BACKEND != "pg", reason="the early hand-back exists for the asyncpg pool; SQLite has no pool")
async def test_the_connection_goes_back_to_the_pool_also_after_a_failed_statement(client):
    await read_rows("SELECT 1 AS one", [])  # the pool exists from here on
    await _settle()
    pool = connections.get("default")._pool
    idle = pool.get_idle_size()
    assert (await read_rows("SELECT $1::int AS n", [7]))[0]["n"] == 7
    await _settle()
    assert pool.get_idle_size() == idle
    with pytest.raises(Exception, match="no_such_table"):
        await read_rows("SELECT * FROM no_such_table WHERE id = $1", [1])
    await _settle()
    assert pool.get_idle_size() == idle
    many = await asyncio.gather(*(read_rows("SELECT $1::int AS n", [n]) for n in range(30)))
    assert [rows[0]["n"] for rows in many] == list(range(30))
    await _settle()
    assert pool.get_idle_size() >= idle


async def test_inside_a_transaction_the_read_sees_its_own_uncommitted_rows(client):
    with pytest.raises(OperationalError):
        async with in_transaction() as conn:
            await Topic.create(code="read-rows", name="测试", using_db=conn)
            rows = await read_rows(f"SELECT name FROM topic WHERE code = {_PLACEHOLDER}", ["read-rows"])
            assert [r["name"] for r in rows] == ["测试"]
            raise OperationalError("roll back the test row")
    assert await read_rows(f"SELECT name FROM topic WHERE code = {_PLACEHOLDER}", ["read-rows"]) == []
