"""One async gateway for the few WeChat server APIs the product calls.

Why our own and not wechatpy's client: wechatpy's client is synchronous
(``requests``), unmaintained since 2021 and lacks both the stable access token and
msgSecCheck v2. We need seven endpoints; a small async adapter is less code than
wrapping a blocking client in threads. The server and the workers give it kept-alive
connections of its own (``wechat/http_lane.py``, about 40 % of aiohttp's CPU per call:
every consultation intake and every message sent makes one); given only an
``aiohttp.ClientSession`` it behaves the same (its tests run on both).

Why the access token is coordinated through Redis: every fresh (forced) fetch of a
token invalidates the previous one, so API processes refreshing on their own would
keep breaking each other's calls. Exactly one worker in the whole deployment
fetches (it holds a short Redis lock); the others wait for the value it stores.

The gateway receives its Redis client and key builder by injection: this package
must not import ``models`` or anything above it.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
import orjson
import structlog
import yarl

from wechat.http_lane import HttpLane, target

#: One headers mapping for every JSON body (aiohttp only reads it).
_JSON_HEADERS = {"Content-Type": "application/json"}
log = structlog.get_logger("wechat.gateway")

App = Literal["mini", "mp"]
MiniProgramState = Literal["developer", "trial", "formal"]
Suggest = Literal["pass", "review", "risky"]

# Codes we raise ourselves. WeChat only uses -1 (system busy) among negatives,
# so these cannot collide with an official code.
ERR_TIMEOUT = -2
ERR_CONNECTION = -3
ERR_HTTP = -4
ERR_BAD_RESPONSE = -5
ERR_TOKEN_UNAVAILABLE = -6

#: Worth retrying later: the platform or the network is busy, not our request wrong.
TRANSIENT_CODES = frozenset({
    -1,  # system busy
    ERR_TIMEOUT, ERR_CONNECTION, ERR_BAD_RESPONSE, ERR_TOKEN_UNAVAILABLE,
    45009,  # daily API quota reached
    45011,  # API called too often
})

#: Retrying the same request can never succeed; the outbox marks it rejected.
PERMANENT_CODES = frozenset({
    40003,  # invalid openid
    40013,  # invalid appid
    40029,  # invalid js_code
    40032,  # openid list empty or longer than allowed (user/info/batchget)
    40037,  # invalid template_id
    40125,  # invalid appsecret
    40163,  # js_code already used
    40226,  # high-risk user refused at login
    41030,  # invalid page path
    43004,  # official account: user does not follow us
    43101,  # user refused (no subscribe consent)
    47001,  # body not valid JSON / XML
    47003,  # template data invalid (e.g. thing over 20 characters)
    48001,  # API not authorised for this account
    87014,  # content is risky (legacy msgSecCheck)
})

#: The token in hand is no longer valid: refresh once and retry the call.
TOKEN_INVALID_CODES = frozenset({40001, 40014, 42001})

#: Upper bound of one msgSecCheck request (characters, UTF-8 text).
SEC_CHECK_MAX_CHARS = 2500

_SUGGEST_RANK = {"pass": 0, "review": 1, "risky": 2}

# Compare-and-delete: release the refresh lock only if we still own it, so a
# worker whose lock expired cannot delete the lock of the next refresher.
_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class WeChatError(Exception):
    """An error answer from WeChat, or a failure to get an answer at all.

    The callers (login, outbox worker, moderation) only need to know whether to
    retry, give up, or refresh the token, hence the three properties.
    """

    def __init__(self, errcode: int, errmsg: str = "", http_status: int | None = None) -> None:
        self.errcode = int(errcode)
        self.errmsg = errmsg
        self.http_status = http_status
        super().__init__(f"WeChat errcode {self.errcode}: {errmsg}"
                         + (f" (HTTP {http_status})" if http_status else ""))

    @property
    def transient(self) -> bool:
        if self.http_status is not None and (self.http_status >= 500 or self.http_status == 429):
            return True
        return self.errcode in TRANSIENT_CODES

    @property
    def permanent(self) -> bool:
        return not self.transient and self.errcode in PERMANENT_CODES

    @property
    def token_invalid(self) -> bool:
        return self.errcode in TOKEN_INVALID_CODES


@dataclass(frozen=True)
class Code2Session:
    openid: str
    unionid: str | None
    # Kept out of repr so it cannot end up in a log line or a traceback.
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class UserInfo:
    """What the official account knows of one openid (``cgi-bin/user/info``).

    ``unionid`` is present only while the official account is bound to the same
    open-platform account as the mini-program; it is what links a follower to our
    user. A user who does not follow (``subscribed`` false) comes without it.
    """

    openid: str
    subscribed: bool
    unionid: str | None
    subscribe_time: int | None = None


#: Most openids ``cgi-bin/user/info/batchget`` takes in one call.
USER_INFO_BATCH = 100


@dataclass(frozen=True)
class SecCheck:
    suggest: Suggest
    label: int
    trace_id: str

    @property
    def passed(self) -> bool:
        return self.suggest == "pass"


def _text(value: Any) -> str | None:
    """Redis clients answer bytes or str depending on ``decode_responses``."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _reveal(secret: Any) -> str:
    """Accept plain strings or pydantic ``SecretStr`` from settings."""
    getter = getattr(secret, "get_secret_value", None)
    return getter() if callable(getter) else str(secret)


