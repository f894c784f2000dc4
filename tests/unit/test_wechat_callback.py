"""Callback verification: only WeChat, only recently, each push recognisable on retry.

The AES fixtures are produced with wechatpy's own ``WeChatCrypto`` (the reference
implementation of WeChat's scheme), so a round trip proves we read what WeChat writes.
"""

from __future__ import annotations

import time

import orjson
import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from wechat.callback import CallbackRejected, CallbackVerifier, sign

TOKEN = "callback-token-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, like the console's
APPID = "wxsandboxminiapp01"
NOW = 1_700_000_000

EVENT_XML = """<xml>
<ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>
<FromUserName><![CDATA[oSBXexampleopenid0000000000]]></FromUserName>
<CreateTime>1700000000</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[subscribe_msg_popup_event]]></Event>
<SubscribeMsgPopupEvent><List>
<TemplateId><![CDATA[tmpl-reply-notice]]></TemplateId>
<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
<PopupScene>0</PopupScene>
</List></SubscribeMsgPopupEvent>
</xml>"""

TEXT_XML = """<xml>
<ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>
<FromUserName><![CDATA[oSBXexampleopenid0000000000]]></FromUserName>
<CreateTime>1700000000</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[你好，请问小微企业如何申请稳岗补贴？]]></Content>
<MsgId>23456789012345678</MsgId>
</xml>"""


def signed(timestamp: int | str = NOW, nonce: str = "1234567890") -> dict[str, str]:
    ts = str(timestamp)
    return {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}


# ------------------------------------------------------------------ signature

def test_signature_made_with_our_token_is_accepted() -> None:
    v = CallbackVerifier(TOKEN)
    q = signed()
    assert v.check_signature(q["signature"], q["timestamp"], q["nonce"])


def test_signature_agrees_with_wechatpy() -> None:
    from wechatpy.utils import check_signature

    q = signed()
    check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])  # raises if not equal


@pytest.mark.parametrize("field", ["signature", "timestamp", "nonce"])
def test_any_tampered_part_fails_the_signature(field: str) -> None:
    v = CallbackVerifier(TOKEN)
    q = signed()
    q[field] = q[field][:-1] + ("0" if q[field][-1] != "0" else "1")
    assert not v.check_signature(q["signature"], q["timestamp"], q["nonce"])


def test_signature_with_another_token_is_refused() -> None:
    q = signed()
    assert not CallbackVerifier("someone-elses-token").check_signature(
        q["signature"], q["timestamp"], q["nonce"])


@pytest.mark.parametrize("signature", [None, "", "not-hex"])
def test_missing_or_garbage_signature_is_refused(signature: str | None) -> None:
    assert not CallbackVerifier(TOKEN).check_signature(signature, str(NOW), "1")


# -------------------------------------------------------------------- window

@pytest.mark.parametrize(("offset", "ok"), [(0, True), (-300, True), (300, True),
                                            (-301, False), (301, False), (-86400, False)])
def test_timestamp_must_be_within_five_minutes(offset: int, ok: bool) -> None:
    assert CallbackVerifier(TOKEN).check_timestamp(str(NOW + offset), now=NOW) is ok


@pytest.mark.parametrize("timestamp", [None, "", "abc", "1.5e9"])
def test_unreadable_timestamp_is_refused(timestamp: str | None) -> None:
    assert not CallbackVerifier(TOKEN).check_timestamp(timestamp, now=NOW)


def test_open_refuses_a_correctly_signed_but_old_push() -> None:
    q = signed(timestamp=NOW - 3600)
    with pytest.raises(CallbackRejected) as info:
        CallbackVerifier(TOKEN).open(EVENT_XML, signature=q["signature"], msg_signature=None,
                                     timestamp=q["timestamp"], nonce=q["nonce"], now=NOW)
    assert info.value.reason == "timestamp"


def test_open_plain_mode_parses_a_signed_push() -> None:
    q = signed(timestamp=int(time.time()))
    msg = CallbackVerifier(TOKEN).open(EVENT_XML.encode(), signature=q["signature"],
                                       msg_signature=None, timestamp=q["timestamp"], nonce=q["nonce"])
    assert msg["Event"] == "subscribe_msg_popup_event"
    assert msg["FromUserName"] == "oSBXexampleopenid0000000000"


def test_open_plain_mode_refuses_a_tampered_signature() -> None:
    q = signed(timestamp=int(time.time()))
    with pytest.raises(CallbackRejected) as info:
        CallbackVerifier(TOKEN).open(EVENT_XML, signature="0" * 40, msg_signature=None,
                                     timestamp=q["timestamp"], nonce=q["nonce"])
    assert info.value.reason == "signature"


# ----------------------------------------------------------------------- AES

def _encrypt(plaintext: str, *, nonce: str = "55501", timestamp: str = str(NOW),
             appid: str = APPID, key: str = AES_KEY) -> tuple[str, str]:
    """What WeChat sends in safe mode: the XML envelope and its msg_signature."""
    envelope = WeChatCrypto(TOKEN, key, appid).encrypt_message(plaintext, nonce, timestamp)
    msg_signature = xmltodict.parse(envelope)["xml"]["MsgSignature"]
    return envelope, msg_signature


def test_aes_round_trip_recovers_the_message() -> None:
    envelope, msg_signature = _encrypt(TEXT_XML)
    v = CallbackVerifier(TOKEN, AES_KEY, APPID)
    assert v.encrypted
    assert v.decrypt(envelope, msg_signature, str(NOW), "55501").strip() == TEXT_XML.strip()
    msg = v.open(envelope, signature=None, msg_signature=msg_signature, timestamp=str(NOW),
                 nonce="55501", now=NOW)
    assert msg["Content"] == "你好，请问小微企业如何申请稳岗补贴？"
    assert msg["MsgId"] == "23456789012345678"


