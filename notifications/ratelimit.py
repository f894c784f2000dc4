"""A token bucket in Redis: the whole deployment's WeChat sends stay under one rate.

WeChat's quotas are per account, not per process, so the bucket is shared: every
worker takes tokens from the same Redis hash through one Lua script (atomic, one
round trip per batch, not per message). The script reads Redis's own clock, so
workers on different hosts with skewed clocks still agree on the refill.

If the key disappears (Redis flushed, TTL after idleness) the bucket starts full
again: at most one burst (one second's worth) beyond the rate, then steady.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

# KEYS[1] bucket; ARGV: rate per second, burst, tokens wanted.
# Returns {granted, wait_ms}: wait_ms is how long until a token is available when
# nothing could be granted.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local granted = math.min(want, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
local wait = 0
if granted == 0 then
  wait = math.ceil((1 - tokens) * 1000 / rate)
  if wait < 1 then wait = 1 end
end
return {granted, wait}
"""


class TokenBucket:
    """``await bucket.take(n)`` returns how many sends (1…n) may go now, waiting if none."""

    def __init__(self, redis: Any, key: str, *, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._redis = redis
        self.key = key
        self.rate = float(rate)
        # One second's worth: smooth enough for WeChat, large enough for whole batches.
        self.burst = float(burst if burst is not None else max(1.0, math.ceil(rate)))
        self._script = None

    async def try_take(self, n: int) -> tuple[int, int]:
        """One script call: (granted, wait_ms)."""
        if self._script is None:
            self._script = self._redis.register_script(_TAKE)
        granted, wait = await self._script(keys=[self.key], args=[self.rate, self.burst, int(n)])
        return int(granted), int(wait)

    async def take(self, n: int) -> int:
        if n <= 0:
            return 0
        while True:
            granted, wait = await self.try_take(n)
            if granted:
                return granted
            await asyncio.sleep(wait / 1000)
