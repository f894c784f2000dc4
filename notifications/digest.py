"""The daily digest: users who chose ``mode=digest`` get one push per day, not one per policy.

Their policy deliveries are written with ``digest = TRUE`` and ``not_before`` (and
``offer_at``) at their digest moment (see :mod:`notifications.outbox`); the inbox has
every policy at once. This job, run every minute by whichever process holds the
scheduler lock, folds each user's due held rows into one summary delivery per channel
of a per-day ``digest`` campaign, and marks the held rows ``skipped`` ("已并入每日汇总").
The unique (campaign, user, channel) key makes "one per user per day" a database fact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from models.notifications import Campaign
from notifications.channels import DIGEST_PAGE, DIGEST_TITLE, TZ
from notifications.outbox import CONFIG, kick
from notifications.sqltext import Statement, now_ms

FOLDED = "已并入每日汇总"


async def send_digests(rt: Any, *, at_ms: int | None = None) -> int:
    """Fold due held deliveries into today's digests and offer them.

    Returns the number of digest deliveries this run wrote."""
    now = now_ms() if at_ms is None else at_ms
    now_dt = datetime.fromtimestamp(now / 1000, UTC)
    day = datetime.fromtimestamp(now / 1000, TZ).date()
    async with in_transaction() as conn:
        st = Statement(conn)
        due = f"status = 'queued' AND digest = TRUE AND offer_at <= {st.p(now, 'BIGINT')}"
        top = await conn.execute_query_dict(f"SELECT MAX(id) AS m FROM notification_delivery WHERE {due}",
                                            st.params)
        max_id = top[0]["m"]
        if max_id is None:
            return 0
        campaign = await Campaign.filter(kind="digest", source_id=int(day.strftime("%Y%m%d"))).first()
        if campaign is None:
            campaign = await Campaign.create(kind="digest", source_id=int(day.strftime("%Y%m%d")),
                                             title=DIGEST_TITLE, summary="您关注的惠企政策有更新，点击查看",
                                             page=DIGEST_PAGE)
        before = await _count(conn, campaign.id)
        # The same bound on both statements: a held row committed in between is
        # neither summarised nor skipped, but left for the next run.
        st = Statement(conn)
        bounded = (f"d.status = 'queued' AND d.digest = TRUE AND d.offer_at <= {st.p(now, 'BIGINT')} "
                   f"AND d.id <= {st.p(max_id, 'BIGINT')}")
        await conn.execute_query(
            "INSERT INTO notification_delivery (campaign_id, user_id, channel, openid, status, digest, "
            "attempts, credit_held, offer_at, not_before, last_error, note, created_at) "
            f"SELECT {st.p(campaign.id, 'INT')}, d.user_id, d.channel, MIN(d.openid), 'queued', FALSE, 0, FALSE, "
            f"{st.p(now + CONFIG.claim_timeout_ms, 'BIGINT')}, CAST(NULL AS BIGINT), '', "
            f"'您有' || CAST(COUNT(*) AS VARCHAR(10)) || '条新的惠企政策', {st.p(now_dt, 'TIMESTAMPTZ')} "
            f"FROM notification_delivery d WHERE {bounded} GROUP BY d.user_id, d.channel "
            f"ON CONFLICT (campaign_id, user_id, channel) DO NOTHING", st.params)
        st = Statement(conn)
        await conn.execute_query(
            f"UPDATE notification_delivery SET status = 'skipped', last_error = {st.p(FOLDED)} "
            f"WHERE id IN (SELECT d.id FROM notification_delivery d WHERE "
            f"d.status = 'queued' AND d.digest = TRUE AND d.offer_at <= {st.p(now, 'BIGINT')} "
            f"AND d.id <= {st.p(max_id, 'BIGINT')})", st.params)
        users, after = await _count(conn, campaign.id, users=True)
        await Campaign.filter(id=campaign.id).update(matched=users, recipients=users)
    await kick(rt, campaign.id)
    return after - before


async def _count(conn: Any, campaign_id: int, *, users: bool = False) -> Any:
    st = Statement(conn)
    [row] = await conn.execute_query_dict(
        f"SELECT COUNT(DISTINCT user_id) AS n, COUNT(*) AS d FROM notification_delivery "
        f"WHERE campaign_id = {st.p(campaign_id)}", st.params)
    return (int(row["n"]), int(row["d"])) if users else int(row["d"])
