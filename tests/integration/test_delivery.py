"""The outbox end to end against the sandbox: campaign → stream → worker → WeChat → database.

Time is a test clock set in the future (so the real "now" used by ``kick`` never
counts a deferred row as due); the worker, the outbox and the digest all read it.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from tortoise import connections
from tortoise.transactions import in_transaction

from models import User
from models.notifications import (Campaign, Delivery, InboxMessage, NotificationPreference,
                                  SubscribeCredit, WeChatFollower)
from notifications import digest, outbox
from notifications.schedule import in_quiet_hours, min_retry_delay_ms, quiet_release
from notifications.sqltext import Statement, at_next_sql, in_quiet_sql
from notifications.worker import DeliveryWorker
from tests.conftest import make_settings

TZ = ZoneInfo("Asia/Shanghai")
_names = itertools.count(1)


@pytest.fixture
async def settings(database_url, redis_check, sandbox, sandbox_state):
    return make_settings(database_url, sandbox, wechat_send_rate=1000, delivery_retry_base_seconds=10,
                         delivery_retry_max_seconds=600, delivery_max_attempts=3,
                         delivery_claim_timeout_seconds=60)


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


def tomorrow(hhmm: str) -> int:
    day = datetime.now(TZ).date() + timedelta(days=2)
    h, m = map(int, hhmm.split(":"))
    return int(datetime(day.year, day.month, day.day, h, m, tzinfo=TZ).timestamp() * 1000)


async def person(*, credits: int = 1, follower: bool = False, mode: str | None = None,
                 quiet: tuple[int, int] | None = None, types: str = "", settings=None) -> User:
    n = next(_names)
    user = await User.create(kind="wechat", openid=f"oSBXdelivery{n:06d}", unionid=f"uSBXdelivery{n:06d}",
                             role="enterprise_owner", display_name=f"用户{n}")
    if credits:
        await SubscribeCredit.create(openid=user.openid, template_id=settings.wechat_policy_template_id,
                                     credits=credits)
    if follower:
        await WeChatFollower.create(openid=f"oMPdelivery{n:06d}", unionid=user.unionid)
    if mode or quiet or types:
        await NotificationPreference.create(user=user, mode=mode or "immediate", policy_types=types,
                                            quiet_start=(quiet or (1260, 480))[0],
                                            quiet_end=(quiet or (1260, 480))[1])
    return user


async def publish(users: list[User], *, at_ms: int, critical: bool = False, kind: str = "policy",
                  topic: str = "subsidy", title: str = "小微企业稳岗补贴申领开始") -> int:
    async with in_transaction():
        ids = ", ".join(str(u.id) for u in users)
        return await outbox.create_campaign(
            kind=kind, source_id=42, title=title, summary="符合条件的企业可在线申领", page="pages/policy-detail/policy-detail?id=42",
            recipient_sql=f"SELECT id AS user_id FROM app_user WHERE id IN ({ids})", recipient_params=[],
            created_by=None, critical=critical, topic=topic, at_ms=at_ms)


async def rows(campaign_id: int) -> dict[tuple[int, str], Delivery]:
    return {(d.user_id, d.channel): d for d in await Delivery.filter(campaign_id=campaign_id)}


async def credit(user: User, settings) -> int:
    row = await SubscribeCredit.get(openid=user.openid, template_id=settings.wechat_policy_template_id)
    return row.credits


def sends(state, openid: str) -> int:
    return sum(1 for m in state.sent if m["touser"] == openid)


async def in_inbox(user: User, campaign_id: int) -> bool:
    """What the user's inbox lists: it picks up their deliveries first (see outbox.sync_inbox)."""
    await outbox.sync_inbox(user.id)
    return await InboxMessage.filter(user_id=user.id, campaign_id=campaign_id).exists()


# ------------------------------------------------------------------ the happy path

