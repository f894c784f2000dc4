"""``/wechat/callback`` over HTTP: only WeChat gets in, and each push is stored once.

WeChat retries a push up to three times when we are slow; whatever arrives, the
event table must hold it once and WeChat must hear ``success`` so it stops.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import orjson
import pytest
import xmltodict
from pydantic import SecretStr
from wechatpy.crypto import WeChatCrypto

from models import WeChatEvent
from wechat.callback import CallbackVerifier, sign

AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ"
_nonces = itertools.count(int(time.time() * 1000) % 1_000_000_000)

EVENT_XML = """<xml>
<ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>
<FromUserName><![CDATA[oSBXcallbackuser00000000000]]></FromUserName>
<CreateTime>{ts}</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[subscribe_msg_popup_event]]></Event>
<SubscribeMsgPopupEvent><List>
<TemplateId><![CDATA[tmpl-reply-notice]]></TemplateId>
<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
<PopupScene>0</PopupScene>
</List></SubscribeMsgPopupEvent>
</xml>"""


def token_of(rt) -> str:
    return rt.settings.wechat_token.get_secret_value()


def signed_query(token: str, *, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or str(next(_nonces))
    return {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce}


async def post(client, query: dict[str, str], body: str | bytes):
    return await client.post("/wechat/callback", params=query, data=body,
                             headers={"Content-Type": "text/xml"})


async def assert_refused(resp, code: str) -> None:
    assert resp.status == 403
    assert resp.content_type == "application/json"
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), "people read this in Chinese"


async def stored_events() -> list[WeChatEvent]:
    return await WeChatEvent.all()


# ----------------------------------------------------------------------- GET

async def test_url_verification_echoes_echostr(client, rt) -> None:
    query = {**signed_query(token_of(rt)), "echostr": "7038425911349855643"}
    resp = await client.get("/wechat/callback", params=query)
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert await resp.text() == "7038425911349855643"


async def test_url_verification_with_a_wrong_signature_is_refused(client, rt) -> None:
    query = {**signed_query("not-our-token"), "echostr": "123"}
    await assert_refused(await client.get("/wechat/callback", params=query), "callback_signature")


# ---------------------------------------------------------------------- POST

async def test_an_event_delivered_three_times_is_stored_once(client, rt) -> None:
    body = EVENT_XML.format(ts=int(time.time()))
    for _ in range(3):  # WeChat's retries: same body, fresh signature each time
        resp = await post(client, signed_query(token_of(rt)), body)
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        assert await resp.text() == "success"
    events = await stored_events()
    assert len(events) == 1
    event = events[0]
    assert (event.msg_type, event.event) == ("event", "subscribe_msg_popup_event")
    assert event.from_openid == "oSBXcallbackuser00000000000"
    assert event.payload["SubscribeMsgPopupEvent"]["List"]["TemplateId"] == "tmpl-reply-notice"
    assert event.dedup_key.startswith("evt:")


async def test_concurrent_deliveries_of_one_push_store_it_once(client, rt) -> None:
    body = EVENT_XML.format(ts=int(time.time()))
    answers = await asyncio.gather(*(post(client, signed_query(token_of(rt)), body) for _ in range(5)))
    assert [r.status for r in answers] == [200] * 5
    assert len(await stored_events()) == 1


async def test_a_text_message_is_stored_under_its_msgid(client, rt) -> None:
    body = ("<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>"
            "<FromUserName><![CDATA[oSBXcallbackuser00000000000]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            "<Content><![CDATA[请问创业担保贷款怎么申请？]]></Content><MsgId>24601</MsgId></xml>")
    assert (await post(client, signed_query(token_of(rt)), body)).status == 200
    [event] = await stored_events()
    assert event.dedup_key == "msg:gh_3c884a361561:24601"
    assert event.payload["Content"] == "请问创业担保贷款怎么申请？"


async def test_the_mini_program_json_push_is_accepted(client, rt) -> None:
    body = orjson.dumps({"ToUserName": "gh_3c884a361561", "FromUserName": "oSBXjsonuser",
                         "CreateTime": int(time.time()), "MsgType": "event",
                         "Event": "subscribe_msg_change_event"})
    resp = await client.post("/wechat/callback", params=signed_query(token_of(rt)), data=body,
                             headers={"Content-Type": "application/json"})
    assert resp.status == 200 and await resp.text() == "success"
    [event] = await stored_events()
    assert event.event == "subscribe_msg_change_event"


async def test_a_tampered_signature_is_refused_and_nothing_stored(client, rt) -> None:
    query = signed_query(token_of(rt))
    query["signature"] = ("0" if query["signature"][0] != "0" else "1") + query["signature"][1:]
    await assert_refused(await post(client, query, EVENT_XML.format(ts=int(time.time()))),
                         "callback_signature")
    assert await stored_events() == []


async def test_a_replayed_request_is_refused(client, rt) -> None:
    query = signed_query(token_of(rt))
    body = EVENT_XML.format(ts=int(time.time()))
    assert (await post(client, query, body)).status == 200
    await assert_refused(await post(client, query, body), "callback_replay")
    assert len(await stored_events()) == 1


async def test_a_stale_timestamp_is_refused_even_when_signed(client, rt) -> None:
    query = signed_query(token_of(rt), timestamp=int(time.time()) - 3600)
    await assert_refused(await post(client, query, EVENT_XML.format(ts=int(time.time()) - 3600)),
                         "callback_timestamp")
    assert await stored_events() == []


async def test_a_refused_request_does_not_burn_the_nonce(client, rt) -> None:
    good = signed_query(token_of(rt))
    forged = {**good, "signature": "f" * 40}
    body = EVENT_XML.format(ts=int(time.time()))
    await assert_refused(await post(client, forged, body), "callback_signature")
    assert (await post(client, good, body)).status == 200


async def test_a_signed_but_unreadable_body_is_a_422(client, rt) -> None:
    resp = await post(client, signed_query(token_of(rt)), "this is not xml")
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "callback_format"


# ------------------------------------------------------------- safe (AES) mode

def encrypted_push(rt, plaintext: str, *, nonce: str | None = None) -> tuple[dict[str, str], str]:
    """What WeChat sends in safe mode, made with wechatpy's reference implementation."""
    ts = str(int(time.time()))
    nonce = nonce or str(next(_nonces))
    crypto = WeChatCrypto(token_of(rt), AES_KEY, rt.settings.wechat_appid)
    envelope = crypto.encrypt_message(plaintext, nonce, ts)
    msg_signature = xmltodict.parse(envelope)["xml"]["MsgSignature"]
    query = {"signature": sign(token_of(rt), ts, nonce), "timestamp": ts, "nonce": nonce,
             "encrypt_type": "aes", "msg_signature": msg_signature}
    return query, envelope


