"""Inbox, preferences and subscribe consents over HTTP, and the callback events that feed them."""

from __future__ import annotations

import time

import orjson
from tortoise.transactions import in_transaction

from models import User
from models.notifications import SubscribeCredit, WeChatFollower
from notifications import outbox
from tests.conftest import auth
from tests.integration.test_wechat_callback_http import post, signed_query, token_of
from wechat.sandbox import SandboxState

MINI = "wxsandboxminiapp01"


async def user_of(name: str) -> User:
    return await User.get(openid=SandboxState.openid_for(MINI, name))


async def tell(user: User, title: str, *, kind: str = "policy", critical: bool = False) -> int:
    async with in_transaction():
        return await outbox.notify_user(user_id=user.id, title=title, summary="详见政策原文", page="pages/inbox/inbox",
                                        critical=critical, kind=kind, source_id=1)


# --------------------------------------------------------------------------- inbox

async def test_the_inbox_lists_my_messages_newest_first_with_the_unread_count(client, api):
    token, _ = await api.owner("inbox-alice")
    alice = await user_of("inbox-alice")
    await tell(alice, "稳岗补贴")
    await tell(alice, "您的咨询已答复", kind="consultation", critical=True)
    resp = await client.get("/api/v1/inbox", headers=auth(token))
    assert resp.status == 200
    page = await resp.json()
    assert (page["total"], page["unread"]) == (2, 2)
    assert [i["title"] for i in page["items"]] == ["您的咨询已答复", "稳岗补贴"]
    assert page["items"][0]["critical"] is True and page["items"][0]["read"] is False

    first = page["items"][1]["id"]
    resp = await client.post(f"/api/v1/inbox/{first}/read", headers=auth(token))
    assert resp.status == 200
    assert (await resp.json())["read"] is True
    page = await (await client.get("/api/v1/inbox", params={"unread_only": "true"}, headers=auth(token))).json()
    assert (page["total"], page["unread"]) == (1, 1)
    assert page["items"][0]["title"] == "您的咨询已答复"


async def test_nobody_else_can_see_or_mark_my_message(client, api):
    token, _ = await api.owner("inbox-owner")
    owner = await user_of("inbox-owner")
    await tell(owner, "仅本人可见")
    mine = (await (await client.get("/api/v1/inbox", headers=auth(token))).json())["items"][0]["id"]

    other = await api.wechat_token("inbox-stranger")
    assert (await (await client.get("/api/v1/inbox", headers=auth(other))).json())["total"] == 0
    resp = await client.post(f"/api/v1/inbox/{mine}/read", headers=auth(other))
    assert resp.status == 404
    assert (await resp.json())["error"]["message"] == "消息不存在"
    page = await (await client.get("/api/v1/inbox", headers=auth(token))).json()
    assert page["unread"] == 1  # still unread for its owner


async def test_only_case_staff_have_an_inbox_besides_wechat_users(client, api):
    """Consultants and supervisors get case notices in the inbox; other staff have none."""
    consultant = await api.staff_token("consultant")
    resp = await client.get("/api/v1/inbox", headers=auth(consultant))
    assert resp.status == 200 and (await resp.json())["items"] == []
    for role in ("policy_officer", "system_admin", "audit_admin"):
        staff = await api.staff_token(role)
        assert (await client.get("/api/v1/inbox", headers=auth(staff))).status == 403


# --------------------------------------------------------------------- preferences

async def test_preferences_start_with_the_defaults_and_can_be_changed(client, api, catalogue):
    token = await api.wechat_token("pref-user")
    resp = await client.get("/api/v1/preferences", headers=auth(token))
    assert await resp.json() == {"policy_types": [], "departments": [], "mode": "immediate",
                                 "quiet_start": "21:00", "quiet_end": "08:00", "updated_at": None}
    departments = (await (await client.get("/api/v1/departments")).json())["items"]
    code = departments[0]["code"]
    body = {"policy_types": ["subsidy", "right", "subsidy"], "departments": [code], "mode": "digest",
            "quiet_start": "22:30", "quiet_end": "07:00"}
    resp = await client.put("/api/v1/preferences", json=body, headers=auth(token))
    assert resp.status == 200, await resp.text()
    saved = await resp.json()
    assert saved["policy_types"] == ["subsidy", "right"] and saved["departments"] == [code]
    assert (saved["mode"], saved["quiet_start"], saved["quiet_end"]) == ("digest", "22:30", "07:00")
    again = await (await client.get("/api/v1/preferences", headers=auth(token))).json()
    assert again == saved


async def test_bad_preferences_are_refused_in_chinese(client, api):
    token = await api.wechat_token("pref-bad")
    for body, field in [({"quiet_start": "25:00"}, "quiet_start"), ({"mode": "hourly"}, "mode"),
                        ({"policy_types": ["lottery"]}, "policy_types"),
                        ({"departments": ["NO-SUCH-DEPT"]}, "departments")]:
        resp = await client.put("/api/v1/preferences", json=body, headers=auth(token))
        assert resp.status == 422, (body, await resp.text())
        error = (await resp.json())["error"]
        assert any(d["field"].startswith(field) for d in error["details"]), error
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"] + str(error["details"]))


# ------------------------------------------------------------------- subscriptions

