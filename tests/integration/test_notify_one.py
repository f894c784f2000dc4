"""``outbox.notify_user`` has its own single-statement path on PostgreSQL (it runs inside
every consultation intake). It must write exactly the rows the general fan-out writes for
the same one recipient: same campaign figures, inbox message and delivery rows — per
channel, with quiet hours, the digest and the critical flag applied the same way."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from models import User
from models.notifications import Campaign, Delivery, InboxMessage, NotificationPreference, WeChatFollower
from notifications import outbox
from tests.integration.test_delivery import person, settings, tomorrow  # noqa: F401 (fixture)

DELIVERY_FIELDS = ("channel", "openid", "status", "digest", "attempts", "credit_held", "offer_at", "not_before",
                   "last_error", "note")


async def _written(campaign_id: int) -> dict:
    c = await Campaign.get(id=campaign_id)
    # the inbox as its users see it: it picks up their deliveries when they look
    for uid in set(await Delivery.filter(campaign_id=campaign_id).values_list("user_id", flat=True)):
        await outbox.sync_inbox(uid, campaign_id)
    inbox = await InboxMessage.filter(campaign_id=campaign_id).values_list("user_id", flat=True)
    deliveries = sorted(tuple(getattr(d, f) for f in DELIVERY_FIELDS)
                        for d in await Delivery.filter(campaign_id=campaign_id))
    return {"campaign": (c.kind, c.source_id, c.title, c.summary, c.page, c.critical, c.matched, c.recipients,
                         c.created_at), "inbox": sorted(inbox), "deliveries": deliveries}


async def _both(user: User, *, at_ms: int, critical: bool, kind: str) -> tuple[dict, dict, int | None]:
    args = dict(title="新派单：咨询#7", summary="请在期限内答复", page="/console/#/cases/7", critical=critical,
                kind=kind, source_id=7, at_ms=at_ms)
    async with in_transaction():
        one, ready = await outbox.notify_one(user_id=user.id, **args)
        general = await outbox.create_campaign(
            recipient_sql="SELECT id AS user_id FROM app_user WHERE id = $1", recipient_params=[user.id],
            created_by=None, **args)
    return await _written(one), await _written(general), ready


@pytest.mark.parametrize("hhmm, critical, kind", [
    ("10:00", True, "case_assigned"), ("23:30", True, "case_assigned"),
    ("23:30", False, "consultation"), ("10:00", False, "policy"), ("02:00", False, "policy"),
])
async def test_one_recipient_gets_the_rows_the_fan_out_writes(rt, settings, hhmm, critical, kind):  # noqa: F811
    at = tomorrow(hhmm)
    immediate = await person(follower=True, settings=settings)
    digest_quiet = await person(mode="digest", quiet=(1320, 420), settings=settings)
    for user in (immediate, digest_quiet):
        one, general, ready = await _both(user, at_ms=at, critical=critical, kind=kind)
        assert one == general
        assert one["inbox"] == [user.id] and one["campaign"][6:8] == (1, 1)
        if ready is not None:  # PostgreSQL: what kick() then offers
            assert ready == sum(1 for d in one["deliveries"] if not d[3] and (d[7] is None or d[7] <= at))


async def test_staff_without_wechat_get_an_inbox_notice_and_nothing_to_kick(rt, settings):  # noqa: F811
    staff = await User.create(kind="staff", username="notify-one-staff", role="consultant", display_name="咨询员")
    one, general, ready = await _both(staff, at_ms=tomorrow("10:00"), critical=True, kind="case_assigned")
    assert one == general and one["inbox"] == [staff.id] and one["deliveries"] == []
    assert ready in (0, None)


async def test_an_inactive_user_is_matched_by_neither_path(rt, settings):  # noqa: F811
    gone = await person(follower=True, settings=settings)
    await User.filter(id=gone.id).update(is_active=False)
    one, general, ready = await _both(gone, at_ms=tomorrow("10:00"), critical=True, kind="case_assigned")
    assert one == general and one["inbox"] == [] and one["deliveries"] == [] and one["campaign"][6:8] == (0, 0)
    assert ready in (0, None)


async def test_a_stale_follower_row_still_gives_one_template_delivery(rt, settings):  # noqa: F811
    user = await person(follower=True, settings=settings)
    await WeChatFollower.create(openid="oMPstale-zzz", unionid=user.unionid)
    await NotificationPreference.filter(user_id=user.id).delete()
    one, general, _ = await _both(user, at_ms=tomorrow("10:00"), critical=False, kind="consultation")
    assert one == general and [d[0] for d in one["deliveries"]] == ["subscribe", "template"]


async def test_the_template_goes_to_the_lowest_subscribed_follower_row_only(rt, settings):  # noqa: F811
    """The single-recipient path reads the recipient's follower rows through the unionid
    index instead of grouping the whole table: an unsubscribed row, even one that sorts
    first, and another user's rows must not change which openid the template goes to."""
    user = await person(follower=True, settings=settings)
    await WeChatFollower.create(openid="oMPaaa-unsubscribed", unionid=user.unionid, subscribed=False)
    await WeChatFollower.create(openid="oMPdelivery-second", unionid=user.unionid)
    other = await person(follower=True, settings=settings)
    await WeChatFollower.create(openid="oMPaab-someone-else", unionid=other.unionid)
    one, general, _ = await _both(user, at_ms=tomorrow("10:00"), critical=True, kind="case_assigned")
    assert one == general
    templates = [d[1] for d in one["deliveries"] if d[0] == "template"]
    assert templates == [min(f"oMPdelivery{user.openid[-6:]}", "oMPdelivery-second")]


async def test_no_subscribed_follower_means_no_template_delivery(rt, settings):  # noqa: F811
    user = await person(follower=False, settings=settings)
    await WeChatFollower.create(openid="oMPgone-follower", unionid=user.unionid, subscribed=False)
    one, general, _ = await _both(user, at_ms=tomorrow("10:00"), critical=True, kind="case_assigned")
    assert one == general and [d[0] for d in one["deliveries"]] == ["subscribe"]
