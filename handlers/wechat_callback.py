"""The URL WeChat pushes messages and events to (``/wechat/callback``).

Anyone on the internet can reach this URL, so nothing is believed before the
signature checks out: the timestamp must be recent, the signature (or, in safe
mode, ``msg_signature`` over the ciphertext) must match our token, and a
(timestamp, nonce) pair is accepted once across all API processes. Rejections
are logged without personal data; the body is never logged.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from handlers.base import Call, endpoint
from models.redis_keys import CALLBACK_NONCE_TTL
from services import wechat_events
from services.errors import PayloadTooLarge, PermissionDenied, ValidationFailed
from services.runtime import Runtime
from wechat.callback import CallbackRejected, CallbackVerifier

log = structlog.get_logger("handlers.wechat_callback")

#: WeChat pushes are a few kilobytes; anything near this is not from WeChat.
MAX_CALLBACK_BYTES = 256 * 1024
_NONCE_MAX_CHARS = 64
_VERIFIER = "wechat_callback_verifier"

_REFUSALS = {
    "signature": "回调签名校验失败",
    "timestamp": "回调请求已过期或时间戳无效",
    "replay": "重复的回调请求，已拒绝",
    "decrypt": "回调消息解密失败",
}


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    return getter() if callable(getter) else str(value)


def _verifier(rt: Runtime) -> CallbackVerifier:
    """One verifier per settings object: building it decodes the AES key."""
    settings = rt.settings
    cached = rt.extras.get(_VERIFIER)
    if cached is not None and cached[0] is settings:
        return cached[1]
    verifier = CallbackVerifier(_secret(settings.wechat_token) or "",
                                aes_key=_secret(settings.wechat_aes_key) or None,
                                appid=settings.wechat_appid)
    rt.extras[_VERIFIER] = (settings, verifier)
    return verifier


def _refuse(call: Call, reason: str) -> PermissionDenied:
    # The request id is bound to the log context by the request middleware.
    log.warning("wechat_callback_rejected", reason=reason, method=call.request.method)
    return PermissionDenied(_REFUSALS[reason], code=f"callback_{reason}")


def _nonce_key(call: Call, timestamp: str, nonce: str) -> str:
    # Keyed by the pair: WeChat's nonces are short numbers, so at high volume two
    # different pushes could share a nonce but not also a timestamp.
    return call.rt.keys.callback_nonce(f"{timestamp}:{nonce}")


async def _claim_nonce(call: Call, verifier: CallbackVerifier, timestamp: str, nonce: str) -> str:
    """SET NX across all processes; the key lives as long as the timestamp is acceptable."""
    if len(nonce) > _NONCE_MAX_CHARS:
        raise _refuse(call, "signature")
    key = _nonce_key(call, timestamp, nonce)
    ttl = max(CALLBACK_NONCE_TTL, 2 * verifier.window_seconds + 60)
    if not await call.rt.redis.set(key, "1", nx=True, ex=ttl):
        raise _refuse(call, "replay")
    return key


@endpoint("GET", "/wechat/callback", roles=None, summary="微信服务器地址验证", tag="wechat",
          produces="text/plain", errors=(403,), in_openapi=False)
async def verify_url(call: Call) -> web.Response:
    """WeChat checks the URL once when it is configured: echo ``echostr`` if signed by us."""
    q = call.request.query
    verifier = _verifier(call.rt)
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    if not verifier.check_timestamp(timestamp):
        raise _refuse(call, "timestamp")
    if not verifier.check_signature(q.get("signature"), timestamp, nonce):
        raise _refuse(call, "signature")
    await _claim_nonce(call, verifier, timestamp, nonce)
    echostr = q.get("echostr", "")[:256]
    return web.Response(text=echostr, content_type="text/plain",
                        headers={"X-Content-Type-Options": "nosniff"})


@endpoint("POST", "/wechat/callback", roles=None, summary="接收微信消息与事件推送", tag="wechat",
          produces="text/plain", errors=(403, 413, 422), in_openapi=False)
async def receive(call: Call) -> web.Response:
    """Verify, store once, and answer ``success`` so WeChat stops retrying."""
    request = call.request
    raw = await request.read()
    if len(raw) > MAX_CALLBACK_BYTES:
        raise PayloadTooLarge()
    q = request.query
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    verifier = _verifier(call.rt)
    try:
        message = verifier.open(raw, signature=q.get("signature"),
                                msg_signature=q.get("msg_signature"),
                                timestamp=timestamp, nonce=nonce)
    except CallbackRejected as exc:
        if exc.reason == "format":
            log.warning("wechat_callback_unreadable")
            raise ValidationFailed("回调消息格式无法识别", code="callback_format") from None
        raise _refuse(call, exc.reason) from None
    nonce_key = await _claim_nonce(call, verifier, timestamp, nonce)
    msg_type = str(message.get("MsgType", ""))
    event = str(message.get("Event", "") or "")
    try:
        stored = await wechat_events.record(
            msg_type=msg_type, event=event, from_openid=str(message.get("FromUserName", "") or ""),
            payload=message, dedup_key=CallbackVerifier.dedup_key(message), rt=call.rt)
    except BaseException:
        # Not stored: free the nonce so WeChat's retry of this very request is accepted.
        await call.rt.redis.delete(nonce_key)
        raise
    log.info("wechat_callback_received", msg_type=msg_type, wechat_event=event, stored=stored)
    return web.Response(text="success", content_type="text/plain")
