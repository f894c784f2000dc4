"""The pipelined connection for the per-request session lookup (``server/redis_lane.py``)
must answer exactly as redis-py does, and fail as redis-py fails. Against the real Redis
in both tiers: the lane is only ever built for one."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aredis
from redis import exceptions as rx

from server import redis_lane
from server.app import make_redis
from tests.conftest import BACKEND, REDIS_URL

SCRIPT = "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('INCR', KEYS[3])}"


@pytest.fixture
async def real():
    r = make_redis(REDIS_URL)
    try:
        await r.ping()
    except (rx.ConnectionError, OSError) as exc:
        pytest.fail(f"real Redis at {REDIS_URL} is unreachable ({exc}); set TEST_REDIS_URL")
    prefix = f"lanetest:{uuid.uuid4().hex[:8]}:"
    yield r, prefix
    keys = [k async for k in r.scan_iter(match=prefix + "*")]
    if keys:
        await r.delete(*keys)
    await r.aclose()


@pytest.fixture
async def lane(real):
    r, _ = real
    built = redis_lane.for_client(r)
    assert built is not None, "a redis:// client over TCP gets a lane"
    yield built
    await built.aclose()


async def test_replies_equal_redis_py_in_the_same_database(real, lane):
    r, p = real
    await r.set(p + "a", "会话".encode())
    sha = await r.script_load(SCRIPT)
    keys = (p + "a", p + "missing", p + "n")
    # the lane reads the database of the URL (3 for the tests), not database 0
    assert await lane.execute("GET", p + "a") == "会话".encode()
    assert await lane.evalsha(sha, 3, *keys) == [("会话".encode()), None, 1]
    assert await r.evalsha(sha, 3, *keys) == [("会话".encode()), None, 2]
    assert await lane.execute("GET", p + "missing") is None


async def test_error_replies_raise_redis_py_exceptions(real, lane):
    r, p = real
    with pytest.raises(rx.NoScriptError):
        await lane.evalsha("0" * 40, 1, p + "a")
    await r.set(p + "s", "text")
    with pytest.raises(rx.ResponseError) as err:
        await lane.execute("INCR", p + "s")
    assert not isinstance(err.value, rx.NoScriptError)
    # an error reply is one reply: the connection stays in step
    assert await lane.execute("GET", p + "s") == b"text"
    assert lane.connects == 1


async def test_concurrent_callers_each_get_their_own_reply(real, lane):
    r, p = real
    await r.mset({f"{p}{i}": str(i) for i in range(300)})
    await lane.execute("PING")
    writes = []
    transport = lane._protocol.transport
    real_write = transport.write

    def counted(data: bytes) -> None:
        writes.append(data)
        real_write(data)

    transport.write = counted
    replies = await asyncio.gather(*(lane.execute("GET", f"{p}{i}") for i in range(300)))
    assert replies == [str(i).encode() for i in range(300)]
    assert lane.connects == 1
    # commands of one turn of the event loop leave together
    assert len(writes) == 1 and writes[0].count(b"GET") == 300


async def test_a_cancelled_caller_does_not_shift_the_replies(real, lane):
    r, p = real
    await r.mset({f"{p}{i}": str(i) for i in range(60)})
    tasks = [asyncio.create_task(lane.execute("GET", f"{p}{i}")) for i in range(60)]
    await asyncio.sleep(0)  # every command is written
    for t in tasks[::3]:
        t.cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    for i, result in enumerate(done):
        if i % 3 == 0:
            assert isinstance(result, asyncio.CancelledError) or result == str(i).encode()
        else:
            assert result == str(i).encode()
    assert await lane.execute("GET", f"{p}59") == b"59"


async def test_a_killed_connection_fails_what_waits_and_the_next_command_reconnects(real, lane):
    r, p = real
    await r.set(p + "k", "v")
    my_id = await lane.execute("CLIENT", "ID")
    blocked = asyncio.create_task(lane.execute("BLPOP", p + "never", 3))
    await asyncio.sleep(0.05)
    assert await r.client_kill_filter(_id=my_id) == 1
    with pytest.raises(rx.ConnectionError):
        await blocked
    assert await lane.execute("GET", p + "k") == b"v"
    assert lane.connects == 2


async def test_no_answer_within_the_timeout_raises_and_drops_the_connection(real):
    r, p = real
    lane = redis_lane.for_client(r)
    lane.timeout = 0.2
    try:
        with pytest.raises(rx.TimeoutError):
            await lane.execute("BLPOP", p + "never", 2)
        # the late reply can never reach the next caller: that runs on a new connection
        await r.set(p + "k", "v")
        assert await lane.execute("GET", p + "k") == b"v"
        assert lane.connects == 2
    finally:
        await lane.aclose()


async def test_unreachable_redis_is_a_connection_error():
    lane = redis_lane.RedisLane(host="127.0.0.1", port=1, connect_timeout=1.0)
    with pytest.raises(rx.ConnectionError):
        await lane.execute("PING")


async def test_a_refused_password_is_an_authentication_error(real):
    r, _ = real
    kw = r.connection_pool.connection_kwargs
    lane = redis_lane.RedisLane(host=kw["host"], port=int(kw["port"]), password="wrong-password")
    try:
        with pytest.raises(rx.AuthenticationError):
            await lane.execute("PING")
    finally:
        await lane.aclose()


def test_only_plain_tcp_clients_get_a_lane():
    import fakeredis

    assert redis_lane.for_client(fakeredis.FakeAsyncRedis()) is None
    assert redis_lane.for_client(aredis.Redis.from_url("rediss://127.0.0.1:6380/0")) is None
    assert redis_lane.for_client(aredis.Redis.from_url("unix:///tmp/redis.sock")) is None
    assert redis_lane.for_client(aredis.Redis.from_url("redis://127.0.0.1:6379/0", protocol=3)) is None
    tcp = redis_lane.for_client(aredis.Redis.from_url("redis://u:pw@127.0.0.1:6390/4", socket_timeout=2))
    assert (tcp.host, tcp.port, tcp.db, tcp._auth, tcp.timeout) == ("127.0.0.1", 6390, 4, ["u", "pw"], 2.0)


@pytest.mark.skipif(BACKEND != "pg", reason="the embedded tier runs on the in-process Redis substitute, "
                                            "which gets no lane (test_only_plain_tcp_clients_get_a_lane)")
async def test_the_api_looks_sessions_up_through_the_lane(api, rt):
    token = await api.wechat_token("lane-user")
    assert rt.lane is not None and rt.lane.connects == 0  # nobody has been looked up yet
    resp = await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    assert rt.lane.connects == 1
    # a token Redis does not hold is refused, as through redis-py
    resp = await api.client.get("/api/v1/me", headers={"Authorization": "Bearer " + "x" * 43})
    assert resp.status == 401 and (await resp.json())["error"]["message"]
