"""The WeChat gateway against the sandbox over real HTTP, with real and substitute Redis.

Each test runs twice: against a real Redis (``TEST_REDIS_URL``, a unique key prefix
per test, removed afterwards) and against fakeredis, the in-process substitute of
the embedded set-up — the token lock must behave the same on both.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import fakeredis
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from models.redis_keys import Keys
from wechat.gateway import (
    ERR_CONNECTION,
    ERR_HTTP,
    ERR_TIMEOUT,
    ERR_TOKEN_UNAVAILABLE,
    WeChatError,
    WeChatGateway,
)
from wechat.http_lane import HttpLane
from wechat.sandbox import DEFAULT_APPS, STATE, SandboxState, create_sandbox_app

from tests.conftest import REDIS_URL

MINI, MP = DEFAULT_APPS


@pytest.fixture(scope="module")
async def sandbox_url() -> AsyncIterator[tuple[str, SandboxState]]:
    app = create_sandbox_app(seed=11)
    # A short shutdown: an injected slow answer may still be sleeping at the end.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", app[STATE]
    await runner.cleanup()


@pytest.fixture
def sandbox(sandbox_url) -> SandboxState:
    state = sandbox_url[1]
    state.reset()
    return state


@pytest.fixture(params=["redis", "fakeredis"])
async def store(request) -> AsyncIterator[tuple[Any, Keys]]:
    keys = Keys(prefix=f"sztest:{uuid.uuid4().hex}")
    if request.param == "redis":
        client = aioredis.from_url(REDIS_URL)
        try:
            await client.ping()
        except Exception as exc:  # noqa: BLE001
            await client.aclose()
            pytest.fail(f"real Redis at {REDIS_URL} is unreachable ({exc}); set TEST_REDIS_URL")
    else:
        client = fakeredis.aioredis.FakeRedis()
    yield client, keys
    found = [k async for k in client.scan_iter(match=f"{keys.prefix}:*", count=500)]
    if found:
        await client.delete(*found)
    await client.aclose()


#: The gateway's calls go over its own kept-alive connections (wechat/http_lane.py), as
#: the server and worker build it, or through an aiohttp session, as it may be given one:
#: every test here runs with both, and both must behave the same.
TRANSPORTS = ["lane", "aiohttp"]


@pytest.fixture(params=TRANSPORTS)
async def http(request) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        session.gateway_lanes = [] if request.param == "lane" else None  # type: ignore[attr-defined]
        yield session
        for lane in session.gateway_lanes or ():  # type: ignore[attr-defined]
            await lane.close()


def make_gateway(http, store, base_url: str, *, timeout: float = 5.0) -> WeChatGateway:
    client, keys = store
    lane = None
    if http.gateway_lanes is not None:
        lane = HttpLane(base_url)
        http.gateway_lanes.append(lane)
    return WeChatGateway(base_url=base_url, http=http, redis=client, keys=keys,
                         appid=MINI.appid, secret=MINI.secret,
                         mp_appid=MP.appid, mp_secret=MP.secret, timeout=timeout, lane=lane)


@pytest.fixture
def gw(http, store, sandbox_url, sandbox) -> WeChatGateway:
    return make_gateway(http, store, sandbox_url[0])


async def control(http: aiohttp.ClientSession, base: str, method: str, path: str,
                  json: dict | None = None) -> Any:
    async with http.request(method, f"{base}{path}", json=json) as resp:
        assert resp.status < 300, await resp.text()
        return await resp.json() if resp.status != 204 else None


async def inject(http, sandbox_url, **fault: Any) -> None:
    await control(http, sandbox_url[0], "POST", "/sandbox/faults", fault)


DATA = {"thing1": "稳岗补贴申报提醒", "time2": "2026-03-01 09:00"}


# ------------------------------------------------------------- code2session

async def test_code2session_gives_each_sandbox_user_a_stable_openid(gw) -> None:
    alice = await gw.code2session("sandbox-alice")
    again = await gw.code2session("sandbox-alice")
    bob = await gw.code2session("sandbox-bob")
    assert alice.openid == again.openid != bob.openid
    assert alice.openid.startswith("oSBX") and len(alice.openid) == 28
    assert alice.unionid and alice.unionid == again.unionid != bob.unionid
    assert alice.session_key and alice.session_key != again.session_key
    assert alice.session_key not in repr(alice), "session_key must not reach logs"


@pytest.mark.parametrize("code", ["wrong-code", "sandbox-", "sandbox-" + "x" * 65, "sandbox-a b"])
async def test_code2session_rejects_an_invalid_code_as_permanent(gw, code: str) -> None:
    with pytest.raises(WeChatError) as info:
        await gw.code2session(code)
    assert info.value.errcode == 40029
    assert info.value.permanent and not info.value.transient


async def test_code2session_with_a_wrong_secret_is_40125(http, store, sandbox_url, sandbox) -> None:
    client, keys = store
    gw = WeChatGateway(base_url=sandbox_url[0], http=http, redis=client, keys=keys,
                       appid=MINI.appid, secret="not-the-secret", mp_appid=MP.appid,
                       mp_secret=MP.secret)
    with pytest.raises(WeChatError) as info:
        await gw.code2session("sandbox-alice")
    assert info.value.errcode == 40125 and info.value.permanent


# ------------------------------------------------------------ access token

async def test_access_token_is_fetched_once_and_cached_in_redis(gw, store, sandbox) -> None:
    client, keys = store
    first = await gw.access_token()
    assert await gw.access_token() == first
    assert sandbox.token_fetches == {MINI.appid: 1}
    ttl = await client.ttl(keys.access_token(MINI.appid))
    assert 7200 - 300 - 5 <= ttl <= 7200 - 300
    assert not await client.exists(keys.access_token_lock(MINI.appid)), "lock is released"


async def test_concurrent_callers_in_one_process_share_one_fetch(gw, sandbox) -> None:
    tokens = await asyncio.gather(*(gw.access_token() for _ in range(30)))
    assert len(set(tokens)) == 1
    assert sandbox.token_fetches == {MINI.appid: 1}


async def test_mini_program_and_official_account_have_separate_tokens(gw, sandbox) -> None:
    assert await gw.access_token("mini") != await gw.access_token("mp")
    assert sandbox.token_fetches == {MINI.appid: 1, MP.appid: 1}


async def test_a_token_invalidated_elsewhere_is_refreshed_once_and_the_call_retried(
        gw, http, sandbox_url, sandbox) -> None:
    stale = await gw.access_token()
    # Someone else forces a refresh (say, a tool outside our deployment): 40001 for us.
    sandbox.issue_token(MINI.appid, force=True)
    openid = (await gw.code2session("sandbox-carol")).openid
    answer = await gw.send_subscribe(openid, "tmpl-policy", DATA, page="pages/policy/detail?id=3")
    assert answer["errcode"] == 0 and answer["msgid"]
    assert sandbox.token_fetches[MINI.appid] == 3  # first, the outsider's, our one refresh
    assert await gw.access_token() != stale
    sent = await control(http, sandbox_url[0], "GET", f"/sandbox/sent?openid={openid}")
    assert sent["count"] == 1
    assert sent["items"][0]["data"]["thing1"] == {"value": "稳岗补贴申报提醒"}


async def test_many_workers_seeing_an_expired_token_cause_one_refresh(
        http, store, sandbox_url, sandbox) -> None:
    workers = [make_gateway(http, store, sandbox_url[0]) for _ in range(8)]
    openid = (await workers[0].code2session("sandbox-dan")).openid
    await workers[0].access_token()
    await control(http, sandbox_url[0], "POST", "/sandbox/expire-token", {"appid": MINI.appid})
    answers = await asyncio.gather(*(w.send_subscribe(openid, "tmpl-a", DATA)
                                     for w in workers for _ in range(3)))
    assert all(a["errcode"] == 0 for a in answers)
    assert sandbox.token_fetches[MINI.appid] == 2, "one initial fetch, one refresh for all 24 calls"


async def test_refresh_after_invalid_keeps_a_token_someone_already_renewed(gw, sandbox) -> None:
    stale = await gw.access_token()
    fresh = await gw.refresh_after_invalid("mini", stale)
    assert fresh != stale
    assert await gw.refresh_after_invalid("mini", stale) == fresh
    assert sandbox.token_fetches[MINI.appid] == 2


async def test_a_failed_token_fetch_releases_the_lock(gw, store, http, sandbox_url, sandbox) -> None:
    client, keys = store
    await inject(http, sandbox_url, endpoint="stable_token", errcode=-1, count=1)
    with pytest.raises(WeChatError) as info:
        await gw.access_token()
    assert info.value.errcode == -1 and info.value.transient
    assert not await client.exists(keys.access_token_lock(MINI.appid))
    assert await gw.access_token()


async def test_a_waiting_worker_takes_the_token_the_lock_holder_stores(gw, store, sandbox) -> None:
    client, keys = store
    await client.set(keys.access_token_lock(MINI.appid), "another-worker", px=5000)

    async def other_worker() -> None:
        await asyncio.sleep(0.15)
        await client.set(keys.access_token(MINI.appid), "TOKEN-FROM-ELSEWHERE", ex=60)
        await client.delete(keys.access_token_lock(MINI.appid))

    helper = asyncio.create_task(other_worker())
    assert await gw.access_token() == "TOKEN-FROM-ELSEWHERE"
    await helper
    assert sandbox.token_fetches == {}, "a waiter never fetches itself"


async def test_a_waiting_worker_gives_up_when_the_holder_fails(gw, store, sandbox) -> None:
    client, keys = store
    await client.set(keys.access_token_lock(MINI.appid), "another-worker", px=5000)
    asyncio.get_running_loop().call_later(
        0.1, lambda: asyncio.ensure_future(client.delete(keys.access_token_lock(MINI.appid))))
    with pytest.raises(WeChatError) as info:
        await gw.access_token()
    assert info.value.errcode == ERR_TOKEN_UNAVAILABLE and info.value.transient
    assert sandbox.token_fetches == {}


async def test_a_waiting_worker_waits_only_so_long(http, store, sandbox_url, sandbox) -> None:
    client, keys = store
    gw = make_gateway(http, store, sandbox_url[0], timeout=0.2)
    await client.set(keys.access_token_lock(MINI.appid), "stuck-worker", px=10_000)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(WeChatError) as info:
        await gw.access_token()
    assert info.value.errcode == ERR_TOKEN_UNAVAILABLE
    assert loop.time() - started < 3.5
    assert sandbox.token_fetches == {}


# ------------------------------------------------------- error classification

@pytest.mark.parametrize(("errcode", "transient"), [
    (-1, True), (45009, True), (45011, True), (500, True), (502, True), (503, True),
    (43101, False), (40003, False), (40037, False), (47003, False),
])
async def test_injected_faults_are_classified(gw, http, sandbox_url, errcode: int, transient: bool) -> None:
    openid = (await gw.code2session("sandbox-erin")).openid
    await inject(http, sandbox_url, endpoint="subscribe_send", errcode=errcode, count=1)
    with pytest.raises(WeChatError) as info:
        await gw.send_subscribe(openid, "tmpl-a", DATA)
    err = info.value
    assert err.transient is transient
    assert err.permanent is (not transient)
    assert not err.token_invalid
    if 500 <= errcode <= 599:
        assert err.http_status == errcode and err.errcode == ERR_HTTP
    else:
        assert err.errcode == errcode
    # The fault was for one call only: the next one goes through.
    assert (await gw.send_subscribe(openid, "tmpl-a", DATA))["errcode"] == 0
    assert gw.errors[f"subscribe_send:{err.errcode}"] == 1


async def test_faults_on_every_endpoint_reach_the_caller(gw, http, sandbox_url) -> None:
    await inject(http, sandbox_url, endpoint="*", errcode=45011, count=2)
    with pytest.raises(WeChatError) as first:
        await gw.code2session("sandbox-fay")
    with pytest.raises(WeChatError) as second:
        await gw.msg_sec_check("oSBXsomeone", "你好")  # fails at the token fetch
    assert first.value.errcode == second.value.errcode == 45011
    assert (await gw.msg_sec_check("oSBXsomeone", "你好")).suggest == "pass"


async def test_a_user_who_refused_is_a_permanent_43101(gw, http, sandbox_url) -> None:
    openid = (await gw.code2session("sandbox-gus")).openid
    await control(http, sandbox_url[0], "POST", "/sandbox/outcomes", {"openid": openid, "errcode": 43101})
    with pytest.raises(WeChatError) as info:
        await gw.send_subscribe(openid, "tmpl-a", DATA)
    assert info.value.errcode == 43101 and info.value.permanent


async def test_subscribe_data_over_the_thing_limit_is_47003(gw) -> None:
    openid = (await gw.code2session("sandbox-hal")).openid
    with pytest.raises(WeChatError) as info:
        await gw.send_subscribe(openid, "tmpl-a", {"thing1": "这是一段超过二十个字的事项名称，微信会拒绝发送"})
    assert info.value.errcode == 47003 and info.value.permanent


async def test_a_slow_answer_times_out_as_transient(http, store, sandbox_url, sandbox) -> None:
    gw = make_gateway(http, store, sandbox_url[0], timeout=0.3)
    await gw.access_token()
    await inject(http, sandbox_url, endpoint="msg_sec_check", latency_ms=1500, count=1)
    with pytest.raises(WeChatError) as info:
        await gw.msg_sec_check("oSBXsomeone", "你好")
    assert info.value.errcode == ERR_TIMEOUT and info.value.errmsg == "timeout"
    assert info.value.transient


async def test_an_unreachable_server_is_transient(http, store) -> None:
    with socket.socket() as s:  # a port nobody listens on once we let go of it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = make_gateway(http, store, f"http://127.0.0.1:{port}", timeout=1.0)
    with pytest.raises(WeChatError) as info:
        await gw.code2session("sandbox-ivy")
    assert info.value.errcode == ERR_CONNECTION and info.value.transient


def test_token_errors_are_neither_transient_nor_permanent() -> None:
    for code in (40001, 42001):
        err = WeChatError(code, "token")
        assert err.token_invalid and not err.transient and not err.permanent


# -------------------------------------------------------------- msgSecCheck

@pytest.mark.parametrize(("content", "suggest", "label"), [
    ("请问小微企业如何申请稳岗补贴？", "pass", 100),
    ("我要投诉举报，请给我领导电话", "review", 21000),
    ("有人在群里组织赌博", "risky", 20006),
    ("可以代开发票，联系我", "risky", 20008),
])
async def test_msg_sec_check_gives_the_v2_verdict(gw, content: str, suggest: str, label: int) -> None:
    verdict = await gw.msg_sec_check("oSBXsomeone", content)
    assert (verdict.suggest, verdict.label) == (suggest, label)
    assert verdict.trace_id.startswith("sbx-")
    assert verdict.passed is (suggest == "pass")


async def test_msg_sec_check_finds_risk_past_the_length_limit(gw) -> None:
    content = "企业经营情况良好。" * 400 + "赌博"
    assert len(content) > 2500
    verdict = await gw.msg_sec_check("oSBXsomeone", content)
    assert verdict.suggest == "risky"
    assert gw.calls["msg_sec_check"] == 2


# -------------------------------------------------------- template message

async def test_template_message_uses_the_official_account_token(gw, http, sandbox_url, sandbox) -> None:
    answer = await gw.send_template("oMPsomeone", "tmpl-mp", {"first": "您的咨询已有答复", "keyword1": "稳岗补贴"},
                                    miniprogram="pages/consultation/detail?id=9")
    assert answer["errcode"] == 0
    sent = await control(http, sandbox_url[0], "GET", "/sandbox/sent?openid=oMPsomeone")
    assert sent["items"][0]["kind"] == "template"
    assert sent["items"][0]["miniprogram"] == {"appid": MINI.appid,
                                              "pagepath": "pages/consultation/detail?id=9"}
    assert sandbox.token_fetches == {MP.appid: 1}
    assert gw.stats()["calls"] == {"stable_token": 1, "template_send": 1}


# ------------------------------------------------- official-account followers

async def follow(http, sandbox_url, name: str, *, following: bool = True) -> dict:
    path = "/sandbox/follow" if following else "/sandbox/unfollow"
    return await control(http, sandbox_url[0], "POST", path, {"name": name})


async def test_user_info_gives_a_follower_the_unionid_of_their_mini_program_login(gw, http, sandbox_url,
                                                                                 sandbox) -> None:
    login = await gw.code2session("sandbox-ivy")
    followed = await follow(http, sandbox_url, "ivy")
    assert followed["openid"] != login.openid, "openids differ per app; the unionid is shared"
    info = await gw.user_info(followed["openid"])
    assert info.subscribed and info.openid == followed["openid"]
    assert info.unionid == login.unionid == followed["unionid"]
    assert info.subscribe_time and info.subscribe_time > 0
    assert sandbox.token_fetches == {MP.appid: 1}, "user info uses the official account's own token"
    assert gw.stats()["calls"] == {"jscode2session": 1, "stable_token": 1, "user_info": 1}


async def test_user_info_of_someone_who_left_says_so_without_a_unionid(gw, http, sandbox_url) -> None:
    openid = (await follow(http, sandbox_url, "jon"))["openid"]
    await follow(http, sandbox_url, "jon", following=False)
    info = await gw.user_info(openid)
    assert not info.subscribed and info.unionid is None


@pytest.mark.parametrize("openid", ["oMPnobodyknowsthisone", "mini"])
async def test_user_info_of_an_openid_not_of_the_official_account_is_40003(gw, openid: str) -> None:
    if openid == "mini":  # a mini-program openid is not an official-account one
        openid = (await gw.code2session("sandbox-kim")).openid
    with pytest.raises(WeChatError) as info:
        await gw.user_info(openid)
    assert info.value.errcode == 40003 and info.value.permanent


async def test_batch_user_info_answers_in_the_order_asked(gw, http, sandbox_url) -> None:
    names = [f"batch{i:03d}" for i in range(100)]
    openids = [(await follow(http, sandbox_url, n))["openid"] for n in names]
    await follow(http, sandbox_url, names[7], following=False)
    infos = await gw.user_info_batch(list(reversed(openids)))
    assert [i.openid for i in infos] == list(reversed(openids))
    by_openid = {i.openid: i for i in infos}
    assert by_openid[openids[0]].unionid == SandboxState.unionid_for(names[0])
    assert not by_openid[openids[7]].subscribed and by_openid[openids[7]].unionid is None
    assert sum(i.subscribed for i in infos) == 99
    assert gw.calls["user_info_batchget"] == 1


async def test_batch_user_info_is_refused_past_100_before_any_call(gw) -> None:
    with pytest.raises(ValueError):
        await gw.user_info_batch([f"oMP{i}" for i in range(101)])
    with pytest.raises(ValueError):
        await gw.user_info_batch([])
    assert "user_info_batchget" not in gw.calls


async def test_one_foreign_openid_fails_the_whole_batch_with_40003(gw, http, sandbox_url) -> None:
    good = (await follow(http, sandbox_url, "lea"))["openid"]
    with pytest.raises(WeChatError) as info:
        await gw.user_info_batch([good, "oMPnotoursatall"])
    assert info.value.errcode == 40003


async def test_a_batch_too_long_for_the_platform_is_40032(http, sandbox_url, sandbox) -> None:
    # The sandbox checks the limit itself, as WeChat does (the gateway never sends this).
    async with http.post(f"{sandbox_url[0]}/cgi-bin/stable_token", json={
            "grant_type": "client_credential", "appid": MP.appid, "secret": MP.secret}) as resp:
        token = (await resp.json())["access_token"]
    async with http.post(f"{sandbox_url[0]}/cgi-bin/user/info/batchget", params={"access_token": token},
                         json={"user_list": [{"openid": f"oMP{i}"} for i in range(101)]}) as resp:
        assert (await resp.json())["errcode"] == 40032


@pytest.mark.parametrize("endpoint", ["user_info", "user_info_batchget"])
async def test_faults_injected_on_user_info_reach_the_caller_as_transient(gw, http, sandbox_url,
                                                                         endpoint: str) -> None:
    openid = (await follow(http, sandbox_url, "max"))["openid"]
    await inject(http, sandbox_url, endpoint=endpoint, errcode=-1, count=1)
    call = (lambda: gw.user_info(openid)) if endpoint == "user_info" else (lambda: gw.user_info_batch([openid]))
    with pytest.raises(WeChatError) as info:
        await call()
    assert info.value.transient
    answer = await call()
    assert (answer if isinstance(answer, list) else [answer])[0].subscribed


async def test_user_info_with_an_expired_token_refreshes_once_and_retries(gw, http, sandbox_url, sandbox) -> None:
    openid = (await follow(http, sandbox_url, "ned"))["openid"]
    await gw.user_info(openid)
    await control(http, sandbox_url[0], "POST", "/sandbox/expire-token", {"appid": MP.appid})
    assert (await gw.user_info(openid)).subscribed
    assert sandbox.token_fetches == {MP.appid: 2}


async def test_a_template_message_to_someone_who_left_is_43004(gw, http, sandbox_url) -> None:
    openid = (await follow(http, sandbox_url, "oli"))["openid"]
    assert (await gw.send_template(openid, "tmpl-mp", {"thing1": "稳岗补贴"}))["errcode"] == 0
    await follow(http, sandbox_url, "oli", following=False)
    with pytest.raises(WeChatError) as info:
        await gw.send_template(openid, "tmpl-mp", {"thing1": "稳岗补贴"})
    assert info.value.errcode == 43004 and info.value.permanent
