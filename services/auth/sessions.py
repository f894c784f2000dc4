"""Sessions live in Redis, so any API process serves any user.

The client holds an opaque random token; Redis holds only its SHA-256 digest, so
a dump of Redis cannot be replayed as logins. Staff sessions slide with a 30-minute
idle timeout; WeChat sessions last longer because the mini-program logs in again
silently (``wx.login``) whenever it is told 401.
"""

from __future__ import annotations

import hashlib
import secrets

import orjson

from services.auth.principal import Principal
from services.auth.roles import WECHAT_ROLES, Role
from services.runtime import Runtime


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ttl(rt: Runtime, role: Role) -> int:
    if role in WECHAT_ROLES:
        return rt.settings.wechat_session_days * 86400
    return rt.settings.staff_idle_minutes * 60


async def create(rt: Runtime, *, user_id: int, role: Role, enterprise_id: int | None,
                 department_id: int | None = None) -> str:
    token = secrets.token_urlsafe(32)
    d = digest(token)
    ttl = _ttl(rt, role)
    value = orjson.dumps({"u": user_id, "r": str(role), "e": enterprise_id, "d": department_id})
    async with rt.redis.pipeline(transaction=True) as pipe:
        pipe.set(rt.keys.session(d), value, ex=ttl)
        pipe.sadd(rt.keys.user_sessions(user_id), d)
        pipe.expire(rt.keys.user_sessions(user_id), max(ttl, 7 * 86400))
        await pipe.execute()
    return token


async def resolve(rt: Runtime, token: str) -> Principal | None:
    """Look the token up and renew its idle timeout in the same round trip."""
    if len(token) > 128:
        return None
    d = digest(token)
    key = rt.keys.session(d)
    async with rt.redis.pipeline(transaction=False) as pipe:
        pipe.get(key)
        pipe.ttl(key)
        raw, ttl = await pipe.execute()
    if raw is None:
        return None
    data = orjson.loads(raw)
    role = Role(data["r"])
    full = _ttl(rt, role)
    # Renew only when some time has passed: keeps the hot path to one round trip.
    if ttl is not None and ttl >= 0 and full - ttl > 30:
        await rt.redis.expire(key, full)
    return Principal(user_id=data["u"], role=role, enterprise_id=data.get("e"),
                     department_id=data.get("d"), session_digest=d)


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
    value = orjson.dumps({"u": principal.user_id, "r": str(role), "e": enterprise_id,
                          "d": principal.department_id})
    await rt.redis.set(key, value, ex=_ttl(rt, role))