class TestSafeMode:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"wechat_aes_key": SecretStr(AES_KEY)})

    async def test_an_encrypted_event_is_decrypted_and_stored_once(self, client, rt) -> None:
        assert rt.settings.wechat_aes_key is not None
        plaintext = EVENT_XML.format(ts=int(time.time()))
        for _ in range(2):
            query, envelope = encrypted_push(rt, plaintext)
            resp = await post(client, query, envelope)
            assert resp.status == 200 and await resp.text() == "success"
        [event] = await stored_events()
        assert event.event == "subscribe_msg_popup_event"
        assert event.dedup_key == CallbackVerifier.dedup_key(CallbackVerifier("x").parse(plaintext))

    async def test_a_tampered_msg_signature_is_refused(self, client, rt) -> None:
        query, envelope = encrypted_push(rt, EVENT_XML.format(ts=int(time.time())))
        query["msg_signature"] = "0" * 40
        await assert_refused(await post(client, query, envelope), "callback_signature")
        assert await stored_events() == []

    async def test_a_plaintext_push_is_refused_in_safe_mode(self, client, rt) -> None:
        resp = await post(client, signed_query(token_of(rt)), EVENT_XML.format(ts=int(time.time())))
        await assert_refused(resp, "callback_signature")
        assert await stored_events() == []

    async def test_a_push_encrypted_for_another_app_is_refused(self, client, rt) -> None:
        ts, nonce = str(int(time.time())), str(next(_nonces))
        envelope = WeChatCrypto(token_of(rt), AES_KEY, "wxsomeoneelse00001").encrypt_message(
            EVENT_XML.format(ts=ts), nonce, ts)
        msg_signature = xmltodict.parse(envelope)["xml"]["MsgSignature"]
        query: dict[str, Any] = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                                 "msg_signature": msg_signature}
        await assert_refused(await post(client, query, envelope), "callback_decrypt")
