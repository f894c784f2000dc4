"""All aiohttp AppKeys in one module.

They live in ``handlers`` (not ``server``) because handlers read them and imports
point ``server → handlers``; the app factory in ``server`` fills them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
SETTINGS = web.AppKey("settings", Any)
SANDBOX = web.AppKey("wechat_sandbox", Any)
BACKGROUND = web.AppKey("background_tasks", list)

REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", object)
