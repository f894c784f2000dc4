"""One worker process of the token storm: many concurrent token requests at once.

Run by ``tests/integration/test_token_single_refresher.py`` as a separate OS
process, several at a time, to prove that one Redis lock — not luck inside one
event loop — keeps the deployment to a single token fetch. Every call gets its
own gateway instance, so even within a process the calls compete for the Redis
lock instead of being coalesced in memory.

Protocol: prints ``ready`` once imported and connected, waits for a line on
stdin (the start signal, so all processes start together), then prints one JSON
line ``{"tokens": [...], "errors": [...]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp
import orjson
import redis.asyncio as aioredis
import structlog

from models.redis_keys import Keys
from wechat.gateway import WeChatError, WeChatGateway


async def storm(args: argparse.Namespace) -> dict[str, list]:
    redis = aioredis.from_url(args.redis_url, max_connections=args.calls + 4)
    await redis.ping()
    keys = Keys(prefix=args.prefix)
    async with aiohttp.ClientSession() as http:
        workers = [WeChatGateway(base_url=args.base_url, http=http, redis=redis, keys=keys,
                                 appid=args.appid, secret=args.secret, mp_appid="unused",
                                 mp_secret="unused") for _ in range(args.calls)]
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

        async def one(gw: WeChatGateway) -> str:
            if args.stale:
                return await gw.refresh_after_invalid("mini", args.stale)
            return await gw.access_token("mini")

        results = await asyncio.gather(*(one(w) for w in workers), return_exceptions=True)
    await redis.aclose()
    tokens = [r for r in results if isinstance(r, str)]
    errors = [f"{r.errcode}:{r.errmsg}" if isinstance(r, WeChatError) else repr(r)
              for r in results if not isinstance(r, str)]
    return {"tokens": tokens, "errors": errors}


def main() -> None:
    # Logs to stderr: stdout carries the protocol.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--appid", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--stale", default="", help="refresh_after_invalid(stale) instead of access_token()")
    result = asyncio.run(storm(parser.parse_args()))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
