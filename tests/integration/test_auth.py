import orjson
from redis.exceptions import NoScriptError

from services.auth import sessions
from tests.conftest import auth


async def test_same_sandbox_name_is_the_same_wechat_user_and_different_names_are_not(client):
    a1 = await (await client.post("/api/v1/auth/wechat-login", json={"code": "sandbox-zhang"})).json()
    a2 = await (await client.post("/api/v1/auth/wechat-login", json={"code": "sandbox-zhang"})).json()
    b = await (await client.post("/api/v1/auth/wechat-login", json={"code": "sandbox-li"})).json()
    assert a1["user"]["id"] == a2["user"]["id"] != b["user"]["id"]
    assert a1["token"] != a2["token"]
    assert a1["user"]["role"] == "visitor" and a1["user"]["enterprise_id"] is None


async def test_session_key_never_leaves_the_server(client, rt):
    resp = await client.post("/api/v1/auth/wechat-login", json={"code": "sandbox-zhang"})
    raw = await resp.text()
    assert "session_key" not in raw
    keys = [k async for k in rt.redis.scan_iter(match=f"{rt.keys.prefix}:session:*")]
    for key in keys:
        assert b"session_key" not in await rt.redis.get(key)


async def test_invalid_wechat_code_is_401_in_chinese(client):
    resp = await client.post("/api/v1/auth/wechat-login", json={"code": "not-a-code"})
    body = await resp.json()
    assert resp.status == 401
    assert body["error"]["code"] == "invalid_wechat_code"
    assert "微信登录凭证无效" in body["error"]["message"]


async def test_bad_login_bodies_are_422_not_500(client):
    for payload in (b"", b"not json", b"[]", orjson.dumps({"code": ""}), orjson.dumps({"code": 5})):
        resp = await client.post("/api/v1/auth/wechat-login", data=payload,
                                 headers={"Content-Type": "application/json"})
        assert resp.status == 422, payload
        assert (await resp.json())["error"]["message"]


async def test_staff_login_works_and_me_shows_the_role(client, api):
    token = await api.staff_token("consultant")
    me = await (await client.get("/api/v1/me", headers=auth(token))).json()
    assert me["role"] == "consultant" and me["role_label"] == "咨询员"


async def test_wrong_password_counts_down_then_locks_for_30_minutes(client, api):
    await api.staff_token("policy_officer", username="wang")
    messages = []
    for _ in range(5):
        resp = await client.post("/api/v1/auth/staff-login", json={"username": "wang", "password": "wrong-password"})
        messages.append((resp.status, (await resp.json())["error"]["message"]))
    assert messages[0] == (401, "用户名或密码错误，还可尝试 4 次")
    assert messages[-1][0] == 423 and "锁定 30 分钟" in messages[-1][1]
    # Even the right password is refused while locked.
    resp = await client.post("/api/v1/auth/staff-login", json={"username": "wang", "password": "Demo@2026zone"})
    assert resp.status == 423
    assert "分钟后再试" in (await resp.json())["error"]["message"]


async def test_unknown_user_gets_the_same_message_as_a_wrong_password(client):
    resp = await client.post("/api/v1/auth/staff-login", json={"username": "ghost", "password": "whatever-123"})
    assert resp.status == 401
    assert (await resp.json())["error"]["message"] == "用户名或密码错误"


async def test_logout_revokes_the_token(client, api):
    token = await api.staff_token("supervisor")
    assert (await client.post("/api/v1/auth/logout", headers=auth(token))).status == 204
    resp = await client.get("/api/v1/me", headers=auth(token))
    assert resp.status == 401
    assert (await resp.json())["error"]["message"] == "登录已过期，请重新登录"


async def test_staff_sessions_expire_after_30_idle_minutes(client, api, rt):
    token = await api.staff_token("supervisor")
    keys = [k async for k in rt.redis.scan_iter(match=f"{rt.keys.prefix}:session:*")]
    assert len(keys) == 1
    ttl = await rt.redis.ttl(keys[0])
    assert 1700 < ttl <= 1800
    await rt.redis.delete(keys[0])  # what Redis does when the idle TTL runs out
    assert (await client.get("/api/v1/me", headers=auth(token))).status == 401


