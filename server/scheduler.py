"""Periodic jobs, run by whichever process holds the job's Redis lock.

Every API or worker process may run the scheduler; the lock makes each run happen
once per period across the deployment. Jobs are idempotent, so a run repeated
after a crash does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from notifications import digest, followers
from services import audit
from services.runtime import Runtime

log = structlog.get_logger("scheduler")
TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Job:
    name: str
    every_seconds: int
    run: Callable[[Runtime], Awaitable[object]]


async def _purge_audit(rt: Runtime) -> int:
    return await audit.purge_expired(retention_days=rt.settings.audit_retention_days, now=datetime.now(TZ))


async def _expire_policies(rt: Runtime) -> int:
    from services.policies import service as policies

    return await policies.expire_due(rt)


async def _digests(rt: Runtime) -> int:
    return await digest.send_digests(rt)


async def _supervise_cases(rt: Runtime) -> dict:
    from services.consultations import supervision

    return await supervision.sweep(rt)


async def _recheck_cases(rt: Runtime) -> int:
    from services.consultations import service as consultations

    return await consultations.recheck_pending(rt)


async def _follower_lookup(rt: Runtime) -> dict:
    return await followers.resolve_due(rt)


async def _insights_rollup(rt: Runtime) -> dict:
    from services.insights import rollup

    return await rollup.scheduled(rt)


# Policies: hourly, so a policy whose last day was yesterday leaves the feed (which also
# filters by date) and the library within the first hour of the new day.
JOBS: list[Job] = [Job("audit-retention", 24 * 3600, _purge_audit),
                   Job("policy-expiry", 3600, _expire_policies),
                   # Each user's digest falls on their own minute (digest time or quiet-hours end).
                   Job("policy-digest", 60, _digests),
                   # Reminders, 催办 and 通报 within a minute of their mark; auto-closing.
                   Job("consultation-supervision", 60, _supervise_cases),
                   # Cases accepted while msgSecCheck was unreachable get checked once it is back.
                   Job("consultation-recheck", 60, _recheck_cases),
                   # Followers whose unionid lookup failed or is still due, 100 per WeChat call.
                   Job("follower-lookup", 60, _follower_lookup),
                   # Demand insights: re-roll the last 3 days, absorbing late answers and ratings,
                   # then warm the dashboard's default views.
                   Job("insights-rollup", 600, _insights_rollup)]


async def run_forever(rt: Runtime, jobs: list[Job] | None = None, tick: float = 30.0) -> None:
    jobs = jobs or JOBS
    while True:
        for job in jobs:
            # SET NX EX: the lock both elects one runner and spaces the runs.
            if await rt.redis.set(rt.keys.scheduler_lock(job.name), "1", nx=True, ex=job.every_seconds):
                try:
                    result = await job.run(rt)
                    log.info("job_done", job=job.name, result=result)
                except Exception:
                    log.exception("job_failed", job=job.name)
        await asyncio.sleep(tick)


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
