"""How late this process's event loop runs what is due: the first thing to read when an
API process answers slowly.

An aiohttp process does everything on one thread. When it has more ready work than
one core can run, every step of every request — reading the request, the answer from
Redis, from WeChat, from PostgreSQL — waits its turn behind the others, and each of
those waits is about one turn of the loop. The wait shows here, not in any one
dependency's latency: ``python -m bench intake`` at 64 connections measured a lag of
17–19 ms at the median and about 40 ms at p99, and writes of 61–66 ms at the median
for about 1.3 ms of PostgreSQL's CPU each. A lag that stays above a few milliseconds
says the process has more to do than its core gives it: add API processes (README,
several processes) on cores of their own. (On the 2-core bench machine the loop also
waited for a core a sixth of the time, held by the PostgreSQL backends it woke.)

A timer every ``INTERVAL`` seconds records how much later than asked it fired, in
``sz_event_loop_lag_seconds`` on ``/metrics``: twenty wake-ups a second, a few
microseconds each.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Histogram

INTERVAL = 0.05

LOOP_LAG = Histogram("sz_event_loop_lag_seconds", "How much later than due the event loop ran a timer",
                     buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28))


async def watch(interval: float = INTERVAL) -> None:
    """Observe the loop's lag until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        LOOP_LAG.observe(max(0.0, loop.time() - due))