@pytest.mark.parametrize("page", [2, 3, 4])
async def test_kick_offers_every_ready_delivery_across_pages(rt, settings, monkeypatch, page):
    """Four deliveries (two people, subscribe and template each) kicked in pages of 2, 3
    and 4: an exact multiple of the page, a short last page, one full page. Each is
    offered once, and the worker delivers them all."""
    monkeypatch.setattr(outbox, "_KICK_PAGE", page)
    clock = Clock(tomorrow("10:00"))
    people = [await person(follower=True, settings=settings) for _ in range(2)]
    cid = await publish(people, at_ms=clock())
    assert await outbox.kick(rt, cid) == 4
    await DeliveryWorker(rt, clock=clock).run_until_idle()
    assert sorted(d.status for d in (await rows(cid)).values()) == ["delivered"] * 4



async def test_a_campaign_reaches_every_channel_and_uses_one_subscribe_credit(rt, settings, sandbox_state):
    clock = Clock(tomorrow("10:00"))
    alice = await person(credits=2, follower=True, settings=settings)
    cid = await publish([alice], at_ms=clock())
    assert await outbox.kick(rt, cid) == 2
    await DeliveryWorker(rt, clock=clock).run_until_idle()

    by = await rows(cid)
    assert by[(alice.id, "subscribe")].status == "delivered"
    assert by[(alice.id, "template")].status == "delivered"
    assert by[(alice.id, "template")].openid == f"oMP{alice.openid[4:]}"
    assert await credit(alice, settings) == 1
    sent = {m["kind"]: m for m in sandbox_state.sent}
    assert sent["subscribe"]["touser"] == alice.openid
    assert sent["subscribe"]["data"]["thing1"]["value"] == "小微企业稳岗补贴申领开始"
    assert sent["subscribe"]["page"] == "pages/policy-detail/policy-detail?id=42"
    assert sent["template"]["miniprogram"]["pagepath"] == "pages/policy-detail/policy-detail?id=42"
    figures = await outbox.campaign_figures(cid)
    assert figures["matched"] == figures["recipients"] == 1
    assert figures["channels"]["subscribe"]["delivered"] == 1
    assert figures["channels"]["template"]["delivered"] == 1
    assert figures["read"] == 0 and figures["consultations_14d"] == 0
    assert await in_inbox(alice, cid)


async def test_read_receipts_count_in_the_figures(rt, settings):
    clock = Clock(tomorrow("10:00"))
    alice, bob = await person(settings=settings), await person(settings=settings)
    cid = await publish([alice, bob], at_ms=clock())
    await outbox.mark_read(user_id=alice.id, campaign_id=cid)
    await outbox.mark_read(user_id=alice.id, campaign_id=cid)  # twice is still one reader
    assert (await outbox.campaign_figures(cid))["read"] == 1
    assert (await Delivery.get(campaign_id=cid, user_id=alice.id)).read_at is not None


async def test_the_inbox_is_written_from_the_deliveries_when_the_user_looks(rt, settings, sandbox_state):
    clock = Clock(tomorrow("10:00"))
    alice = await person(mode="digest", follower=True, settings=settings)
    bob = await person(settings=settings)
    nobody = await User.create(kind="wechat", openid=None, role="enterprise_owner", display_name="无微信")
    cid = await publish([alice, bob, nobody], at_ms=clock())
    # At publish: an inbox row only for the recipient no delivery row speaks for.
    assert await InboxMessage.filter(campaign_id=cid).values_list("user_id", flat=True) == [nobody.id]
    assert await outbox.sync_inbox(alice.id) == 1
    assert await outbox.sync_inbox(alice.id) == 0  # once only, though she has two channels
    message = await InboxMessage.get(user_id=alice.id, campaign_id=cid)
    assert message.created_at == (await Campaign.get(id=cid)).created_at and message.read_at is None
    # A read receipt before bob ever listed his inbox still marks the message and counts once.
    await outbox.mark_read(user_id=bob.id, campaign_id=cid)
    await outbox.mark_read(user_id=bob.id, campaign_id=cid)
    assert (await InboxMessage.get(user_id=bob.id, campaign_id=cid)).read_at is not None
    assert (await outbox.campaign_figures(cid))["read"] == 1
    # A digest summarises policies the inbox already lists: it is no message of its own.
    clock.ms = tomorrow("09:00") + 24 * 3600 * 1000 + 30_000
    assert await digest.send_digests(rt, at_ms=clock()) == 2
    await outbox.sync_inbox(alice.id)
    assert await InboxMessage.filter(user_id=alice.id).values_list("campaign_id", flat=True) == [cid]


