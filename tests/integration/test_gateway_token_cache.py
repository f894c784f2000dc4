"""The API process's in-memory copy of the access token (``token_cache_seconds``).

Every consultation calls msgSecCheck, so the API holds the token a couple of seconds
instead of reading Redis each time. What must not change: the token still comes from
the single refresher through Redis, and a token the platform rejects (40001/42001) is
dropped at once rather than reused until the copy expires. Runs on real Redis and on
fakeredis, like the other gateway tests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiohttp
import fakeredis
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from models.redis_keys import Keys
from wechat.gateway import WeChatGateway
from wechat.sandbox import DEFAULT_APPS, STATE, SandboxState, create_sandbox_app

from tests.conftest import REDIS_URL

MINI, MP = DEFAULT_APPS
TEXT = "请问营业执照变更需要哪些材料？"


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[str, SandboxState]]:
    app = create_sandbox_app(seed=13)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", app[STATE]
    await runner.cleanup()


@pytest.fixture(params=["redis", "fakeredis"])
async def store(request) -> AsyncIterator[tuple[object, Keys]]:
    keys = Keys(prefix=f"sztest:{uuid.uuid4().hex}")
    client = aioredis.from_url(REDIS_URL) if request.param == "redis" else fakeredis.aioredis.FakeRedis()
    yield client, keys
    found = [k async for k in client.scan_iter(match=f"{keys.prefix}:*", count=500)]
    if found:
        await client.delete(*found)
    await client.aclose()


@pytest.fixture
async def gateways(sandbox, store) -> AsyncIterator[tuple[WeChatGateway, WeChatGateway, SandboxState]]:
    """An API gateway holding the token 0.3 s, and a second worker sharing its Redis."""
    client, keys = store
    async with aiohttp.ClientSession() as http:
        make = lambda cache: WeChatGateway(  # noqa: E731
            base_url=sandbox[0], http=http, redis=client, keys=keys, appid=MINI.appid, secret=MINI.secret,
            mp_appid=MP.appid, mp_secret=MP.secret, token_cache_seconds=cache)
        yield make(0.3), make(0.0), sandbox[1]


async def test_the_api_reuses_its_copy_and_reads_redis_again_when_it_expires(gateways, store) -> None:
    api, _, state = gateways
    client, keys = store
    openid = (await api.code2session("sandbox-erin")).openid
    assert (await api.msg_sec_check(openid, TEXT)).passed
    token = await client.get(keys.access_token(MINI.appid))
    await client.delete(keys.access_token(MINI.appid))
    # Within the holding time the copy answers: no Redis read found the key missing.
    assert (await api.msg_sec_check(openid, TEXT)).passed
    assert api.calls["stable_token"] == 1
    await asyncio.sleep(0.35)
    # Afterwards the token comes from Redis again — here missing, so the single refresher
    # asks the platform (which hands out the same stable token) and stores it again.
    assert (await api.msg_sec_check(openid, TEXT)).passed
    assert api.calls["stable_token"] == 2
    assert await client.get(keys.access_token(MINI.appid)) == token
    assert state.token_fetches == {MINI.appid: 1}


async def test_a_rejected_copy_is_dropped_and_the_renewed_token_taken_from_redis(gateways) -> None:
    api, worker, state = gateways
    openid = (await api.code2session("sandbox-fay")).openid
    stale = await api.access_token()
    # Another worker meets the platform's rejection first and renews through Redis.
    await worker.access_token()
    await worker.refresh_after_invalid("mini", stale)
    assert state.token_fetches == {MINI.appid: 2}
    # The API still holds the old token: one 40001, then the new token from Redis, no fetch of its own.
    assert (await api.msg_sec_check(openid, TEXT)).passed
    assert api.errors == {"msg_sec_check:40001": 1}
    assert state.token_fetches == {MINI.appid: 2}
    assert await api.access_token() == await worker.access_token() != stale
    assert (await api.msg_sec_check(openid, TEXT)).passed
    assert api.errors == {"msg_sec_check:40001": 1}, "the rejected copy is not used again"