def test_aes_mini_program_json_envelope_is_accepted() -> None:
    inner = orjson.dumps({"ToUserName": "gh_3c884a361561", "FromUserName": "oSBXjson",
                          "CreateTime": NOW, "MsgType": "event", "Event": "user_enter_tempsession",
                          "SessionFrom": "service"}).decode()
    xml_envelope, msg_signature = _encrypt(inner)
    encrypt = xmltodict.parse(xml_envelope)["xml"]["Encrypt"]
    body = orjson.dumps({"ToUserName": "gh_3c884a361561", "Encrypt": encrypt})
    msg = CallbackVerifier(TOKEN, AES_KEY, APPID).open(
        body, signature=None, msg_signature=msg_signature, timestamp=str(NOW), nonce="55501", now=NOW)
    assert msg["Event"] == "user_enter_tempsession"
    assert msg["CreateTime"] == NOW


def test_aes_tampered_msg_signature_is_refused() -> None:
    envelope, msg_signature = _encrypt(TEXT_XML)
    bad = ("1" if msg_signature[0] != "1" else "2") + msg_signature[1:]
    with pytest.raises(CallbackRejected) as info:
        CallbackVerifier(TOKEN, AES_KEY, APPID).decrypt(envelope, bad, str(NOW), "55501")
    assert info.value.reason == "signature"


def test_aes_plain_signature_alone_is_not_enough() -> None:
    envelope, _ = _encrypt(TEXT_XML)
    q = signed()
    with pytest.raises(CallbackRejected) as info:
        CallbackVerifier(TOKEN, AES_KEY, APPID).open(envelope, signature=q["signature"],
                                                     msg_signature=None, timestamp=q["timestamp"],
                                                     nonce=q["nonce"], now=NOW)
    assert info.value.reason == "signature"


def test_aes_message_for_another_appid_is_refused() -> None:
    envelope, msg_signature = _encrypt(TEXT_XML, appid="wxsomeoneelse00001")
    with pytest.raises(CallbackRejected) as info:
        CallbackVerifier(TOKEN, AES_KEY, APPID).decrypt(envelope, msg_signature, str(NOW), "55501")
    assert info.value.reason == "decrypt"


def test_aes_message_under_another_key_is_refused() -> None:
    other_key = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
    envelope, msg_signature = _encrypt(TEXT_XML, key=other_key)
    with pytest.raises(CallbackRejected) as info:
        CallbackVerifier(TOKEN, AES_KEY, APPID).decrypt(envelope, msg_signature, str(NOW), "55501")
    assert info.value.reason == "decrypt"


def test_a_malformed_aes_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        CallbackVerifier(TOKEN, "too-short", APPID)


# --------------------------------------------------------------------- parse

def test_parse_reads_the_mini_program_json_push() -> None:
    msg = CallbackVerifier(TOKEN).parse(b'{"MsgType": "event", "Event": "wxa_media_check"}')
    assert msg == {"MsgType": "event", "Event": "wxa_media_check"}


@pytest.mark.parametrize("body", [b"", b"hello", b"<xml><a>1</a>", b"[1, 2]", b"{}", b"\xff\xfe<xml/>",
                                  b"<xml><ToUserName>x</ToUserName></xml>"])
def test_parse_refuses_what_is_not_a_wechat_message(body: bytes) -> None:
    with pytest.raises(CallbackRejected) as info:
        CallbackVerifier(TOKEN).parse(body)
    assert info.value.reason == "format"


def test_parse_refuses_entity_expansion() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<xml><MsgType>&b;</MsgType></xml>")
    with pytest.raises(CallbackRejected):
        CallbackVerifier(TOKEN).parse(bomb)


# ----------------------------------------------------------------- dedup key

def test_dedup_key_uses_msgid_for_messages() -> None:
    msg = CallbackVerifier(TOKEN).parse(TEXT_XML)
    assert CallbackVerifier.dedup_key(msg) == "msg:gh_3c884a361561:23456789012345678"


def test_dedup_key_is_the_same_for_every_retry_of_an_event() -> None:
    v = CallbackVerifier(TOKEN)
    first, retry = v.parse(EVENT_XML), v.parse(EVENT_XML.encode())
    key = CallbackVerifier.dedup_key(first)
    assert key == CallbackVerifier.dedup_key(retry)
    assert key.startswith("evt:") and len(key) <= 128


def test_dedup_key_tells_events_apart() -> None:
    base = {"ToUserName": "gh_1", "FromUserName": "oA", "CreateTime": "1700000000",
            "MsgType": "event", "Event": "subscribe"}
    keys = {
        CallbackVerifier.dedup_key(base),
        CallbackVerifier.dedup_key({**base, "FromUserName": "oB"}),
        CallbackVerifier.dedup_key({**base, "CreateTime": "1700000001"}),
        CallbackVerifier.dedup_key({**base, "Event": "unsubscribe"}),
        CallbackVerifier.dedup_key({**base, "EventKey": "qrscene_42"}),
    }
    assert len(keys) == 5


def test_dedup_key_is_the_same_for_xml_strings_and_json_numbers() -> None:
    as_xml = {"FromUserName": "oA", "CreateTime": "1700000000", "MsgType": "event", "Event": "x"}
    as_json = {"FromUserName": "oA", "CreateTime": 1700000000, "MsgType": "event", "Event": "x"}
    assert CallbackVerifier.dedup_key(as_xml) == CallbackVerifier.dedup_key(as_json)