async def test_long_titles_are_shortened_to_fit_a_subscribe_message(rt, settings, sandbox_state):
    clock = Clock(tomorrow("10:00"))
    alice = await person(settings=settings)
    cid = await publish([alice], at_ms=clock(), title="关于进一步加大对小微企业和个体工商户融资支持力度的若干措施")
    await outbox.kick(rt, cid)
    await DeliveryWorker(rt, clock=clock).run_until_idle()
    assert (await Delivery.get(campaign_id=cid)).status == "delivered"
    assert len(sandbox_state.sent[0]["data"]["thing1"]["value"]) == 20


# ----------------------------------------------------------------------- refusals

async def test_a_refusal_43101_is_tried_once_rejected_and_zeroes_the_credit(rt, settings, sandbox_state):
    clock = Clock(tomorrow("10:00"))
    alice = await person(credits=3, settings=settings)
    sandbox_state.outcomes[alice.openid] = 43101
    cid = await publish([alice], at_ms=clock())
    await outbox.kick(rt, cid)
    worker = DeliveryWorker(rt, clock=clock)
    await worker.run_until_idle()
    clock.advance(3600)
    await worker.run_until_idle()

    row = (await rows(cid))[(alice.id, "subscribe")]
    assert (row.status, row.attempts, row.last_errcode) == ("rejected", 1, 43101)
    assert await credit(alice, settings) == 0
    assert sandbox_state.calls["subscribe_send"] == 1


async def test_without_a_credit_the_push_is_skipped_but_the_inbox_has_it(rt, settings, sandbox_state):
    clock = Clock(tomorrow("10:00"))
    alice = await person(credits=0, settings=settings)
    cid = await publish([alice], at_ms=clock())
    await outbox.kick(rt, cid)
    await DeliveryWorker(rt, clock=clock).run_until_idle()
    row = (await rows(cid))[(alice.id, "subscribe")]
    assert row.status == "skipped" and row.attempts == 0
    assert "额度" in row.last_error
    assert sandbox_state.calls.get("subscribe_send", 0) == 0
    assert await in_inbox(alice, cid)


# ------------------------------------------------------------------------ retries

async def test_a_quota_error_45009_is_retried_on_the_backoff_schedule_then_delivered(rt, settings, sandbox_state):
    from wechat.sandbox import Fault

    clock = Clock(tomorrow("10:00"))
    alice = await person(credits=1, settings=settings)
    sandbox_state.faults.append(Fault(endpoint="subscribe_send", errcode=45009, count=2))
    cid = await publish([alice], at_ms=clock())
    await outbox.kick(rt, cid)
    worker = DeliveryWorker(rt, clock=clock, rand=lambda: 0.5)
    await worker.run_until_idle()

    row = await Delivery.get(campaign_id=cid)
    assert (row.status, row.attempts, row.last_errcode) == ("retrying", 1, 45009)
    assert row.next_attempt_at == clock() + 10_000  # base 10 s, jitter factor 1.0
    assert await credit(alice, settings) == 1  # not delivered, so the consent is not used up

    clock.advance(9)  # not yet due: nothing is sent
    await worker.run_until_idle()
    assert sandbox_state.calls["subscribe_send"] == 1

    clock.advance(1)
    await worker.run_until_idle()
    row = await Delivery.get(campaign_id=cid)
    assert (row.status, row.attempts) == ("retrying", 2)
    assert row.next_attempt_at == clock() + 20_000  # doubled

    clock.advance(20)
    await worker.run_until_idle()
    row = await Delivery.get(campaign_id=cid)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert row.last_attempt_at - row.first_attempt_at >= (
        min_retry_delay_ms(1, base_seconds=10, cap_seconds=600) + min_retry_delay_ms(2, base_seconds=10, cap_seconds=600))
    assert await credit(alice, settings) == 0
    assert sends(sandbox_state, alice.openid) == 1


