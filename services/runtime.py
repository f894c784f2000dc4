"""The shared resources a service call may need, built once by the app factory.

Passing one ``Runtime`` keeps service signatures short and makes the embedded and
production set-ups differ only in what the composition root puts here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from models.redis_keys import Keys

T = TypeVar("T")


@dataclass
class Runtime:
    settings: Any  # server.settings.Settings (services must not import server)
    redis: Any  # redis.asyncio.Redis or the in-process substitute
    keys: Keys
    cipher: Any  # services.crypto.FieldCipher
    gateway: Any = None  # wechat.gateway.WeChatGateway
    #: server.redis_lane.RedisLane to the same Redis, for the per-request session lookup;
    #: None where only redis-py applies (the in-process substitute, TLS, a Unix socket)
    lane: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def held(self, key: str, make: Callable[[], T]) -> T:
        """This runtime's ``extras[key]``, made by ``make`` the first time. Not
        ``extras.setdefault(key, make())``: that builds a new object on every call and
        throws it away — a snapshot holder and its lock per request on hot paths."""
        found = self.extras.get(key)
        return found if found is not None else self.extras.setdefault(key, make())
