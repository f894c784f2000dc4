"""Reads that hand their rows back as soon as they arrive (see :func:`read_rows`).

Beside the models rather than in ``server.db`` because services use it (the feed's
profile load), and imports point from services to models, never to the composition root.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from tortoise import connections

log = structlog.get_logger(__name__)
#: Releases of connections whose rows were already handed back (see :func:`read_rows`).
_RELEASING: set[asyncio.Task] = set()


async def read_rows(sql: str, args: Sequence[Any]) -> list[Mapping[str, Any]]:
    """Rows of one read-only statement outside any transaction (PostgreSQL placeholders
    ``$1``…, SQLite ``?``), handed back as soon as they arrive.

    Why not ``execute_query_dict``: asyncpg returns a connection to the pool under
    ``asyncio.shield``, a task of its own, so the caller resumes two event-loop turns after
    its rows came in. Under load (64 connections on one process) a turn lasts several
    milliseconds, and the feed's requests that must load a profile from the database were
    the slowest 2 % because of it. Here the release runs in a task the caller does not
    wait for; the pool gets the connection back in the next turn all the same. A failed
    query is released before the error propagates, as before."""
    conn = connections.get("default")
    pool = getattr(conn, "_pool", None)
    # Only the pool's own client: inside ``in_transaction`` the statement must run on the
    # transaction's connection; before its first query the pool does not exist yet.
    if type(conn).__name__ != "AsyncpgDBClient" or pool is None:
        return await conn.execute_query_dict(sql, list(args))
    con = await pool.acquire()
    try:
        rows = await con.fetch(sql, *args)
    except BaseException:
        await pool.release(con)
        raise
    task = asyncio.get_running_loop().create_task(pool.release(con))
    _RELEASING.add(task)
    task.add_done_callback(_released)
    return rows


def _released(task: asyncio.Task) -> None:
    _RELEASING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        # asyncpg has terminated the connection already; the pool opens a new one on demand.
        log.warning("pool_release_failed", error=repr(task.exception()))