async def test_retries_stop_at_the_limit_and_the_delivery_fails(rt, settings, sandbox_state):
    from wechat.sandbox import Fault

    clock = Clock(tomorrow("10:00"))
    alice = await person(credits=1, settings=settings)
    sandbox_state.faults.append(Fault(endpoint="subscribe_send", errcode=-1))
    cid = await publish([alice], at_ms=clock())
    await outbox.kick(rt, cid)
    worker = DeliveryWorker(rt, clock=clock)
    for _ in range(5):
        await worker.run_until_idle()
        clock.advance(700)
    row = await Delivery.get(campaign_id=cid)
    assert (row.status, row.attempts, row.last_errcode) == ("failed", 3, -1)
    assert sandbox_state.calls["subscribe_send"] == 3
    assert await credit(alice, settings) == 1


# ------------------------------------------------------------ quiet hours, digest

async def test_at_night_the_push_waits_for_the_end_of_quiet_hours(rt, settings, sandbox_state):
    clock = Clock(tomorrow("23:00"))
    alice = await person(settings=settings)
    cid = await publish([alice], at_ms=clock())
    assert await outbox.kick(rt, cid) == 0
    row = await Delivery.get(campaign_id=cid)
    assert row.status == "queued"
    assert row.not_before == quiet_release(clock(), 1260, 480) == clock() + 9 * 3600 * 1000
    worker = DeliveryWorker(rt, clock=clock)
    clock.advance(3600)
    await worker.run_until_idle()
    assert sandbox_state.calls.get("subscribe_send", 0) == 0

    clock.advance(8 * 3600)  # 08:00
    await worker.run_until_idle()
    assert (await Delivery.get(campaign_id=cid)).status == "delivered"


async def test_a_case_critical_notice_ignores_quiet_hours_and_the_digest(rt, settings, sandbox_state):
    clock = Clock(tomorrow("23:30"))
    alice = await person(mode="digest", settings=settings)
    await SubscribeCredit.create(openid=alice.openid, template_id=settings.wechat_notice_template_id, credits=1)
    async with in_transaction():
        cid = await outbox.notify_user(user_id=alice.id, title="您的咨询已答复", summary="请查看答复内容",
                                       page="pages/consultation/index?id=7", critical=True,
                                       kind="consultation", source_id=7, at_ms=clock())
    assert await outbox.kick(rt, cid) == 1
    await DeliveryWorker(rt, clock=clock).run_until_idle()
    row = await Delivery.get(campaign_id=cid)
    assert (row.status, row.digest, row.not_before) == ("delivered", False, None)
    assert sandbox_state.sent[0]["template_id"] == settings.wechat_notice_template_id


async def test_digest_users_get_one_summary_a_day_instead_of_each_policy(rt, settings, sandbox_state):
    clock = Clock(tomorrow("10:00"))
    alice = await person(mode="digest", follower=True, credits=5, settings=settings)
    bob = await person(settings=settings)
    first = await publish([alice, bob], at_ms=clock())
    clock.advance(3600)
    second = await publish([alice], at_ms=clock(), title="创业担保贷款贴息")
    await outbox.kick(rt, first)
    await outbox.kick(rt, second)
    worker = DeliveryWorker(rt, clock=clock)
    await worker.run_until_idle()
    assert [m["touser"] for m in sandbox_state.sent] == [bob.openid]  # bob is immediate
    held = await Delivery.filter(user_id=alice.id)
    assert len(held) == 4 and all(d.digest and d.status == "queued" for d in held)
    assert {d.not_before for d in held} == {tomorrow("09:00") + 24 * 3600 * 1000}
    assert await in_inbox(alice, first) and await in_inbox(alice, second)  # the inbox has both at once

    assert await digest.send_digests(rt, at_ms=clock()) == 0  # not yet nine o'clock
    clock.ms = tomorrow("09:00") + 24 * 3600 * 1000 + 30_000
    assert await digest.send_digests(rt, at_ms=clock()) == 2  # one per channel
    assert await digest.send_digests(rt, at_ms=clock()) == 0  # nothing left to fold
    await worker.run_until_idle()
    mine = [m for m in sandbox_state.sent if m["touser"] in (alice.openid, f"oMP{alice.openid[4:]}")]
    assert len(mine) == 2
    assert {m["data"]["thing2"]["value"] for m in mine} == {"您有2条新的惠企政策"}
    assert all(d.status == "skipped" and d.last_error == digest.FOLDED
               for d in await Delivery.filter(user_id=alice.id, campaign_id__in=[first, second]))
    assert await credit(alice, settings) == 4


