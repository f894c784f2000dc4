"""Official-account followers and the unionid that links them to our users.

Template messages go to a follower's official-account openid, but our users are
known by their mini-program openid: the two meet only through the unionid (both
apps bound to one open-platform account). Login stores the user's unionid from
jscode2session; the ``subscribe`` event carries only the official-account openid,
so the follower's unionid is looked up here with ``cgi-bin/user/info``. The
campaign query joins the two unionids, so once both are known the follower is
linked, whichever came first — following before ever opening the mini-program
included.

A lookup never blocks the event: the event and the follower row are stored with
``lookup_due`` set; one bounded attempt follows right after (so someone who just
followed is linked at once), and the ``follower-lookup`` job resolves whatever is
still due in batches of 100 (``user/info/batchget``), backing off per follower
when WeChat fails. Nothing is dropped on a failure except an openid WeChat says is
not ours (40003), which can never resolve.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import structlog
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.notifications import WeChatFollower
from notifications.schedule import retry_delay_ms
from notifications.sqltext import now_ms
from wechat.gateway import USER_INFO_BATCH, UserInfo, WeChatError

log = structlog.get_logger("notifications.followers")

#: Backoff of a failed lookup: 1 min, 2, 4 … capped at an hour, with jitter.
RETRY_BASE_SECONDS = 60.0
RETRY_CAP_SECONDS = 3600.0
#: Batches one job run resolves at most (the job runs every minute).
MAX_BATCHES_PER_RUN = 50
#: The attempt right after a follow shares the callback's time: WeChat waits 5 s
#: for our answer, and the job picks up whatever does not finish in this.
INLINE_SECONDS = 2.0
NOT_BOUND = "no unionid"  # the official account is not bound to our open-platform account


# ------------------------------------------------------------------ events


async def followed(openid: str, *, unionid: str | None = None, at_ms: int | None = None) -> None:
    """A ``subscribe`` event: (re)follow, and a lookup due unless the unionid is known."""
    now = now_ms() if at_ms is None else at_ms
    row = await _row_for_update(openid[:64])
    row.subscribed = True
    row.subscribed_at = datetime.fromtimestamp(now / 1000, UTC)
    if unionid:
        row.unionid = unionid[:64]
    if row.unionid:
        row.lookup_due, row.lookup_error = None, ""
    else:
        row.lookup_due, row.lookup_attempts, row.lookup_error = now, 0, ""
    await row.save()


async def unfollowed(openid: str, *, at_ms: int | None = None) -> None:
    """An ``unsubscribe`` event: no more template messages; the unionid is kept for a return."""
    now = now_ms() if at_ms is None else at_ms
    row = await _row_for_update(openid[:64])
    row.subscribed = False
    row.unsubscribed_at = datetime.fromtimestamp(now / 1000, UTC)
    row.lookup_due = None
    await row.save()


async def _row_for_update(openid: str) -> WeChatFollower:
    row = await WeChatFollower.filter(openid=openid).select_for_update().first()
    if row is not None:
        return row
    try:
        async with in_transaction():  # savepoint: a concurrent first event may win
            return await WeChatFollower.create(openid=openid, subscribed=False)
    except IntegrityError:
        row = await WeChatFollower.filter(openid=openid).select_for_update().first()
        assert row is not None
        return row


# ----------------------------------------------------------------- lookups


async def resolve_now(rt: Any, openid: str) -> bool:
    """Right after a follow was stored: one bounded attempt. True when linked.

    Never raises: whatever fails here stays due for :func:`resolve_due`.
    """
    try:
        row = await WeChatFollower.filter(openid=openid[:64]).values("lookup_due")
        if not row or row[0]["lookup_due"] is None:
            return False
        found = await asyncio.wait_for(look_up(rt, [openid[:64]]), INLINE_SECONDS)
    except Exception as exc:  # noqa: BLE001 - a timeout or a database hiccup: the job retries
        log.warning("follower_lookup_deferred", error=type(exc).__name__)
        return False
    return found["linked"] == 1


async def resolve_due(rt: Any, *, now: int | None = None, max_batches: int = MAX_BATCHES_PER_RUN) -> dict:
    """The ``follower-lookup`` job: look up due followers, 100 per WeChat call.

    Stops early when WeChat fails transiently (no point hammering a busy platform:
    those followers are pushed back and come again with their backoff).
    """
    now = now_ms() if now is None else now
    totals: Counter[str] = Counter()
    for _ in range(max_batches):
        openids = await (WeChatFollower.filter(subscribed=True, unionid__isnull=True, lookup_due__lte=now)
                         .order_by("lookup_due", "id").limit(USER_INFO_BATCH)
                         .values_list("openid", flat=True))
        if not openids:
            break
        found = await look_up(rt, list(openids), now=now)
        totals.update(found)
        if found["retry"]:
            break
    return dict(totals)


async def look_up(rt: Any, openids: list[str], *, now: int | None = None) -> Counter[str]:
    """Look up ≤ 100 followers and store what WeChat says. Counts per outcome:
    ``linked``, ``not_bound``, ``left``, ``foreign`` (40003: never resolvable), ``retry``."""
    now = now_ms() if now is None else now
    gateway = rt.gateway
    outcome: Counter[str] = Counter()
    try:
        if len(openids) == 1:
            infos = [await gateway.user_info(openids[0])]
        else:
            infos = await gateway.user_info_batch(openids)
    except WeChatError as exc:
        if exc.errcode == 40003 and len(openids) > 1:
            # One openid not ours fails the whole batch: find it one by one.
            for openid in openids:
                outcome.update(await look_up(rt, [openid], now=now))
            return outcome
        if exc.errcode == 40003:
            await _give_up(openids[0], "40003")
            outcome["foreign"] += 1
            return outcome
        await _retry_later(openids, exc, now=now)
        outcome["retry"] += len(openids)
        log.warning("follower_lookup_failed", followers=len(openids), errcode=exc.errcode)
        return outcome
    for info in infos:
        outcome[await _store(info, now=now)] += 1
    return outcome


async def _store(info: UserInfo, *, now: int) -> str:
    if info.subscribed and info.unionid:
        await WeChatFollower.filter(openid=info.openid).update(
            unionid=info.unionid[:64], lookup_due=None, lookup_error="")
        return "linked"
    if info.subscribed:
        await _give_up(info.openid, NOT_BOUND)
        return "not_bound"
    # WeChat says they left, and no follow event came after we asked (that would
    # have set a newer lookup_due): the unsubscribe event was lost or is on its way.
    await WeChatFollower.filter(openid=info.openid, lookup_due__lte=now).update(
        subscribed=False, unsubscribed_at=datetime.fromtimestamp(now / 1000, UTC), lookup_due=None)
    return "left"


async def _give_up(openid: str, why: str) -> None:
    await WeChatFollower.filter(openid=openid).update(lookup_due=None, lookup_error=why)


async def _retry_later(openids: list[str], exc: WeChatError, *, now: int) -> None:
    """Push each follower back by its own backoff; a later event or success wins."""
    rows = await WeChatFollower.filter(openid__in=openids, lookup_due__isnull=False).values(
        "id", "lookup_attempts")
    error = f"{exc.errcode} {exc.errmsg}"[:128]
    for r in rows:
        attempt = r["lookup_attempts"] + 1
        due = now + retry_delay_ms(attempt, base_seconds=RETRY_BASE_SECONDS,
                                   cap_seconds=RETRY_CAP_SECONDS, jitter=random.random())
        await WeChatFollower.filter(id=r["id"], lookup_due__isnull=False).update(
            lookup_due=due, lookup_attempts=F("lookup_attempts") + 1, lookup_error=error)
