"""Verifying, decrypting and parsing what WeChat pushes to our callback URL.

Kept free of aiohttp and Redis so it can be tested with plain values. The one
stateful check — a nonce seen before is a replay — needs storage shared by every
API process, so the caller does it with Redis ``SET NX``.

Security notes, the reasons for the shape of this module:

* signatures are compared with :func:`hmac.compare_digest` (wechatpy compares with
  ``!=``), so response timing does not leak how many characters matched;
* the timestamp must fall inside a window, so a captured request cannot be
  replayed after its nonce has left Redis;
* XML goes through ``xmltodict`` with entities disabled (no XXE, no entity bombs).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import orjson
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

#: Fields that identify an event when it carries no ``MsgId``, in WeChat's own
#: recommendation order (FromUserName + CreateTime), then the event itself.
_EVENT_IDENTITY = ("FromUserName", "CreateTime", "MsgType", "Event", "EventKey")


class CallbackRejected(Exception):
    """The push is not from WeChat, is too old, or cannot be read.

    ``reason`` is a short machine word for logs and metrics: ``signature``,
    ``timestamp``, ``decrypt`` or ``format``.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def sign(token: str, *parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted, concatenated strings."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


class CallbackVerifier:
    """Checks one account's pushes; ``aes_key`` set means safe (AES) mode."""

    def __init__(self, token: str, aes_key: str | None = None, appid: str | None = None,
                 window_seconds: int = 300) -> None:
        if aes_key and not appid:
            raise ValueError("AES mode needs the appid the messages are encrypted for")
        self.token = token
        self.window_seconds = window_seconds
        self.appid = appid
        self._crypto = None
        if aes_key:
            try:
                self._crypto = WeChatCrypto(token, aes_key, appid)
            except (AssertionError, ValueError):  # wechatpy asserts the decoded length
                raise ValueError("EncodingAESKey must be the 43 characters shown in the "
                                 "WeChat console") from None

    @property
    def encrypted(self) -> bool:
        return self._crypto is not None

    def check_signature(self, signature: str | None, timestamp: str | None, nonce: str | None) -> bool:
        """Plain-mode signature over token, timestamp and nonce."""
        if not signature or timestamp is None or nonce is None:
            return False
        expected = sign(self.token, timestamp, nonce)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def check_timestamp(self, timestamp: str | None, now: float | None = None) -> bool:
        try:
            ts = int(timestamp or "")
        except ValueError:
            return False
        now = time.time() if now is None else now
        return abs(now - ts) <= self.window_seconds

    def decrypt(self, body: bytes | str, msg_signature: str | None, timestamp: str | None,
                nonce: str | None) -> str:
        """Safe mode: check ``msg_signature`` over the ciphertext, then decrypt.

        The body is the XML envelope or the mini-program JSON envelope, both with an
        ``Encrypt`` field; the plaintext is returned in whatever format was encrypted.
        """
        if self._crypto is None:
            raise CallbackRejected("decrypt")
        envelope = self._load(body)
        encrypted = envelope.get("Encrypt")
        if not isinstance(encrypted, str) or not msg_signature or timestamp is None or nonce is None:
            raise CallbackRejected("signature")
        expected = sign(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), msg_signature.encode()):
            raise CallbackRejected("signature")
        try:
            return self._crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise CallbackRejected("signature") from None
        except InvalidAppIdException:
            # Encrypted with our key but for another appid: not meant for us.
            raise CallbackRejected("decrypt") from None
        except Exception:  # padding, base64, length: all mean "not our ciphertext"
            raise CallbackRejected("decrypt") from None

    def parse(self, xml_or_json: bytes | str) -> dict[str, Any]:
        """The message as a dict: XML ``<xml>…</xml>`` or the mini-program JSON push."""
        message = self._load(xml_or_json)
        if "MsgType" not in message:
            raise CallbackRejected("format")
        return message

    def open(self, body: bytes | str, *, signature: str | None, msg_signature: str | None,
             timestamp: str | None, nonce: str | None, now: float | None = None) -> dict[str, Any]:
        """Everything except the replay check: window, signature, decryption, parsing."""
        if not self.check_timestamp(timestamp, now):
            raise CallbackRejected("timestamp")
        if self._crypto is not None:
            plaintext: bytes | str = self.decrypt(body, msg_signature, timestamp, nonce)
        else:
            if not self.check_signature(signature, timestamp, nonce):
                raise CallbackRejected("signature")
            plaintext = body
        return self.parse(plaintext)

    @staticmethod
    def dedup_key(msg: Mapping[str, Any]) -> str:
        """A key equal for every retry of one push and different between pushes.

        Messages carry ``MsgId``. Events do not; WeChat recommends FromUserName +
        CreateTime, to which we add the event fields and then a digest of the whole
        message, because one user can trigger two events in the same second.
        """
        msg_id = msg.get("MsgId") or msg.get("MsgID")
        if msg_id:
            key = f"msg:{msg.get('ToUserName', '')}:{msg_id}"
            if len(key) <= 128:
                return key
        identity = [str(msg.get(name, "")) for name in _EVENT_IDENTITY]
        canonical = orjson.dumps(_stringify(msg), option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256("\x1f".join(identity).encode() + b"\x1e" + canonical).hexdigest()
        return f"evt:{digest}"

    @staticmethod
    def _load(raw: bytes | str) -> dict[str, Any]:
        try:
            text = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).strip()
            if text.startswith("{"):
                data = orjson.loads(text)
            elif text.startswith("<"):
                data = xmltodict.parse(text, disable_entities=True).get("xml")
            else:
                data = None
        except Exception:  # encoding, expat and orjson errors alike: not a WeChat message
            raise CallbackRejected("format") from None
        if not isinstance(data, dict):
            raise CallbackRejected("format")
        return dict(data)


def _stringify(value: Any) -> Any:
    """XML gives strings where JSON gives numbers; hash both the same way."""
    if isinstance(value, Mapping):
        return {str(k): _stringify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stringify(v) for v in value]
    return "" if value is None else str(value)