async def test_preferences_choose_which_policies_a_user_hears_about(rt, settings):
    clock = Clock(tomorrow("10:00"))
    picky = await person(types=",subsidy,", settings=settings)
    everyone = await person(settings=settings)
    cid = await publish([picky, everyone], at_ms=clock(), topic="right")
    assert not await in_inbox(picky, cid) and await in_inbox(everyone, cid)
    campaign = await Campaign.get(id=cid)
    assert (campaign.matched, campaign.recipients) == (2, 1)
    cid = await publish([picky, everyone], at_ms=clock(), topic="subsidy")
    assert await in_inbox(picky, cid) and await in_inbox(everyone, cid)


async def test_a_template_message_needs_a_current_follower(rt, settings):
    clock = Clock(tomorrow("10:00"))
    gone = await person(follower=True, settings=settings)
    await WeChatFollower.filter(unionid=gone.unionid).update(subscribed=False)
    cid = await publish([gone], at_ms=clock())
    assert set((await rows(cid))) == {(gone.id, "subscribe")}


# --------------------------------------------------------------- losing nothing

async def test_an_id_read_twice_is_claimed_once(rt, settings, sandbox_state):
    clock = Clock(tomorrow("10:00"))
    alice = await person(credits=5, settings=settings)
    cid = await publish([alice], at_ms=clock())
    [row] = await Delivery.filter(campaign_id=cid)
    worker = DeliveryWorker(rt, clock=clock)
    assert await worker.process([row.id]) == 1
    assert await worker.process([row.id]) == 0
    await outbox.push_ids(rt, [row.id, row.id])
    await worker.run_until_idle()
    assert sends(sandbox_state, alice.openid) == 1
    assert await credit(alice, settings) == 4


async def test_after_redis_loses_everything_the_sweeper_offers_the_rows_again(rt, settings, sandbox_state):
    clock = Clock(tomorrow("10:00"))
    people = [await person(settings=settings) for _ in range(5)]
    cid = await publish(people, at_ms=clock())
    assert await outbox.kick(rt, cid) == 5
    worker = DeliveryWorker(rt, clock=clock)
    # One batch claimed by a worker that then dies before recording anything.
    stuck = await worker.claim([d.id for d in await Delivery.filter(campaign_id=cid)][:2], clock())
    assert len(stuck) == 2
    # Redis loses this deployment's keys (stream, consumer group, rate bucket…).
    await rt.redis.delete(*[k async for k in rt.redis.scan_iter(match=rt.keys.pattern())])

    await worker.run_until_idle()
    assert sandbox_state.calls.get("subscribe_send", 0) == 0  # nothing in Redis, nothing due yet
    clock.advance(61)  # past the claim timeout
    await worker.run_until_idle()
    assert {d.status for d in await Delivery.filter(campaign_id=cid)} == {"delivered"}
    assert sorted(m["touser"] for m in sandbox_state.sent) == sorted(p.openid for p in people)