def _template_values(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Both message APIs want ``{"thing1": {"value": "..."}}``; let callers pass plain values."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        out[name] = dict(value) if isinstance(value, Mapping) else {"value": value}
    return out


def _user_info(data: Mapping[str, Any], openid: str) -> UserInfo:
    subscribed = str(data.get("subscribe", 0)) == "1"
    when = data.get("subscribe_time")
    return UserInfo(openid=openid, subscribed=subscribed, unionid=str(data.get("unionid") or "") or None,
                    subscribe_time=int(when) if isinstance(when, int | str) and str(when).isdigit() else None)


class WeChatGateway:
    """Async client of the official WeChat server APIs used by the product."""

    #: Cache a token for ``expires_in`` minus this many seconds, so a token is never
    #: used in its last minutes (WeChat rotates it in the last five).
    TOKEN_SAFETY_MARGIN = 300
    _POLL_FIRST = 0.01
    _POLL_MAX = 0.1

    def __init__(self, *, base_url: str, http: aiohttp.ClientSession, redis: Any, keys: Any,
                 appid: str, secret: Any, mp_appid: str, mp_secret: Any, timeout: float = 5.0,
                 lock_ttl_seconds: float = 15.0, token_cache_seconds: float = 0.0,
                 lane: HttpLane | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._http = http
        # Calls go over the lane when there is one (wechat/http_lane.py: about 40 % of
        # aiohttp's CPU per call), else through ``http``.
        self._lane = lane
        self._redis = redis
        self._keys = keys
        self._apps: dict[str, tuple[str, str]] = {
            "mini": (appid, _reveal(secret)),
            "mp": (mp_appid, _reveal(mp_secret)),
        }
        self.timeout = timeout
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        # The lock must outlive the slowest possible fetch, or a second refresher
        # could start while the first one's new token is still on its way.
        self._lock_ms = int(max(lock_ttl_seconds, 2 * timeout + 1) * 1000)
        # Waiters give up a little after the winner's fetch must have ended.
        self._wait_bound = timeout + 2.0
        self._inflight: dict[tuple[str, str | None], asyncio.Task[str]] = {}
        # A delivery worker sends hundreds of messages a second; re-reading the token
        # from Redis for each is a round trip per message. Holding it a second or two
        # in the process is safe: a token refreshed elsewhere meanwhile answers 40001,
        # and the compare-and-refresh below then picks up the new one from Redis.
        self._token_cache_seconds = token_cache_seconds
        self._local_tokens: dict[str, tuple[str, float]] = {}
        # (path, token) → URL: see _url.
        self._urls: dict[tuple[str, str], yarl.URL] = {}
        #: HTTP calls per API, for the metrics endpoint.
        self.calls: dict[str, int] = {}
        #: Failures per ``"<api>:<errcode>"``.
        self.errors: dict[str, int] = {}

    async def close(self) -> None:
        """Close the lane's connections (the injected ``http`` session is its owner's to close)."""
        if self._lane is not None:
            await self._lane.close()

    # ------------------------------------------------------------------ APIs

    async def code2session(self, code: str) -> Code2Session:
        """auth.code2Session — GET https://api.weixin.qq.com/sns/jscode2session

        Exchanges the ``wx.login`` code for the user's openid (and unionid when the
        mini-program is bound to an open-platform account). ``session_key`` must never
        leave the server.
        """
        if not code or len(code) > 256:
            # Do not spend a quota call on something that cannot be a code.
            raise WeChatError(40029, "invalid code")
        appid, secret = self._apps["mini"]
        data = await self._request("jscode2session", "GET", "/sns/jscode2session", params={
            "appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code",
        })
        openid, session_key = data.get("openid"), data.get("session_key")
        if not openid or not session_key:
            raise WeChatError(ERR_BAD_RESPONSE, "jscode2session answer without openid")
        return Code2Session(openid=str(openid), unionid=data.get("unionid") or None,
                            session_key=str(session_key))

    async def access_token(self, app: App = "mini") -> str:
        """getStableAccessToken — POST https://api.weixin.qq.com/cgi-bin/stable_token

        Returns the deployment-wide cached token; on a miss, exactly one worker
        (holder of the Redis lock) fetches it and the rest wait for its result.
        """
        appid, _ = self._credentials(app)
        if self._token_cache_seconds:
            held = self._local_tokens.get(appid)
            if held is not None and held[1] > time.monotonic():
                return held[0]
        cached = _text(await self._redis.get(self._keys.access_token(appid)))
        if cached:
            return self._hold(appid, cached)
        return self._hold(appid, await self._single_flight(app, None))

    def _hold(self, appid: str, token: str) -> str:
        if self._token_cache_seconds:
            self._local_tokens[appid] = (token, time.monotonic() + self._token_cache_seconds)
        return token

    async def refresh_after_invalid(self, app: App, stale_token: str) -> str:
        """getStableAccessToken with ``force_refresh=true`` — POST /cgi-bin/stable_token

        Compare-and-refresh: forces a new token only while the cached one is still
        ``stale_token``. When many workers see 40001/42001 for the same token, the
        first one refreshes and the others pick up its result, so the platform sees
        one forced fetch (and the new token is not immediately invalidated again).
        """
        appid, _ = self._credentials(app)
        self._local_tokens.pop(appid, None)
        cached = _text(await self._redis.get(self._keys.access_token(appid)))
        if cached and cached != stale_token:
            return self._hold(appid, cached)
        return self._hold(appid, await self._single_flight(app, stale_token))

    async def send_subscribe(self, openid: str, template_id: str, data: Mapping[str, Any],
                             page: str | None = None,
                             state: MiniProgramState = "formal") -> dict[str, Any]:
        """subscribeMessage.send — POST https://api.weixin.qq.com/cgi-bin/message/subscribe/send

        One-time subscribe message to a mini-program user; each send consumes one
        consent the user granted with ``wx.requestSubscribeMessage`` (else 43101).
        """
        if state not in ("developer", "trial", "formal"):
            raise ValueError(f"unknown miniprogram_state {state!r}")
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": _template_values(data), "miniprogram_state": state,
                                   "lang": "zh_CN"}
        if page:
            payload["page"] = page
        return await self._with_token("mini", "subscribe_send", "/cgi-bin/message/subscribe/send",
                                      payload)

    async def send_template(self, openid: str, template_id: str, data: Mapping[str, Any],
                            miniprogram: Mapping[str, str] | str | None = None,
                            url: str | None = None) -> dict[str, Any]:
        """Official account template message — POST https://api.weixin.qq.com/cgi-bin/message/template/send

        Uses the official account ("mp") token. ``miniprogram`` may be a page path of
        our own mini-program or the full ``{"appid", "pagepath"}`` object.
        """
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": _template_values(data)}
        if url:
            payload["url"] = url
        if isinstance(miniprogram, str):
            payload["miniprogram"] = {"appid": self._apps["mini"][0], "pagepath": miniprogram}
        elif miniprogram:
            payload["miniprogram"] = dict(miniprogram)
        return await self._with_token("mp", "template_send", "/cgi-bin/message/template/send",
                                      payload)

    async def msg_sec_check(self, openid: str, content: str, scene: int = 2) -> SecCheck:
        """security.msgSecCheck (v2) — POST https://api.weixin.qq.com/wxa/msg_sec_check

        ``scene``: 1 profile, 2 comment, 3 forum, 4 social log. Texts longer than one
        request allows are checked piecewise and the worst verdict wins, so a long
        consultation cannot hide a risky sentence past the limit.
        """
        if scene not in (1, 2, 3, 4):
            raise ValueError(f"msgSecCheck scene must be 1..4, got {scene}")
        if not content.strip():
            return SecCheck("pass", 100, "")
        worst: SecCheck | None = None
        for start in range(0, len(content), SEC_CHECK_MAX_CHARS):
            chunk = content[start:start + SEC_CHECK_MAX_CHARS]
            data = await self._with_token("mini", "msg_sec_check", "/wxa/msg_sec_check", {
                "content": chunk, "version": 2, "scene": scene, "openid": openid,
            })
            result = data.get("result") or {}
            suggest = result.get("suggest")
            if suggest not in _SUGGEST_RANK:
                raise WeChatError(ERR_BAD_RESPONSE, "msgSecCheck answer without result.suggest")
            verdict = SecCheck(suggest=suggest, label=int(result.get("label", 100)),
                               trace_id=str(data.get("trace_id", "")))
            if worst is None or _SUGGEST_RANK[verdict.suggest] > _SUGGEST_RANK[worst.suggest]:
                worst = verdict
            if worst.suggest == "risky":
                break
        assert worst is not None
        return worst

    def stats(self) -> dict[str, dict[str, int]]:
        return {"calls": dict(self.calls), "errors": dict(self.errors)}

    # ------------------------------------------- official-account followers

    async def user_info(self, openid: str) -> UserInfo:
        """Official account user info — GET https://api.weixin.qq.com/cgi-bin/user/info

        One follower by official-account openid, with the official account's ("mp")
        token. The ``subscribe`` event carries no unionid, so this is how a follower
        is linked to the mini-program user. 40003: not an openid of this account.
        """
        if not openid or len(openid) > 64:
            raise WeChatError(40003, "invalid openid")
        data = await self._with_token("mp", "user_info", "/cgi-bin/user/info", None, method="GET",
                                      query={"openid": openid, "lang": "zh_CN"})
        return _user_info(data, openid)

    async def user_info_batch(self, openids: list[str]) -> list[UserInfo]:
        """Official account batch user info — POST https://api.weixin.qq.com/cgi-bin/user/info/batchget

        Up to :data:`USER_INFO_BATCH` openids per call (more is refused here rather
        than spending a call on WeChat's 40032). One openid that is not this
        account's fails the whole call with 40003; callers isolate it with
        :meth:`user_info`. Answers come back in the order asked.
        """
        if not 1 <= len(openids) <= USER_INFO_BATCH:
            raise ValueError(f"user/info/batchget takes 1..{USER_INFO_BATCH} openids, got {len(openids)}")
        data = await self._with_token("mp", "user_info_batchget", "/cgi-bin/user/info/batchget", {
            "user_list": [{"openid": o, "lang": "zh_CN"} for o in openids]})
        found = data.get("user_info_list")
        if not isinstance(found, list):
            raise WeChatError(ERR_BAD_RESPONSE, "batchget answer without user_info_list")
        by_openid = {str(i.get("openid")): i for i in found if isinstance(i, dict)}
        missing = [o for o in openids if o not in by_openid]
        if missing:
            raise WeChatError(ERR_BAD_RESPONSE, f"batchget answer lacks {len(missing)} openids")
        return [_user_info(by_openid[o], o) for o in openids]

    # --------------------------------------------------------- token refresh

    def _credentials(self, app: str) -> tuple[str, str]:
        try:
            return self._apps[app]
        except KeyError:
            raise ValueError(f"unknown WeChat app {app!r} (expected 'mini' or 'mp')") from None

    async def _single_flight(self, app: str, stale: str | None) -> str:
        """Coalesce concurrent refreshes inside this process before they reach Redis.

        The refresh runs in its own task and callers await it shielded, so one
        cancelled request does not cancel the refresh the others are waiting for.
        """
        key = (app, stale)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._refresh(app, stale))
            self._inflight[key] = task

            def _done(t: asyncio.Task[str]) -> None:
                if self._inflight.get(key) is t:
                    del self._inflight[key]
                if not t.cancelled():
                    t.exception()  # mark retrieved even if every caller went away

            task.add_done_callback(_done)
        return await asyncio.shield(task)

    async def _refresh(self, app: str, stale: str | None) -> str:
        appid, secret = self._credentials(app)
        token_key = self._keys.access_token(appid)
        lock_key = self._keys.access_token_lock(appid)
        owner = secrets.token_hex(8)
        if not await self._redis.set(lock_key, owner, nx=True, px=self._lock_ms):
            return await self._await_refresher(token_key, lock_key, stale)
        try:
            # Someone may have stored a usable token between our miss and the lock.
            current = _text(await self._redis.get(token_key))
            if current and current != stale:
                return current
            forced = stale is not None
            data = await self._request("stable_token", "POST", "/cgi-bin/stable_token", payload={
                "grant_type": "client_credential", "appid": appid, "secret": secret,
                "force_refresh": forced,
            })
            token = data.get("access_token")
            if not token:
                raise WeChatError(ERR_BAD_RESPONSE, "stable_token answer without access_token")
            expires_in = int(data.get("expires_in") or 7200)
            await self._redis.set(token_key, token, ex=self._cache_ttl(expires_in))
            log.info("wechat_access_token_fetched", appid=appid, forced=forced, expires_in=expires_in)
            return str(token)
        finally:
            try:
                await self._redis.eval(_RELEASE_LOCK, 1, lock_key, owner)
            except Exception:  # the lock expires by itself; do not mask the real outcome
                log.warning("wechat_token_lock_release_failed", appid=appid)

    async def _await_refresher(self, token_key: str, lock_key: str, stale: str | None) -> str:
        """Poll for the token another worker is fetching; never fetch ourselves.

        Lock and token are read in one MULTI so "lock gone, no token" reliably means
        the refresher failed (it stores the token before releasing the lock).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_bound
        delay = self._POLL_FIRST
        while True:
            await asyncio.sleep(delay * (0.5 + random.random()))
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.exists(lock_key)
                pipe.get(token_key)
                locked, current = await pipe.execute()
            current = _text(current)
            if current and current != stale:
                return current
            if not locked:
                raise WeChatError(ERR_TOKEN_UNAVAILABLE, "access token refresh by another worker failed")
            if loop.time() >= deadline:
                raise WeChatError(ERR_TOKEN_UNAVAILABLE, "timed out waiting for access token refresh")
            delay = min(delay * 2, self._POLL_MAX)

    def _cache_ttl(self, expires_in: int) -> int:
        ttl = expires_in - self.TOKEN_SAFETY_MARGIN
        if ttl < 60:
            # A token handed out near its end: keep it briefly, then ask again.
            ttl = max(1, expires_in // 2)
        return ttl

    # -------------------------------------------------------------- transport

    async def _with_token(self, app: str, api: str, path: str, payload: dict[str, Any] | None, *,
                          method: str = "POST", query: dict[str, str] | None = None) -> dict[str, Any]:
        token = await self.access_token(app)  # type: ignore[arg-type]
        try:
            return await self._request(api, method, path, params={**(query or {}), "access_token": token},
                                       payload=payload)
        except WeChatError as exc:
            if not exc.token_invalid:
                raise
            log.info("wechat_access_token_rejected", api=api, errcode=exc.errcode)
        fresh = await self.refresh_after_invalid(app, token)  # type: ignore[arg-type]
        return await self._request(api, method, path, params={**(query or {}), "access_token": fresh},
                                   payload=payload)

    async def _request(self, api: str, method: str, path: str, *,
                       params: dict[str, str] | None = None,
                       payload: dict[str, Any] | None = None) -> dict[str, Any]:
        self.calls[api] = self.calls.get(api, 0) + 1
        try:
            return await self._send(method, path, params, payload)
        except WeChatError as exc:
            key = f"{api}:{exc.errcode}"
            self.errors[key] = self.errors.get(key, 0) + 1
            raise

    def _url(self, path: str, params: dict[str, str] | None) -> tuple[Any, dict[str, str] | None]:
        """The URL to request, and the query parameters still to add to it.

        A message send carries only the access token, so its URL is the same for every
        message until the token changes: it is built and encoded once, not per message
        (a delivery worker sends thousands a second). Other calls are built as usual.
        """
        if params is None or len(params) != 1 or "access_token" not in params:
            return self._base + path, params
        key = (path, params["access_token"])
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= 64:  # tokens rotate every two hours; keep only recent ones
                self._urls.clear()
            url = self._urls[key] = yarl.URL(self._base + path).with_query(params)
        return url, None

    async def _send(self, method: str, path: str, params: dict[str, str] | None,
                    payload: dict[str, Any] | None) -> dict[str, Any]:
        body = orjson.dumps(payload) if payload is not None else None
        headers = _JSON_HEADERS if body is not None else None
        url, params = self._url(path, params)
        if self._lane is not None:
            try:
                status, raw = await self._lane.request(method, target(url, params), body, timeout=self.timeout)
            except TimeoutError:
                raise WeChatError(ERR_TIMEOUT, "timeout") from None
            except OSError as exc:
                raise WeChatError(ERR_CONNECTION, f"connection error ({type(exc).__name__})") from None
            return self._answer(status, raw)
        try:
            async with self._http.request(method, url, params=params, data=body,
                                          headers=headers, timeout=self._client_timeout) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            raise WeChatError(ERR_TIMEOUT, "timeout") from None
        except aiohttp.ClientError as exc:
            # Only the type: exception texts may carry the URL, and the URL the token.
            raise WeChatError(ERR_CONNECTION, f"connection error ({type(exc).__name__})") from None
        return self._answer(status, raw)

    @staticmethod
    def _answer(status: int, raw: bytes) -> dict[str, Any]:
        if status >= 400:
            raise WeChatError(ERR_HTTP, f"HTTP {status}", http_status=status)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise WeChatError(ERR_BAD_RESPONSE, "answer is not JSON", http_status=status) from None
        if not isinstance(data, dict):
            raise WeChatError(ERR_BAD_RESPONSE, "answer is not a JSON object", http_status=status)
        errcode = data.get("errcode") or 0
        if errcode:
            raise WeChatError(int(errcode), str(data.get("errmsg", "")), http_status=status)
        return data
