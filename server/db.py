"""Database set-up: one tortoise config, migrations, and a context that is closed.

We keep the context ``Tortoise.init()`` returns and close it explicitly: the SQLite
backend runs a worker thread that otherwise keeps the process alive.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as migrate_api

MODELS_APP = "models"


def tortoise_config(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite://") and not database_url.startswith("sqlite://:memory:"):
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": database_url},
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
