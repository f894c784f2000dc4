"""Per-process snapshots of data that is read on every request and changed rarely
(the service catalogue, the published policies).

Each API process keeps the built snapshot in memory and checks a version counter in
Redis at most once a second; a write bumps the counter, so every process rebuilds
within about a second and the writing process at once. The check is single-flight:
requests arriving during the round trip keep using the snapshot they have.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from models.redis_keys import Keys
from services.runtime import Runtime

T = TypeVar("T")
CHECK_SECONDS = 1.0


class VersionedSnapshot(Generic[T]):
    def __init__(self, version_key: Callable[[Keys], str], load: Callable[[str], Awaitable[T]]) -> None:
        self._version_key = version_key
        self._load = load
        self._value: T | None = None
        self._version: str | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, rt: Runtime) -> T:
        now = time.monotonic()
        if self._value is not None and now - self._checked_at < CHECK_SECONDS:
            return self._value
        self._checked_at = now
        raw = await rt.redis.get(self._version_key(rt.keys))
        version = raw.decode() if isinstance(raw, bytes) else str(raw or "0")
        if self._value is None or self._version != version:
            async with self._lock:
                if self._value is None or self._version != version:
                    self._value = await self._load(version)
                    self._version = version
        return self._value

    def invalidate(self) -> None:
        self._value = None

    async def bump(self, rt: Runtime) -> None:
        await rt.redis.incr(self._version_key(rt.keys))
        self.invalidate()