async def test_an_accepted_popup_gives_one_credit_per_template(client, api, settings):
    token = await api.wechat_token("sub-accept")
    policy, notice = settings.wechat_policy_template_id, settings.wechat_notice_template_id
    resp = await client.post("/api/v1/subscriptions/results", headers=auth(token), json={"results": [
        {"template_id": policy, "outcome": "accept"}, {"template_id": notice, "outcome": "reject"}]})
    assert resp.status == 200, await resp.text()
    items = {i["template_id"]: i for i in (await resp.json())["items"]}
    assert (items[policy]["credits"], items[policy]["purpose"]) == (1, "policy")
    assert (items[notice]["credits"], items[notice]["last_outcome"]) == (0, "reject")
    await client.post("/api/v1/subscriptions/results", headers=auth(token),
                      json={"results": [{"template_id": policy, "outcome": "accept"}]})
    listed = {i["template_id"]: i["credits"] for i in
              (await (await client.get("/api/v1/subscriptions", headers=auth(token))).json())["items"]}
    assert listed == {policy: 2, notice: 0}


async def test_a_template_that_is_not_ours_is_refused(client, api):
    token = await api.wechat_token("sub-unknown")
    resp = await client.post("/api/v1/subscriptions/results", headers=auth(token),
                             json={"results": [{"template_id": "someone-elses", "outcome": "accept"}]})
    assert resp.status == 422
    assert (await resp.json())["error"]["details"][0]["message"] == "不是本服务的订阅消息模板"


def popup(openid: str, template: str, status: str, *, event: str = "subscribe_msg_popup_event",
          container: str = "SubscribeMsgPopupEvent", extra: str = "") -> str:
    return (f"<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
            f"<{container}><List><TemplateId><![CDATA[{template}]]></TemplateId>"
            f"<SubscribeStatusString><![CDATA[{status}]]></SubscribeStatusString>{extra}"
            f"</List></{container}></xml>")


async def test_the_popup_event_and_the_client_report_of_one_tap_count_once(client, api, rt, settings):
    token = await api.wechat_token("sub-both")
    openid = SandboxState.openid_for(MINI, "sub-both")
    policy = settings.wechat_policy_template_id
    await client.post("/api/v1/subscriptions/results", headers=auth(token),
                      json={"results": [{"template_id": policy, "outcome": "accept"}]})
    body = popup(openid, policy, "accept")
    for _ in range(2):  # WeChat's retry of the same push changes nothing either
        assert (await post(client, signed_query(token_of(rt)), body)).status == 200
    assert (await SubscribeCredit.get(openid=openid, template_id=policy)).credits == 1

    # A second tap that only WeChat reports (the mini-program was closed) counts.
    time.sleep(1)  # a different push: another CreateTime
    assert (await post(client, signed_query(token_of(rt)), popup(openid, policy, "accept"))).status == 200
    assert (await SubscribeCredit.get(openid=openid, template_id=policy)).credits == 2
    # …and the client's late report of that same tap does not count it again.
    await client.post("/api/v1/subscriptions/results", headers=auth(token),
                      json={"results": [{"template_id": policy, "outcome": "accept"}]})
    assert (await SubscribeCredit.get(openid=openid, template_id=policy)).credits == 2


async def test_switching_a_template_off_or_a_refused_send_leaves_no_credit(client, rt, settings):
    policy = settings.wechat_policy_template_id
    await SubscribeCredit.create(openid="oSBXchanger", template_id=policy, credits=3)
    body = popup("oSBXchanger", policy, "reject", event="subscribe_msg_change_event",
                 container="SubscribeMsgChangeEvent")
    assert (await post(client, signed_query(token_of(rt)), body)).status == 200
    assert (await SubscribeCredit.get(openid="oSBXchanger")).credits == 0

    await SubscribeCredit.create(openid="oSBXrefuser", template_id=policy, credits=2)
    body = orjson.dumps({"ToUserName": "gh_3c884a361561", "FromUserName": "oSBXrefuser",
                         "CreateTime": int(time.time()), "MsgType": "event", "Event": "subscribe_msg_sent_event",
                         "List": [{"TemplateId": policy, "MsgID": "1700827132819554304", "ErrorCode": "43101",
                                   "ErrorStatus": "fail_user_refuse"}]})
    resp = await client.post("/wechat/callback", params=signed_query(token_of(rt)), data=body,
                             headers={"Content-Type": "application/json"})
    assert resp.status == 200
    assert (await SubscribeCredit.get(openid="oSBXrefuser")).credits == 0


async def test_following_and_unfollowing_the_official_account_is_tracked(client, rt):
    def follow(event: str) -> str:
        return ("<xml><ToUserName><![CDATA[gh_official]]></ToUserName>"
                "<FromUserName><![CDATA[oMPfollower0001]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[{event}]]></Event><UnionId><![CDATA[uSBXfollower0001]]></UnionId></xml>")

    assert (await post(client, signed_query(token_of(rt)), follow("subscribe"))).status == 200
    row = await WeChatFollower.get(openid="oMPfollower0001")
    assert (row.subscribed, row.unionid) == (True, "uSBXfollower0001")
    time.sleep(1)
    assert (await post(client, signed_query(token_of(rt)), follow("unsubscribe"))).status == 200
    assert (await WeChatFollower.get(openid="oMPfollower0001")).subscribed is False
