"""Database set-up: one tortoise config, migrations, and a context that is closed.

We keep the context ``Tortoise.init()`` returns and close it explicitly: the SQLite
backend runs a worker thread that otherwise keeps the process alive.

On PostgreSQL the asyncpg pool holds up to ``POOL_MAX_SIZE`` connections unless the URL
says otherwise (``?maxsize=N``, also ``?minsize=N``): tortoise's default of 5 queued
requests under load (p99 of the feed 490 ms with 5, 140 ms with 20 at 64 connections).
Mind PostgreSQL's ``max_connections`` (100 by default) across API processes and workers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as migrate_api

MODELS_APP = "models"
POOL_MAX_SIZE = 20
#: Longest statement text asyncpg keeps prepared per connection (its default is 15 KiB).
#: Above the limit a statement is parsed and planned on every execution. The intake's
#: group statement passes the default from 7 cases on (16 KB at 8)
#: (``consultations.service._cases_sql``).
MAX_CACHED_STATEMENT = 128 * 1024


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
    config["credentials"].setdefault("max_cacheable_statement_size", MAX_CACHED_STATEMENT)
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
