"""Sessions live in Redis, so any API process serves any user.

The client holds an opaque random token; Redis holds only its SHA-256 digest, so
a dump of Redis cannot be replayed as logins. Staff sessions slide with a 30-minute
idle timeout; WeChat sessions last longer because the mini-program logs in again
silently (``wx.login``) whenever it is told 401.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
from redis.exceptions import NoScriptError

from services.auth.principal import UNREAD, Principal
from services.auth.roles import WECHAT_ROLES, Role
from services.runtime import Runtime


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ttl(rt: Runtime, role: Role) -> int:
    if role in WECHAT_ROLES:
        return rt.settings.wechat_session_days * 86400
    return rt.settings.staff_idle_minutes * 60


def _value(user_id: int, role: Role, enterprise_id: int | None, department_id: int | None,
           openid: str | None) -> bytes:
    """The stored session. ``o`` (the WeChat openid) only when known: a session without it
    is one whose user's openid must be read from the database when needed."""
    data = {"u": user_id, "r": str(role), "e": enterprise_id, "d": department_id}
    if openid:
        data["o"] = openid
    return orjson.dumps(data)


async def create(rt: Runtime, *, user_id: int, role: Role, enterprise_id: int | None,
                 department_id: int | None = None, openid: str | None = None) -> str:
    """A new session. ``openid``: the user's WeChat openid, which a WeChat login has at hand
    and a consultation intake then reads from the session (``Principal.openid``) rather
    than from the database. A user's openid is the key the login finds them by, so it
    cannot change under a session."""
    token = secrets.token_urlsafe(32)
    d = digest(token)
    ttl = _ttl(rt, role)
    value = _value(user_id, role, enterprise_id, department_id, openid)
    async with rt.redis.pipeline(transaction=True) as pipe:
        pipe.set(rt.keys.session(d), value, ex=ttl)
        pipe.sadd(rt.keys.user_sessions(user_id), d)
        pipe.expire(rt.keys.user_sessions(user_id), max(ttl, 7 * 86400))
        await pipe.execute()
    return token


# Read a session and renew its idle timeout in one command. The timeout depends on the
# role stored in the value (ARGV[1] for WeChat roles, listed from ARGV[9], else ARGV[2]);
# renewal only when more than 30 s have passed, as writes are what a lookup should avoid.
# Before, lookup and renewal were two round trips whenever a session was renewed — the
# first request of every user in a while, e.g. every consultation (python -m bench intake).
#
# A session bound to an enterprise also brings back that enterprise's profile version
# (ARGV[3] .. id .. ARGV[4], see Keys.enterprise_profile_version_affixes): the policy
# feed needs it on every request to trust its cached profile, and a second round trip
# cost a feed request about as much CPU as this whole lookup.
#
# A route with a per-user rate limit (``endpoint(counts=...)``, the consultation intake)
# has the request counted here too: INCR of ARGV[5] .. user id .. ARGV[6], expiring after
# ARGV[7] seconds, when the session's role is one of ARGV[8] (",role,role,"); ARGV[5] is
# empty otherwise. That was a round trip of its own on every intake. The count is the
# third element (false when not counted).
#
# Keys derived from the session value are not declared in KEYS; that is fine on one
# Redis server (what the product runs on) and would need a hash tag on Redis Cluster.
_RESOLVE_SCRIPT = """
local v = redis.call('GET', KEYS[1])
if not v then return false end
local ttl = redis.call('TTL', KEYS[1])
local role = string.match(v, '"r":"([^"]*)"')
local full = tonumber(ARGV[2])
for i = 9, #ARGV do
  if ARGV[i] == role then full = tonumber(ARGV[1]) end
end
if ttl >= 0 and full - ttl > 30 then redis.call('EXPIRE', KEYS[1], full) end
local counted = false
if ARGV[5] ~= '' and role and string.find(ARGV[8], ',' .. role .. ',', 1, true) then
  local k = ARGV[5] .. string.match(v, '"u":(%d+)') .. ARGV[6]
  counted = redis.call('INCR', k)
  if counted == 1 then redis.call('EXPIRE', k, tonumber(ARGV[7])) end
end
local enterprise = string.match(v, '"e":(%d+)')
local version = false
if enterprise then version = redis.call('GET', ARGV[3] .. enterprise .. ARGV[4]) end
return {v, version, counted}
"""
_RESOLVE_SHA = hashlib.sha1(_RESOLVE_SCRIPT.encode()).hexdigest()
_WECHAT_ROLE_NAMES = sorted(str(r) for r in WECHAT_ROLES)
#: How long a per-user hourly window's counter outlives its hour.
WINDOW_EXPIRY_SECONDS = 3700
_SHANGHAI = ZoneInfo("Asia/Shanghai")


_window: tuple[int, str] = (-1, "")


