"""The route table: every handler module, registered from its declarations."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

import handlers.audit  # noqa: F401  (importing a handler module declares its routes)
import handlers.auth  # noqa: F401
import handlers.calendar  # noqa: F401
import handlers.consultation_quality  # noqa: F401
import handlers.consultations  # noqa: F401
import handlers.deadline_rules  # noqa: F401
import handlers.docs  # noqa: F401
import handlers.enterprises  # noqa: F401
import handlers.health  # noqa: F401
import handlers.insights  # noqa: F401
import handlers.knowledge  # noqa: F401
import handlers.messages  # noqa: F401
import handlers.open_data  # noqa: F401
import handlers.policies  # noqa: F401
import handlers.proposals  # noqa: F401
import handlers.service_items  # noqa: F401
import handlers.topics  # noqa: F401
import handlers.staff  # noqa: F401
import handlers.supervision  # noqa: F401
import handlers.wechat_callback  # noqa: F401
from handlers.base import ENDPOINTS

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"


async def _console_index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(CONSOLE_DIR / "index.html")


async def _console_redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


def setup_routes(app: web.Application) -> None:
    seen: set[tuple[str, str]] = set()
    for ep in ENDPOINTS:
        key = (ep.method, ep.path)
        if key in seen:  # a module imported twice must not register twice
            continue
        seen.add(key)
        app.router.add_route(ep.method, ep.aiohttp_path, ep.wrapped, name=None)
    app.router.add_get("/", _console_redirect)
    app.router.add_get("/console", _console_redirect)
    app.router.add_get("/console/", _console_index)
    if CONSOLE_DIR.exists():
        app.router.add_static("/console/", CONSOLE_DIR, show_index=False, follow_symlinks=False)