async def test_a_staff_session_slides_its_30_idle_minutes_on_use_and_a_wechat_one_its_7_days(client, api, rt):
    staff = await api.staff_token("supervisor")
    owner, _ent = await api.owner("sliding-owner")
    for token, full in ((staff, 30 * 60), (owner, 7 * 86400)):
        key = rt.keys.session(sessions.digest(token))
        await rt.redis.expire(key, full - 600)  # ten minutes without a request
        assert (await client.get("/api/v1/me", headers=auth(token))).status == 200
        assert full - 5 <= await rt.redis.ttl(key) <= full
        await rt.redis.expire(key, full - 10)  # a request a moment ago: no write needed
        assert (await client.get("/api/v1/me", headers=auth(token))).status == 200
        assert await rt.redis.ttl(key) <= full - 10


async def test_a_redis_that_forgot_the_lookup_script_still_lets_everyone_in(client, api, rt, monkeypatch):
    token = await api.staff_token("consultant")
    # the lookup runs on the lane where there is one (real Redis), else on redis-py
    looks_up = rt.lane or rt.redis
    real = looks_up.evalsha
    refused: list[str] = []

    async def forgetful(sha, *args):
        if not refused:  # what a restarted Redis answers to the first EVALSHA
            refused.append(sha)
            raise NoScriptError("No matching script. Please use EVAL.")
        return await real(sha, *args)

    monkeypatch.setattr(looks_up, "evalsha", forgetful)
    resp = await client.get("/api/v1/me", headers=auth(token))
    assert resp.status == 200 and (await resp.json())["role"] == "consultant"
    assert refused


async def test_malformed_authorization_header_is_401(client):
    resp = await client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert resp.status == 401
    assert (await resp.json())["error"]["message"] == "登录凭证格式不正确"


async def test_a_session_is_served_by_any_api_process_sharing_redis(settings, api, client):
    """Two app instances (two processes in production) share sessions through Redis."""
    from aiohttp.test_utils import TestClient, TestServer

    from handlers.appkeys import RUNTIME
    from server.app import _database, create_app

    token = await api.staff_token("consultant")
    other = create_app(settings, redis=client.app[RUNTIME].redis)
    other.cleanup_ctx.remove(_database)  # one ORM per test process; separate processes each have theirs
    async with TestClient(TestServer(other, host="127.0.0.1")) as second:
        me = await (await second.get("/api/v1/me", headers=auth(token))).json()
    assert me["role"] == "consultant"


async def test_security_admin_grants_roles_and_the_old_sessions_end(client, api):
    sec = await api.staff_token("security_admin")
    target = await api.staff_token("consultant", username="li")
    staff = await (await client.get("/api/v1/staff", headers=auth(sec))).json()
    li = next(s for s in staff["items"] if s["username"] == "li")
    resp = await client.put(f"/api/v1/staff/{li['id']}/role", json={"role": "supervisor"}, headers=auth(sec))
    assert resp.status == 200 and (await resp.json())["role"] == "supervisor"
    assert (await client.get("/api/v1/me", headers=auth(target))).status == 401


async def test_system_admin_cannot_create_admin_accounts_or_grant_roles(client, api):
    sys_token = await api.staff_token("system_admin")
    resp = await client.post("/api/v1/staff", headers=auth(sys_token), json={
        "username": "newsec", "password": "Long-enough-1", "role": "security_admin"})
    assert resp.status == 403
    assert (await resp.json())["error"]["message"] == "管理员角色只能由安全管理员授予"
    resp = await client.post("/api/v1/staff", headers=auth(sys_token), json={
        "username": "newconsultant", "password": "Long-enough-1", "role": "consultant",
        "department_code": None})
    assert resp.status == 201
    resp = await client.put(f"/api/v1/staff/{(await resp.json())['id']}/role", json={"role": "supervisor"},
                            headers=auth(sys_token))
    assert resp.status == 403


async def test_security_admin_unlocks_a_locked_account(client, api):
    await api.staff_token("consultant", username="zhao")
    for _ in range(5):
        await client.post("/api/v1/auth/staff-login", json={"username": "zhao", "password": "nope-nope-1"})
    sec = await api.staff_token("security_admin")
    staff = await (await client.get("/api/v1/staff", headers=auth(sec))).json()
    zhao = next(s for s in staff["items"] if s["username"] == "zhao")
    assert zhao["locked_until"] is not None
    assert (await client.post(f"/api/v1/staff/{zhao['id']}/unlock", headers=auth(sec))).status == 200
    resp = await client.post("/api/v1/auth/staff-login", json={"username": "zhao", "password": "Demo@2026zone"})
    assert resp.status == 200
