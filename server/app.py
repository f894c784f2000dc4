"""The one app factory. One cleanup context per resource, in dependency order:
database → Redis → HTTP client and WeChat gateway → search warm-up → background jobs
(scheduler and, when ``run_background``, an in-process delivery worker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import structlog
from aiohttp import web

from handlers.appkeys import BACKGROUND, RUNTIME, SANDBOX, SETTINGS
from models.redis_keys import Keys
from notifications import outbox, worker
from server import db, loop_lag, redis_lane, scheduler
from server.middlewares import errors, request_context
from server.routes import setup_routes
from server.settings import Settings
from services.crypto import FieldCipher
from services.runtime import Runtime
from services.service_items import text
from wechat.gateway import WeChatGateway
from wechat.http_lane import HttpLane

log = structlog.get_logger("server")


def make_redis(url: str):
    """``memory://`` gives the in-process substitute (fakeredis): one process only.

    redis-py picks up hiredis (a dependency, ``redis[hiredis]``) by itself: replies are
    parsed and commands packed in C, about 6 µs less client CPU per command here, and
    most API requests make at least one (the session lookup)."""
    if url.startswith("memory://"):
        import fakeredis

        return fakeredis.FakeAsyncRedis()
    from redis.asyncio import Redis

    return Redis.from_url(url, health_check_interval=30, socket_timeout=5, socket_connect_timeout=3)


async def _database(app: web.Application) -> AsyncIterator[None]:
    await db.init_db(app[SETTINGS].database_url)
    yield
    await db.close_db()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = app[RUNTIME].redis if app[RUNTIME].redis is not None else make_redis(settings.redis_url)
    app[RUNTIME].redis = redis
    # The session lookup every request makes goes over its own pipelined connection
    # (server/redis_lane.py); everything else keeps redis-py.
    lane = app[RUNTIME].lane = redis_lane.for_client(redis)
    yield
    if lane is not None:
        await lane.aclose()
    app[RUNTIME].lane = None
    await redis.aclose()


#: How long an API process reuses the access token it last read from Redis.
API_TOKEN_CACHE_SECONDS = 2.0


def make_gateway(settings: Settings, rt: Runtime, *,
                 token_cache_seconds: float = 0.0) -> tuple[WeChatGateway, aiohttp.ClientSession]:
    """The gateway and the HTTP session it owns (close the session on shutdown).

    ``token_cache_seconds``: worker and API processes hold the access token briefly in
    memory instead of reading Redis for every message or content check (see WeChatGateway)."""
    s = settings
    # Enough connections for the delivery worker's concurrent sends plus API traffic.
    limit = max(100, s.delivery_concurrency + 20)
    # No cookie jar: WeChat's APIs set none we need, and filtering a jar costs every request.
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit, ttl_dns_cache=300),
                                 cookie_jar=aiohttp.DummyCookieJar())
    lane = HttpLane(s.wechat_base(), limit=limit)
    gateway = WeChatGateway(base_url=s.wechat_base(), http=http, redis=rt.redis, keys=rt.keys,
                            appid=s.wechat_appid, secret=s.wechat_secret.get_secret_value(),
                            mp_appid=s.wechat_mp_appid, mp_secret=s.wechat_mp_secret.get_secret_value(),
                            token_cache_seconds=token_cache_seconds, lane=lane)
    return gateway, http


async def _wechat(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    # Every consultation intake calls msgSecCheck: without the in-process copy each one
    # would read the token from Redis first (python -m bench intake). A token refreshed
    # elsewhere meanwhile answers 40001/42001, which drops the copy and re-reads Redis.
    rt.gateway, http = make_gateway(app[SETTINGS], rt, token_cache_seconds=API_TOKEN_CACHE_SECONDS)
    yield
    await rt.gateway.close()
    await http.close()


async def _search_warm_up(app: web.Application) -> AsyncIterator[None]:
    # jieba (rjieba) loads its dictionary when first used (about 0.1 s, with the domain
    # words and synonyms): do it before the first request.
    await asyncio.to_thread(text.warm_up)
    yield


async def _background(app: web.Application) -> AsyncIterator[None]:
    # The lag of every API process's own loop, background jobs or not (server/loop_lag.py).
    tasks: list[asyncio.Task] = [asyncio.create_task(loop_lag.watch(), name="loop-lag")]
    if app[SETTINGS].run_background:
        tasks.append(asyncio.create_task(scheduler.run_forever(app[RUNTIME]), name="scheduler"))
        tasks.append(asyncio.create_task(worker.run_worker(app[RUNTIME]), name="delivery-worker"))
    app[BACKGROUND] = tasks
    yield
    for task in tasks:
        await scheduler.stop(task)
    # emerging-topic clusterings a visit started: finish them (seconds) while the database
    # is still open, rather than leave a half-written result or a task destroyed pending
    from services.insights import views as insights_views

    try:
        await asyncio.wait_for(insights_views.settle(), timeout=30)
    except asyncio.TimeoutError:
        log.warning("insights_refresh_left_running")


def create_app(settings: Settings | None = None, *, redis=None) -> web.Application:
    settings = settings or Settings()
    app = web.Application(middlewares=[request_context, errors], client_max_size=settings.max_upload_bytes)
    app[SETTINGS] = settings
    outbox.configure(settings)
    app[RUNTIME] = Runtime(settings=settings, redis=redis, keys=Keys(settings.redis_prefix),
                           cipher=FieldCipher(settings.field_encryption_key.get_secret_value()))
    app.cleanup_ctx.extend([_database, _redis, _wechat, _search_warm_up, _background])
    setup_routes(app)
    if settings.wechat_mode == "sandbox" and not settings.wechat_api_base:
        from wechat.sandbox import create_sandbox_app

        sandbox = create_sandbox_app()
        app[SANDBOX] = sandbox
        app.add_subapp("/wechat-sandbox", sandbox)
    return app