def hour_window() -> str:
    """The current per-user rate window: the hour, Asia/Shanghai (``2026120609``).

    Counted requests ask for it on every lookup; formatting a zoned time cost 10–15 µs of
    it (python -m bench intake), so the text is kept for the hour it names."""
    global _window
    hour = int(time.time() // 3600)
    if _window[0] != hour:
        _window = (hour, f"{datetime.fromtimestamp(hour * 3600, _SHANGHAI):%Y%m%d%H}")
    return _window[1]


@dataclass(frozen=True)
class Count:
    """Count the request in a per-user hourly window during the lookup: the bucket, and
    the roles whose requests count (others, e.g. staff refused by the route, do not)."""

    bucket: str
    roles: frozenset[Role]


@dataclass
class Counted:
    """A request the session lookup counted (``Principal.rate_count``): the count, and
    whether the route got as far as its limit check, which is where the count belongs;
    otherwise the endpoint takes it back (:func:`uncount`)."""

    n: int
    used: bool = False


def _counting(rt: Runtime, count: Count, window: str) -> tuple[str, str, int, str]:
    """The lookup script's arguments that count a request in ``window``: the window key's
    head and tail, its expiry and the roles that count (",a,b,"). The same for every
    request of a route in the hour, so made once per (route's count, hour) and kept
    (a few µs of every counted lookup)."""
    made: dict = rt.held("session_counting", dict)
    found = made.get((count, window))
    if found is None:
        if len(made) >= 64:  # last hour's windows
            made.clear()
        found = made[(count, window)] = (*rt.keys.rate_affixes(count.bucket, window), WINDOW_EXPIRY_SECONDS,
                                         "," + ",".join(sorted(str(r) for r in count.roles)) + ",")
    return found


async def resolve(rt: Runtime, token: str, count: Count | None = None) -> Principal | None:
    """Look the token up and renew its idle timeout in the same round trip; for a user of
    an enterprise, read the enterprise's profile version in it too; with ``count``, also
    count the request in the caller's window (``Principal.rate_count``)."""
    if len(token) > 128:
        return None
    d = digest(token)
    args = rt.extras.get("session_resolve_args")
    if args is None:
        args = rt.extras["session_resolve_args"] = (
            _ttl(rt, Role.VISITOR), _ttl(rt, Role.CONSULTANT), *rt.keys.enterprise_profile_version_affixes())
    counting: tuple = ("", "", 0, "") if count is None else _counting(rt, count, hour_window())
    # EVALSHA straight away rather than through redis-py's Script object, whose every call
    # re-imports and re-checks for pipelines: ~8 µs of a lookup that every request makes.
    # The lane (server/redis_lane.py) when there is one: the same EVALSHA on a pipelined
    # connection, a fifth of redis-py's CPU per call.
    try:
        found = await (rt.lane or rt.redis).evalsha(_RESOLVE_SHA, 1, rt.keys.session(d), *args, *counting,
                                                   *_WECHAT_ROLE_NAMES)
    except NoScriptError:  # a Redis that restarted or was flushed of scripts
        await rt.redis.script_load(_RESOLVE_SCRIPT)
        found = await rt.redis.evalsha(_RESOLVE_SHA, 1, rt.keys.session(d), *args, *counting, *_WECHAT_ROLE_NAMES)
    if not found:
        return None
    data = orjson.loads(found[0])
    role = Role(data["r"])
    # A GET of a missing key, or a false, comes back from Lua as None (RESP2) or False
    # (RESP3); a version of None means "no write since the key expired".
    version = found[1] if len(found) > 1 and found[1] else None
    counted = int(found[2]) if len(found) > 2 and found[2] not in (None, False) else None
    return Principal(user_id=data["u"], role=role, enterprise_id=data.get("e"),
                     department_id=data.get("d"), session_digest=d,
                     profile_version=version if data.get("e") is not None else UNREAD, rate_count=counted,
                     rate_key=f"{counting[0]}{data['u']}{counting[1]}" if counted is not None else "",
                     openid=data.get("o"))


async def uncount(rt: Runtime, principal: Principal) -> None:
    """Take back a request :func:`resolve` counted that the route then did not count
    (refused before its limit is checked, or an idempotent replay): the window it was
    counted in, even if the hour has turned since."""
    if principal.rate_key:
        await rt.redis.decr(principal.rate_key)


async def revoke(rt: Runtime, principal: Principal) -> None:
    await rt.redis.delete(rt.keys.session(principal.session_digest))
    await rt.redis.srem(rt.keys.user_sessions(principal.user_id), principal.session_digest)


async def revoke_all(rt: Runtime, user_id: int) -> None:
    """Log a user out everywhere: after a role change, a lock or a membership change."""
    members = await rt.redis.smembers(rt.keys.user_sessions(user_id))
    keys = [rt.keys.session(m.decode() if isinstance(m, bytes) else m) for m in members]
    if keys:
        await rt.redis.delete(*keys)
    await rt.redis.delete(rt.keys.user_sessions(user_id))


async def rebind(rt: Runtime, principal: Principal, *, role: Role, enterprise_id: int | None) -> None:
    """Update the caller's own session after they register or join an enterprise,
    so the mini-program keeps its token and sees its new role at once."""
    key = rt.keys.session(principal.session_digest)
    value = _value(principal.user_id, role, enterprise_id, principal.department_id, principal.openid)
    await rt.redis.set(key, value, ex=_ttl(rt, role))
