"""A WeChat server simulator serving the same endpoints over HTTP.

Why over HTTP and not a fake gateway object: the gateway's real code path —
URL building, JSON encoding, timeouts, error parsing, the token lock — is what
breaks in production, so ``make run`` and the tests exercise exactly that path
against this simulator. No test ever needs the internet.

Mount it as a sub-app (``app.add_subapp("/wechat-sandbox", create_sandbox_app())``)
or run it on its own::

    python -m wechat.sandbox --host 127.0.0.1 --port 9100

Besides the official endpoints it offers control endpoints under ``/sandbox``:
fault and latency injection, per-openid outcomes, token expiry, the record of
sent messages, statistics and a reset. ``/sandbox/follow`` and ``/sandbox/unfollow``
make a sandbox user follow or leave the official account; the user-info endpoints
then answer for that user's official-account openid with the same unionid
jscode2session gives, as the real platform does for apps bound to one open-platform
account. Who follows is remembered in memory only, like everything else here.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiohttp import web

ENDPOINTS = ("jscode2session", "stable_token", "subscribe_send", "template_send", "msg_sec_check",
             "user_info", "user_info_batchget")
TOKEN_LIFETIME = 7200
#: The platform rotates a stable token in its last five minutes; the old one stays
#: valid until its own expiry so in-flight calls do not fail.
TOKEN_ROTATE_BEFORE = 300

_CODE = re.compile(r"^sandbox-([A-Za-z0-9_-]{1,64})$")
# Fixed on purpose: the same sandbox user gets the same openid across restarts,
# so demo data seeded yesterday still belongs to "sandbox-alice" today.
_OPENID_SALT = b"sme-service-zone/wechat-sandbox/v1"

#: word -> label. Labels follow msgSecCheck v2: 20002 porn, 20006 crime, 20008 fraud.
RISKY_WORDS = {"赌博": 20006, "枪支": 20006, "代开发票": 20008, "刷单返利": 20008, "色情": 20002}
#: Words a human moderator should look at (label 21000: other).
REVIEW_WORDS = {"投诉举报": 21000, "领导电话": 21000}

# Subscribe-message value limits per keyword type (characters), as documented.
_SUBSCRIBE_LIMITS = {"thing": 20, "character_string": 32, "number": 32, "letter": 32,
                     "symbol": 5, "phrase": 5, "name": 10, "car_number": 8, "amount": 32,
                     "time": 64, "date": 64, "phone_number": 17}
_KEYWORD = re.compile(r"^([a-z_]+?)(\d+)$")

_ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40002: "invalid grant_type",
    40029: "invalid code",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41008: "missing code",
    41009: "missing openid",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    87014: "risky content",
}


@dataclass(frozen=True)
class SandboxApp:
    appid: str
    secret: str
    kind: Literal["mini", "mp"]


DEFAULT_APPS = (
    SandboxApp("wxsandboxminiapp01", "sandbox-secret", "mini"),
    SandboxApp("wxsandboxofficial1", "sandbox-mp-secret", "mp"),
)


@dataclass
class _Token:
    value: str
    appid: str
    expires_at: float
    revoked: bool = False


@dataclass
class Fault:
    endpoint: str
    errcode: int | None = None
    rate: float = 1.0
    count: int | None = None
    latency_ms: int = 0

    def matches(self, endpoint: str) -> bool:
        return self.endpoint in ("*", endpoint)


class _Reply(Exception):
    """Short-circuits a handler with an official error answer."""

    def __init__(self, errcode: int, errmsg: str | None = None, http_status: int = 200) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or _ERRMSG.get(errcode, "error")
        self.http_status = http_status


@dataclass
class SandboxState:
    """Everything the simulator remembers; in memory, one process."""

    apps: dict[str, SandboxApp]
    token_lifetime: int = TOKEN_LIFETIME
    rng: random.Random = field(default_factory=random.Random)
    tokens: dict[str, _Token] = field(default_factory=dict)  # value -> token
    current: dict[str, str] = field(default_factory=dict)  # appid -> current token value
    token_fetches: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    faults_injected: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # openid -> errcode
    sent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=10_000))
    msgids: Iterable[int] = field(default_factory=lambda: itertools.count(3_000_000_001))
    #: Every message accepted, and how many were repeats of an earlier one (same kind,
    #: recipient, template and page): what a delivery test needs past the record's limit.
    sent_total: int = 0
    sent_repeated: int = 0
    _sent_keys: set[int] = field(default_factory=set)
    #: openid -> (appid, sandbox user name) of every openid handed out, so the
    #: user-info endpoints can answer for it (openids are one-way hashes).
    people: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: official-account openid -> subscribe time (epoch seconds) of current followers.
    follows: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.tokens.clear()
        self.current.clear()
        self.token_fetches.clear()
        self.calls.clear()
        self.faults.clear()
        self.faults_injected = 0
        self.outcomes.clear()
        self.sent.clear()
        self.sent_total = self.sent_repeated = 0
        self._sent_keys.clear()
        self.people.clear()
        self.follows.clear()

    # ---------------------------------------------------------- identities

    @staticmethod
    def openid_for(appid: str, name: str) -> str:
        """Same (appid, name) -> same openid; like WeChat, openids differ per app."""
        mac = hmac.new(_OPENID_SALT, f"openid:{appid}:{name}".encode(), hashlib.sha256).digest()
        return "oSBX" + base64.urlsafe_b64encode(mac).decode()[:24]

    @staticmethod
    def unionid_for(name: str) -> str:
        """Same across the apps of one open-platform account, hence no appid."""
        mac = hmac.new(_OPENID_SALT, f"unionid:{name}".encode(), hashlib.sha256).digest()
        return "uSBX" + base64.urlsafe_b64encode(mac).decode()[:24]

    def register(self, appid: str, name: str) -> str:
        openid = self.openid_for(appid, name)
        self.people[openid] = (appid, name)
        return openid

    def mp_app(self) -> SandboxApp:
        return next(a for a in self.apps.values() if a.kind == "mp")

    def follow(self, name: str, *, following: bool) -> str:
        """``name`` follows (or leaves) the official account; returns their openid there."""
        openid = self.register(self.mp_app().appid, name)
        if following:
            self.follows.setdefault(openid, int(time.time()))
        else:
            self.follows.pop(openid, None)
        return openid

    def user_info(self, app: SandboxApp, openid: Any) -> dict[str, Any]:
        """The official answer for one openid of ``app``; 40003 if it is not one."""
        if not isinstance(openid, str) or not openid:
            raise _Reply(41009)
        person = self.people.get(openid)
        if person is None or person[0] != app.appid:
            raise _Reply(40003)
        if openid not in self.follows:
            return {"subscribe": 0, "openid": openid}
        return {"subscribe": 1, "openid": openid, "language": "zh_CN",
                "subscribe_time": self.follows[openid], "unionid": self.unionid_for(person[1]),
                "remark": "", "groupid": 0, "tagid_list": [], "subscribe_scene": "ADD_SCENE_QR_CODE",
                "qr_scene": 0, "qr_scene_str": ""}

    # -------------------------------------------------------------- tokens

    def issue_token(self, appid: str, *, force: bool) -> _Token:
        now = time.time()
        token = self.tokens.get(self.current.get(appid, ""))
        if token is not None and not force and token.expires_at - now > TOKEN_ROTATE_BEFORE:
            return token
        if token is not None and force:
            token.revoked = True  # a forced refresh invalidates the previous token at once
        self.token_fetches[appid] = self.token_fetches.get(appid, 0) + 1
        new = _Token(value=f"SBX_{appid[-6:]}_{secrets.token_urlsafe(24)}", appid=appid,
                     expires_at=now + self.token_lifetime)
        self.tokens[new.value] = new
        self.current[appid] = new.value
        # Forget tokens long dead so a long-running sandbox does not grow.
        for value in [v for v, t in self.tokens.items() if t.expires_at < now - 3600]:
            del self.tokens[value]
        return new

    def check_token(self, value: str | None, kind: str) -> SandboxApp:
        token = self.tokens.get(value or "")
        if token is None or token.revoked:
            raise _Reply(40001)
        if token.expires_at <= time.time():
            raise _Reply(42001)
        app = self.apps[token.appid]
        if app.kind != kind:
            raise _Reply(48001)
        return app

    def expire_tokens(self, appid: str | None = None) -> int:
        now = time.time()
        n = 0
        for token in self.tokens.values():
            if appid in (None, token.appid) and token.expires_at > now:
                token.expires_at = now - 1
                n += 1
        return n

    # -------------------------------------------------------------- faults

    async def apply_faults(self, endpoint: str) -> None:
        self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
        for fault in list(self.faults):
            if not fault.matches(endpoint) or (fault.count is not None and fault.count <= 0):
                continue
            if self.rng.random() >= fault.rate:
                continue
            if fault.count is not None:
                fault.count -= 1
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.errcode is None:
                continue
            self.faults_injected += 1
            if 500 <= fault.errcode <= 599:
                raise _Reply(fault.errcode, "injected server error", http_status=fault.errcode)
            raise _Reply(fault.errcode)

    def record(self, kind: str, appid: str, body: dict[str, Any]) -> int:
        msgid = next(self.msgids)  # type: ignore[call-overload]
        # Not the data: it carries the send time, which differs between a message and its repeat.
        key = hash((kind, body["touser"], body["template_id"], body.get("page"),
                    orjson.dumps(body.get("miniprogram"))))
        self.sent_total += 1
        if key in self._sent_keys:
            self.sent_repeated += 1
        self._sent_keys.add(key)
        self.sent.append({"msgid": msgid, "kind": kind, "appid": appid, "touser": body["touser"],
                          "template_id": body["template_id"], "data": body["data"],
                          "page": body.get("page"), "url": body.get("url"),
                          "miniprogram": body.get("miniprogram"),
                          "miniprogram_state": body.get("miniprogram_state"), "at": time.time()})
        return msgid


STATE = web.AppKey("wechat_sandbox_state", SandboxState)


# ---------------------------------------------------------------- helpers

def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _ok(**extra: Any) -> web.Response:
    return _json({"errcode": 0, "errmsg": "ok", **extra})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise _Reply(47001) from None
    if not isinstance(data, dict):
        raise _Reply(47001)
    return data


def _official(endpoint: str):
    """Wrap an official endpoint: count the call, inject faults, render errors."""

    def deco(fn):
        async def handler(request: web.Request) -> web.Response:
            state = request.app[STATE]
            try:
                await state.apply_faults(endpoint)
                return await fn(request, state)
            except _Reply as reply:
                if reply.http_status != 200:
                    return web.Response(status=reply.http_status, text=reply.errmsg)
                return _json({"errcode": reply.errcode, "errmsg": reply.errmsg})

        return handler

    return deco


def _check_template_data(data: Any, *, subscribe: bool) -> None:
    if not isinstance(data, dict) or not data:
        raise _Reply(47003, "argument invalid! data is empty")
    for name, item in data.items():
        if not isinstance(item, dict) or not isinstance(item.get("value"), str | int | float):
            raise _Reply(47003, f"argument invalid! data.{name}.value is missing")
        if not subscribe:
            continue
        kind = _KEYWORD.match(name)
        limit = _SUBSCRIBE_LIMITS.get(kind.group(1)) if kind else None
        value = str(item["value"])
        if limit is None:
            raise _Reply(47003, f"argument invalid! data.{name} is not a keyword")
        if not value or len(value) > limit:
            raise _Reply(47003, f"argument invalid! data.{name}.value invalid")


def _check_recipient(state: SandboxState, body: dict[str, Any]) -> None:
    touser = body.get("touser")
    if not isinstance(touser, str) or not 1 <= len(touser) <= 64:
        raise _Reply(40003)
    if not isinstance(body.get("template_id"), str) or not body["template_id"]:
        raise _Reply(40037)
    if touser in state.outcomes:
        raise _Reply(state.outcomes[touser])


# ------------------------------------------------------ official endpoints

@_official("jscode2session")
async def jscode2session(request: web.Request, state: SandboxState) -> web.Response:
    q = request.query
    app = state.apps.get(q.get("appid", ""))
    if app is None or app.kind != "mini":
        raise _Reply(40013)
    if not hmac.compare_digest(q.get("secret", "").encode(), app.secret.encode()):
        raise _Reply(40125)
    code = q.get("js_code", "")
    if not code:
        raise _Reply(41008)
    match = _CODE.match(code)
    if match is None:
        raise _Reply(40029)
    name = match.group(1)
    return _json({"openid": state.register(app.appid, name), "unionid": state.unionid_for(name),
                  "session_key": base64.b64encode(secrets.token_bytes(16)).decode()})


@_official("stable_token")
async def stable_token(request: web.Request, state: SandboxState) -> web.Response:
    body = await _body(request)
    if body.get("grant_type") != "client_credential":
        raise _Reply(40002)
    app = state.apps.get(str(body.get("appid", "")))
    if app is None:
        raise _Reply(40013)
    if not hmac.compare_digest(str(body.get("secret", "")).encode(), app.secret.encode()):
        raise _Reply(40125)
    token = state.issue_token(app.appid, force=bool(body.get("force_refresh")))
    return _json({"access_token": token.value,
                  "expires_in": max(0, int(token.expires_at - time.time()))})


@_official("subscribe_send")
async def subscribe_send(request: web.Request, state: SandboxState) -> web.Response:
    app = state.check_token(request.query.get("access_token"), "mini")
    body = await _body(request)
    _check_recipient(state, body)
    _check_template_data(body.get("data"), subscribe=True)
    if body.setdefault("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
        raise _Reply(47003, "argument invalid! miniprogram_state")
    return _ok(msgid=state.record("subscribe", app.appid, body))


@_official("template_send")
async def template_send(request: web.Request, state: SandboxState) -> web.Response:
    app = state.check_token(request.query.get("access_token"), "mp")
    body = await _body(request)
    _check_recipient(state, body)
    _check_template_data(body.get("data"), subscribe=False)
    mini = body.get("miniprogram")
    if mini is not None and (not isinstance(mini, dict) or not mini.get("appid")):
        raise _Reply(47003, "argument invalid! miniprogram.appid")
    person = state.people.get(body["touser"])
    if person is not None and person[0] == app.appid and body["touser"] not in state.follows:
        raise _Reply(43004)  # a sandbox user who left the official account
    return _ok(msgid=state.record("template", app.appid, body))


@_official("user_info")
async def user_info(request: web.Request, state: SandboxState) -> web.Response:
    app = state.check_token(request.query.get("access_token"), "mp")
    return _json(state.user_info(app, request.query.get("openid")))


@_official("user_info_batchget")
async def user_info_batchget(request: web.Request, state: SandboxState) -> web.Response:
    app = state.check_token(request.query.get("access_token"), "mp")
    body = await _body(request)
    wanted = body.get("user_list")
    if not isinstance(wanted, list) or not 1 <= len(wanted) <= 100:
        raise _Reply(40032)
    if not all(isinstance(item, dict) for item in wanted):
        raise _Reply(47001)
    # Like the platform: one openid that is not this account's fails the whole call.
    return _json({"user_info_list": [state.user_info(app, item.get("openid")) for item in wanted]})


@_official("msg_sec_check")
async def msg_sec_check(request: web.Request, state: SandboxState) -> web.Response:
    state.check_token(request.query.get("access_token"), "mini")
    body = await _body(request)
    content = body.get("content")
    if not isinstance(content, str):
        raise _Reply(47001)
    hits = [(w, lab, "risky") for w, lab in RISKY_WORDS.items() if w in content]
    hits += [(w, lab, "review") for w, lab in REVIEW_WORDS.items() if w in content]
    if body.get("version") != 2:
        # Legacy API: no verdict object, risky content is an error code.
        if any(s == "risky" for _, _, s in hits):
            raise _Reply(87014)
        return _ok()
    if body.get("scene") not in (1, 2, 3, 4):
        raise _Reply(47003, "argument invalid! scene")
    if not isinstance(body.get("openid"), str) or not body["openid"]:
        raise _Reply(40003)
    risky = [h for h in hits if h[2] == "risky"]
    top = (risky or hits or [("", 100, "pass")])[0]
    detail = [{"strategy": "content_model", "errcode": 0, "suggest": s, "label": lab,
               "keyword": w, "prob": 90} for w, lab, s in hits]
    return _ok(result={"suggest": top[2], "label": top[1]}, detail=detail,
               trace_id=f"sbx-{secrets.token_hex(12)}")


# --------------------------------------------------------- control plane

async def post_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        spec = orjson.loads(await request.read())
        endpoint = spec.get("endpoint", "*")
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        rate = float(spec.get("rate", 1.0))
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within 0..1")
        count = spec.get("count")
        if spec.get("errcode") == 0:
            raise ValueError("errcode 0 is success, not a fault")
        fault = Fault(endpoint=endpoint,
                      errcode=None if spec.get("errcode") is None else int(spec["errcode"]),
                      rate=rate, count=None if count is None else int(count),
                      latency_ms=max(0, int(spec.get("latency_ms", 0))))
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        return _json({"error": {"code": "invalid_fault", "message": f"故障规则不正确：{exc}"}}, 400)
    state.faults.append(fault)
    return _json({"faults": [vars(f) for f in state.faults]}, 201)


async def get_faults(request: web.Request) -> web.Response:
    return _json({"faults": [vars(f) for f in request.app[STATE].faults]})


async def delete_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return web.Response(status=204)


async def post_outcomes(request: web.Request) -> web.Response:
    """``{"openid": "...", "errcode": 43101}``: every send to that openid fails so."""
    try:
        spec = orjson.loads(await request.read())
        openid, errcode = str(spec["openid"]), int(spec["errcode"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return _json({"error": {"code": "invalid_outcome", "message": "需要 openid 和 errcode"}}, 400)
    request.app[STATE].outcomes[openid] = errcode
    return _json({"outcomes": request.app[STATE].outcomes}, 201)


async def post_follow(request: web.Request) -> web.Response:
    """``{"name": "alice"}``: sandbox user alice follows the official account.

    Answers her official-account openid (what the ``subscribe`` event would carry)
    and her unionid. ``/sandbox/unfollow`` takes the same body and undoes it."""
    try:
        name = str(orjson.loads(await request.read())["name"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _json({"error": {"code": "invalid_follow", "message": "需要 name（沙箱用户名）"}}, 400)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        return _json({"error": {"code": "invalid_follow", "message": "沙箱用户名只能含字母、数字、- 和 _"}}, 400)
    state = request.app[STATE]
    following = request.path.endswith("/follow")
    openid = state.follow(name, following=following)
    return _json({"openid": openid, "unionid": state.unionid_for(name), "subscribed": following})


async def delete_outcomes(request: web.Request) -> web.Response:
    request.app[STATE].outcomes.clear()
    return web.Response(status=204)


async def post_expire_token(request: web.Request) -> web.Response:
    """Make the current tokens expire now, so calls answer 42001."""
    raw = await request.read()
    try:
        appid = orjson.loads(raw).get("appid") if raw.strip() else None
    except (orjson.JSONDecodeError, AttributeError):
        return _json({"error": {"code": "invalid_request", "message": "请求体应为 JSON 对象"}}, 400)
    return _json({"expired": request.app[STATE].expire_tokens(appid)})


async def get_sent(request: web.Request) -> web.Response:
    openid = request.query.get("openid")
    kind = request.query.get("kind")
    items = [m for m in request.app[STATE].sent
             if (openid is None or m["touser"] == openid) and (kind is None or m["kind"] == kind)]
    return _json({"count": len(items), "items": items})


async def get_stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return _json({"token_fetches": state.token_fetches, "calls": state.calls,
                  "sent": len(state.sent), "sent_total": state.sent_total,
                  "sent_repeated": state.sent_repeated, "faults_injected": state.faults_injected})


async def post_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.Response(status=204)


def create_sandbox_app(apps: Iterable[SandboxApp] | None = None, *, seed: int | None = None,
                       token_lifetime: int = TOKEN_LIFETIME, sent_limit: int = 10_000,
                       state: SandboxState | None = None) -> web.Application:
    """The simulator as an aiohttp application; its state is ``app[STATE]``.

    ``sent_limit``: how many sent messages the record keeps (the oldest go first)."""
    app = web.Application()
    app[STATE] = state or SandboxState(apps={a.appid: a for a in (apps or DEFAULT_APPS)},
                                       token_lifetime=token_lifetime, rng=random.Random(seed),
                                       sent=deque(maxlen=sent_limit))
    app.router.add_get("/sns/jscode2session", jscode2session)
    app.router.add_post("/cgi-bin/stable_token", stable_token)
    app.router.add_post("/cgi-bin/message/subscribe/send", subscribe_send)
    app.router.add_post("/cgi-bin/message/template/send", template_send)
    app.router.add_post("/wxa/msg_sec_check", msg_sec_check)
    app.router.add_get("/cgi-bin/user/info", user_info)
    app.router.add_post("/cgi-bin/user/info/batchget", user_info_batchget)
    app.router.add_get("/sandbox/faults", get_faults)
    app.router.add_post("/sandbox/faults", post_faults)
    app.router.add_delete("/sandbox/faults", delete_faults)
    app.router.add_post("/sandbox/outcomes", post_outcomes)
    app.router.add_delete("/sandbox/outcomes", delete_outcomes)
    app.router.add_post("/sandbox/follow", post_follow)
    app.router.add_post("/sandbox/unfollow", post_follow)
    app.router.add_post("/sandbox/expire-token", post_expire_token)
    app.router.add_get("/sandbox/sent", get_sent)
    app.router.add_get("/sandbox/stats", get_stats)
    app.router.add_post("/sandbox/reset", post_reset)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m wechat.sandbox",
                                     description="WeChat API simulator (sandbox)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--mini-appid", default=DEFAULT_APPS[0].appid)
    parser.add_argument("--mini-secret", default=DEFAULT_APPS[0].secret)
    parser.add_argument("--mp-appid", default=DEFAULT_APPS[1].appid)
    parser.add_argument("--mp-secret", default=DEFAULT_APPS[1].secret)
    parser.add_argument("--token-lifetime", type=int, default=TOKEN_LIFETIME,
                        help="seconds a new access token stays valid")
    parser.add_argument("--seed", type=int, default=None, help="seed for fault rates")
    parser.add_argument("--sent-limit", type=int, default=10_000,
                        help="how many sent messages /sandbox/sent keeps")
    args = parser.parse_args(argv)
    apps = (SandboxApp(args.mini_appid, args.mini_secret, "mini"),
            SandboxApp(args.mp_appid, args.mp_secret, "mp"))
    app = create_sandbox_app(apps, seed=args.seed, token_lifetime=args.token_lifetime,
                             sent_limit=args.sent_limit)
    web.run_app(app, host=args.host, port=args.port, access_log=None,
                print=lambda _: print(f"wechat sandbox listening on http://{args.host}:{args.port}",
                                      flush=True))


if __name__ == "__main__":
    main()
