"""Database set-up: one tortoise config, migrations, and a context that is closed.

We keep the context ``Tortoise.init()`` returns and close it explicitly: the SQLite
backend runs a worker thread that otherwise keeps the process alive.

On PostgreSQL the asyncpg pool holds up to ``POOL_MAX_SIZE`` connections unless the URL
says otherwise (``?maxsize=N``, also ``?minsize=N``): tortoise's default of 5 queued
requests under load (p99 of the feed 490 ms with 5, 140 ms with 20 at 64 connections).
Mind PostgreSQL's ``max_connections`` (100 by default) across API processes and workers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as migrate_api

log = structlog.get_logger(__name__)
MODELS_APP = "models"
POOL_MAX_SIZE = 20
#: Releases of connections whose rows were already handed back (see :func:`read_rows`).
_RELEASING: set[asyncio.Task] = set()


async def _keep_session(connection: Any) -> None:
    """Released connections skip asyncpg's reset query (``RESET ALL``, ``UNLISTEN *``,
    unlocking advisory locks, ``CLOSE ALL``): one round trip per query saved. The
    product keeps no session state on a connection — ``SET LOCAL`` only, inside
    transactions, which asyncpg still rolls back when a connection comes back with one
    open. Whoever adds ``SET``, ``LISTEN``, advisory locks or cursors outside a
    transaction must bring the reset back."""


def _connection(database_url: str) -> str | dict[str, Any]:
    if not database_url.startswith(("postgres://", "asyncpg://")):
        return database_url
    from tortoise.backends.base.config_generator import expand_db_url

    config = expand_db_url(database_url)
    config["credentials"].setdefault("maxsize", POOL_MAX_SIZE)
    config["credentials"]["reset"] = _keep_session
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite://") and not database_url.startswith("sqlite://:memory:"):
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {MODELS_APP: {"models": ["models"], "migrations": "models.migrations",
                              "default_connection": "default"}},
        "use_tz": True,
        "timezone": "Asia/Shanghai",
    }


def _env_config() -> dict[str, Any]:
    from server.settings import Settings

    return tortoise_config(Settings().database_url)


#: For ``python -m tortoise -c server.db.TORTOISE_ORM makemigrations`` (developers).
TORTOISE_ORM = _env_config() if os.environ.get("TORTOISE_CLI") else None


async def init_db(database_url: str) -> None:
    # Global fallback: aiohttp serves each request in its own task, which does not
    # inherit the context variable set by the start-up task.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str) -> None:
    await migrate_api(config=tortoise_config(database_url))
    await Tortoise.close_connections()


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