async def test_a_claim_that_waited_too_long_for_the_rate_is_not_sent_but_offered_again(
        rt, settings, sandbox_state):
    """A row that waited for the shared send rate past half its claim is left claimed and
    unsent: the sweeper may already hand it to another worker once the claim expires, and
    a send then would be a second message. When the claim expires it is offered again,
    and the user gets one message and pays one credit."""
    clock = Clock(tomorrow("10:00"))
    alice, bob = await person(credits=2, settings=settings), await person(credits=2, settings=settings)
    cid = await publish([alice, bob], at_ms=clock())
    assert await outbox.kick(rt, cid) == 2
    worker = DeliveryWorker(rt, clock=clock)
    take = worker.bucket.take

    async def slow_take(n: int) -> int:  # the rate is busy for 31 s of the 60 s claim
        clock.advance(31)
        return await take(n)

    worker.bucket.take = slow_take
    await worker.run_until_idle()
    assert sandbox_state.calls.get("subscribe_send", 0) == 0
    assert {d.status for d in await Delivery.filter(campaign_id=cid)} == {"sending"}
    assert worker.stats["stale"] == 2

    worker.bucket.take = take
    await worker.run_until_idle()  # the claim (60 s) has not expired yet: nothing is offered
    assert sandbox_state.calls.get("subscribe_send", 0) == 0
    clock.advance(30)
    await worker.run_until_idle()
    assert {d.status for d in await Delivery.filter(campaign_id=cid)} == {"delivered"}
    assert sends(sandbox_state, alice.openid) == 1 and sends(sandbox_state, bob.openid) == 1
    assert await credit(alice, settings) == 1 and await credit(bob, settings) == 1


# ------------------------------------------------- the SQL arithmetic is the pure one

@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minute=st.integers(0, 1439), start=st.integers(0, 1439), end=st.integers(0, 1439))
async def test_quiet_hours_in_sql_agree_with_the_pure_rules(rt, minute, start, end):
    conn = connections.get("default")
    sql_in = in_quiet_sql(str(minute), str(start), str(end))
    sql_next = at_next_sql(0, minute, str(end))
    [row] = await conn.execute_query_dict(f"SELECT {sql_in} AS q, {sql_next} AS nxt", Statement(conn).params)
    assert bool(row["q"]) == in_quiet_hours(minute, start, end)
    assert row["nxt"] == ((end - minute) % 1440) * 60_000


# ------------------------------------------------------- shared rate, dead consumers

async def test_workers_share_one_send_rate_through_redis(rt):
    import asyncio
    import time

    from notifications.ratelimit import TokenBucket

    key = rt.keys.send_bucket("rate-test")
    buckets = [TokenBucket(rt.redis, key, rate=200) for _ in range(3)]  # three "workers"
    taken = 0
    start = time.monotonic()

    async def worker(bucket):
        nonlocal taken
        while time.monotonic() - start < 1.0:
            granted = await bucket.take(25)
            taken += granted

    await asyncio.gather(*(worker(b) for b in buckets))
    elapsed = time.monotonic() - start
    # One second's burst plus the rate over the time taken, however many workers ask.
    assert taken <= 200 + 200 * elapsed + 75
    assert taken >= 200 + 150 * elapsed  # and it does hand out the rate
    assert 0 < await rt.redis.pttl(key) <= 2000  # the bucket key expires when idle


async def test_an_entry_read_by_a_worker_that_died_is_taken_over(rt, settings, sandbox_state):
    import asyncio

    from notifications.worker import WorkerConfig

    clock = Clock(tomorrow("10:00"))
    alice = await person(settings=settings)
    cid = await publish([alice], at_ms=clock())
    await outbox.kick(rt, cid)
    dead = DeliveryWorker(rt, name="dead-worker", clock=clock)
    await dead.ensure_group()
    assert len(await dead.read(10, None)) == 1  # read, then never acknowledged or claimed
    config = WorkerConfig.from_settings(settings)
    config.claim_timeout_ms = 50
    survivor = DeliveryWorker(rt, name="survivor", clock=clock, config=config)
    assert await survivor.read(10, None) == []  # nothing new in the stream
    await asyncio.sleep(0.1)
    await survivor.run_until_idle()
    assert (await Delivery.get(campaign_id=cid)).status == "delivered"
    assert await rt.redis.xpending(rt.keys.outbox_stream(), "delivery-workers") in (
        {"pending": 0, "min": None, "max": None, "consumers": []},
        {"pending": 0, "min": None, "max": None, "consumers": {}})
