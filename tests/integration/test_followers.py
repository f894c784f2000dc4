"""Official-account followers reached by template messages: follow → lookup → link.

The follow arrives as a signed ``subscribe`` push to ``/wechat/callback`` carrying
only the official-account openid; the sandbox answers ``cgi-bin/user/info`` with
the unionid jscode2session gave the same person, and a policy published through
the API then reaches them as a template message.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import User, WeChatEvent
from models.notifications import Delivery, WeChatFollower
from notifications import followers
from notifications.worker import UNFOLLOWED, DeliveryWorker
from server import scheduler
from tests.conftest import auth
from wechat.callback import sign
from wechat.sandbox import SandboxState

pytestmark = pytest.mark.usefixtures("catalogue", "clean_policies")
TZ = ZoneInfo("Asia/Shanghai")
_times = itertools.count(int(time.time()) - 200)
_nonces = itertools.count(int(time.time() * 1000) % 1_000_000_000)
_docs = itertools.count(1)



class Clock:
    """The worker's "now": tomorrow 10:00 Beijing, clear of anyone's quiet hours."""

    def __init__(self) -> None:
        day = datetime.now(TZ).date() + timedelta(days=1)
        self.ms = int(datetime(day.year, day.month, day.day, 10, 0, tzinfo=TZ).timestamp() * 1000)

    def __call__(self) -> int:
        return self.ms


async def sandbox_follow(client, sandbox, name: str, *, following: bool = True) -> str:
    path = "/sandbox/follow" if following else "/sandbox/unfollow"
    async with client.session.post(str(sandbox.make_url(path)), json={"name": name}) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["openid"]


async def push_event(client, rt, openid: str, event: str) -> None:
    """What WeChat posts when someone follows or leaves the official account."""
    ts, nonce = str(int(time.time())), str(next(_nonces))
    token = rt.settings.wechat_token.get_secret_value()
    body = ("<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{next(_times)}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
            "<EventKey><![CDATA[]]></EventKey></xml>")
    resp = await client.post("/wechat/callback", data=body, headers={"Content-Type": "text/xml"},
                             params={"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce})
    assert resp.status == 200 and await resp.text() == "success"


async def follow(client, rt, sandbox, name: str) -> str:
    openid = await sandbox_follow(client, sandbox, name)
    await push_event(client, rt, openid, "subscribe")
    return openid


async def unfollow(client, rt, sandbox, name: str) -> str:
    openid = await sandbox_follow(client, sandbox, name, following=False)
    await push_event(client, rt, openid, "unsubscribe")
    return openid


async def publish_policy(client, api, title: str = "小微企业首次贷款贴息") -> dict:
    """A policy for micro and small enterprises in Shenzhen, drafted, reviewed and published."""
    author = await api.staff_token("policy_officer", username="officer-wang")
    reviewer = await api.staff_token("policy_officer", username="officer-zhao")
    body = {"title": title, "doc_number": f"深金规〔2025〕{next(_docs)}号", "department": "RMYH",
            "policy_type": "subsidy", "summary": "小微企业首笔经营性贷款按实际利息的50%贴息。",
            "body": "一、适用对象……", "application_guide": "1. 向合作银行申请……",
            "effective_on": "2025-01-01", "expires_on": "2030-12-31", "attachments": [],
            "tags": ["融资"], "no_application": False,
            "rules": {"size_classes": ["small", "micro"], "regions": ["4403"]}}
    resp = await client.post("/api/v1/policies", json=body, headers=auth(author))
    assert resp.status == 201, await resp.text()
    pid = (await resp.json())["id"]
    assert (await client.post(f"/api/v1/policies/{pid}/submit", headers=auth(author))).status == 200
    resp = await client.post(f"/api/v1/policies/{pid}/approve", headers=auth(reviewer))
    assert resp.status == 200, await resp.text()
    return await resp.json()


def templates_to(sandbox_state, openid: str) -> list[dict]:
    return [m for m in sandbox_state.sent if m["kind"] == "template" and m["touser"] == openid]


async def template_rows(campaign_id: int) -> list[Delivery]:
    return await Delivery.filter(campaign_id=campaign_id, channel="template")


# ------------------------------------------------------------------ reaching followers

async def test_a_policy_push_reaches_a_follower_after_follow_lookup_and_link(client, rt, api, sandbox,
                                                                            sandbox_state):
    await api.owner("alice")
    alice = await User.get(openid=SandboxState.openid_for("wxsandboxminiapp01", "alice"))
    assert alice.unionid == SandboxState.unionid_for("alice"), "login stores the unionid jscode2session gives"

    mp_openid = await follow(client, rt, sandbox, "alice")
    follower = await WeChatFollower.get(openid=mp_openid)
    assert follower.subscribed and follower.unionid == alice.unionid and follower.lookup_due is None

    published = await publish_policy(client, api)
    await DeliveryWorker(rt, clock=Clock()).run_until_idle()

    [row] = await template_rows(published["campaign_id"])
    assert (row.user_id, row.openid, row.status) == (alice.id, mp_openid, "delivered")
    [sent] = templates_to(sandbox_state, mp_openid)
    assert sent["data"]["thing1"]["value"] == "小微企业首次贷款贴息"
    assert sent["miniprogram"]["pagepath"].startswith("pages/policy-detail/policy-detail?id=")
    figures = await (await client.get(f"/api/v1/policies/{published['id']}/campaign",
                                      headers=auth(await api.staff_token("policy_officer",
                                                                         username="officer-wang")))).json()
    assert figures["channels"]["template"]["delivered"] == 1


async def test_someone_who_followed_before_ever_logging_in_is_reached_once_they_do(client, rt, api, sandbox,
                                                                                  sandbox_state):
    mp_openid = await follow(client, rt, sandbox, "bea")
    assert not await User.filter(unionid=SandboxState.unionid_for("bea")).exists()
    assert (await WeChatFollower.get(openid=mp_openid)).unionid == SandboxState.unionid_for("bea")

    await api.owner("bea")  # first visit to the mini-program, then registers her enterprise
    published = await publish_policy(client, api)
    await DeliveryWorker(rt, clock=Clock()).run_until_idle()
    assert [r.status for r in await template_rows(published["campaign_id"])] == ["delivered"]
    assert len(templates_to(sandbox_state, mp_openid)) == 1


async def test_an_unlinked_follower_and_a_user_who_does_not_follow_get_no_template(client, rt, api, sandbox,
                                                                                  sandbox_state):
    carl = await follow(client, rt, sandbox, "carl")  # follows, never opens the mini-program
    await api.owner("dora")  # uses the mini-program, does not follow
    published = await publish_policy(client, api)
    await DeliveryWorker(rt, clock=Clock()).run_until_idle()
    assert await template_rows(published["campaign_id"]) == []
    assert [m for m in sandbox_state.sent if m["kind"] == "template"] == []
    assert not templates_to(sandbox_state, carl)
    # Dora still has the policy in her inbox and a (credit-less, so skipped) subscribe row.
    assert await Delivery.filter(campaign_id=published["campaign_id"], channel="subscribe",
                                 status="skipped").count() == 1


async def test_unfollowing_stops_template_messages_even_those_already_queued(client, rt, api, sandbox,
                                                                            sandbox_state):
    await api.owner("emma")
    mp_openid = await follow(client, rt, sandbox, "emma")
    queued = await publish_policy(client, api, title="稳岗补贴申领开始")
    assert [r.status for r in await template_rows(queued["campaign_id"])] == ["queued"]

    await unfollow(client, rt, sandbox, "emma")
    assert not (await WeChatFollower.get(openid=mp_openid)).subscribed
    await DeliveryWorker(rt, clock=Clock()).run_until_idle()
    [row] = await template_rows(queued["campaign_id"])
    assert (row.status, row.last_error, row.attempts) == ("skipped", UNFOLLOWED, 0)
    assert templates_to(sandbox_state, mp_openid) == [], "nothing was sent to her"

    later = await publish_policy(client, api, title="创业担保贷款贴息")
    assert await template_rows(later["campaign_id"]) == []

    await follow(client, rt, sandbox, "emma")  # she comes back: linked again without a lookup
    again = await publish_policy(client, api, title="首次入规企业奖励")
    await DeliveryWorker(rt, clock=Clock()).run_until_idle()
    assert [r.status for r in await template_rows(again["campaign_id"])] == ["delivered"]


# ------------------------------------------------------------------ lookups that fail

async def test_a_failed_lookup_keeps_the_event_and_is_retried_by_the_job(client, rt, api, sandbox,
                                                                         sandbox_state):
    await api.owner("fred")
    async with client.session.post(str(sandbox.make_url("/sandbox/faults")),
                                   json={"endpoint": "user_info", "errcode": -1}) as resp:
        assert resp.status == 201
    before = int(time.time() * 1000)
    mp_openid = await follow(client, rt, sandbox, "fred")

    assert await WeChatEvent.filter(from_openid=mp_openid, event="subscribe").count() == 1
    follower = await WeChatFollower.get(openid=mp_openid)
    assert follower.subscribed and follower.unionid is None
    assert follower.lookup_attempts == 1 and follower.lookup_error.startswith("-1")
    assert follower.lookup_due > before + 40_000, "backs off before asking again"
    assert await followers.resolve_due(rt) == {}, "not due yet"

    unlinked = await publish_policy(client, api, title="稳岗补贴申领开始")
    assert await template_rows(unlinked["campaign_id"]) == [], "an unlinked follower gets no template"

    async with client.session.delete(str(sandbox.make_url("/sandbox/faults"))) as resp:
        assert resp.status == 204
    assert await followers.resolve_due(rt, now=follower.lookup_due) == {"linked": 1}
    assert (await WeChatFollower.get(openid=mp_openid)).unionid == SandboxState.unionid_for("fred")

    published = await publish_policy(client, api)
    await DeliveryWorker(rt, clock=Clock()).run_until_idle()
    assert [r.status for r in await template_rows(published["campaign_id"])] == ["delivered"]
    assert len(templates_to(sandbox_state, mp_openid)) == 1


async def test_a_slow_lookup_does_not_hold_up_the_answer_to_wechat(client, rt, sandbox, monkeypatch):
    monkeypatch.setattr(followers, "INLINE_SECONDS", 0.2)
    async with client.session.post(str(sandbox.make_url("/sandbox/faults")),
                                   json={"endpoint": "user_info", "latency_ms": 1000, "count": 1}) as resp:
        assert resp.status == 201
    started = time.monotonic()
    mp_openid = await follow(client, rt, sandbox, "gina")
    assert time.monotonic() - started < 0.9
    follower = await WeChatFollower.get(openid=mp_openid)
    assert follower.unionid is None and follower.lookup_due is not None
    assert await followers.resolve_due(rt, now=follower.lookup_due) == {"linked": 1}


async def test_the_job_looks_up_100_followers_per_call_and_isolates_a_foreign_openid(rt, sandbox, sandbox_state,
                                                                                   client):
    names = [f"crowd{i:03d}" for i in range(150)]
    for name in names:
        openid = await sandbox_follow(client, sandbox, name)
        await followers.followed(openid)
    await followers.followed("oMPnotafolloweroftheaccount")  # 40003 for the whole batch it is in
    gone = await sandbox_follow(client, sandbox, names[3], following=False)  # its unsubscribe push was lost

    found = await followers.resolve_due(rt, now=int(time.time() * 1000) + 1000)
    assert found == {"linked": 149, "left": 1, "foreign": 1}
    linked = {f.openid: f.unionid for f in await WeChatFollower.filter(unionid__isnull=False)}
    assert len(linked) == 149
    assert linked[SandboxState.openid_for("wxsandboxofficial1", names[0])] == SandboxState.unionid_for(names[0])
    assert not (await WeChatFollower.get(openid=gone)).subscribed
    foreign = await WeChatFollower.get(openid="oMPnotafolloweroftheaccount")
    assert (foreign.lookup_due, foreign.lookup_error) == (None, "40003")
    # 100 per batchget; the batch holding the foreign openid was retried one by one.
    assert sandbox_state.calls["user_info_batchget"] == 2
    assert sandbox_state.calls.get("user_info", 0) <= 100
    assert await followers.resolve_due(rt, now=int(time.time() * 1000) + 10_000_000) == {}, \
        "nothing is looked up twice"


async def test_the_lookup_job_is_scheduled():
    [job] = [j for j in scheduler.JOBS if j.name == "follower-lookup"]
    assert job.every_seconds <= 60
