"""What an intake no longer reads from the database, and that answers do not change.

On PostgreSQL the assignee's notice is handed to the workers by the delivery ids the
write returned (``service._store_and_dispatch``), with no read-back by ``outbox.kick``.
These tests hold that to what a consultant and the workers see."""

from __future__ import annotations

import uuid

import pytest

from models import User
from models.notifications import Campaign, Delivery, WeChatFollower
from notifications import outbox
from tests.conftest import BACKEND, auth

pytestmark = pytest.mark.usefixtures("topics")

TAX_QUESTION = "我们是小规模纳税人，增值税发票怎么申报？需要准备什么材料？"


async def _ask(api, token: str, content: str = TAX_QUESTION, key: str | None = None) -> tuple[int, dict, dict]:
    resp = await api.client.post("/api/v1/consultations", json={"content": content},
                                 headers=auth(token) | {"Idempotency-Key": key or str(uuid.uuid4())})
    return resp.status, await resp.json(), dict(resp.headers)


async def _reachable_consultant(api, username: str) -> User:
    """The only consultant of 税务 (SW), with a mini-program openid and a followed
    official account: their assignment notice has a delivery row per channel."""
    await api.staff_token("consultant", username, department="SW")
    user = await User.get(username=username)
    user.openid, user.unionid = f"oSBX{username}", f"uSBX{username}"
    await user.save()
    await WeChatFollower.create(openid=f"oMP{username}", unionid=user.unionid)
    return user


async def _offered(rt) -> list[int]:
    """Every delivery id in the outbox stream, in order."""
    ids: list[int] = []
    for _, fields in await rt.redis.xrange(rt.keys.outbox_stream()):
        raw = fields.get(b"ids", fields.get("ids"))
        ids += [int(i) for i in (raw.decode() if isinstance(raw, bytes) else raw).split(",")]
    return ids


async def test_the_assignment_notice_reaches_the_workers_without_a_read_back(api, rt, monkeypatch):
    consultant = await _reachable_consultant(api, "rt-tax-a")
    kicked: list[int] = []
    real_kick = outbox.kick

    async def kick(rt_, campaign_id):
        kicked.append(campaign_id)
        return await real_kick(rt_, campaign_id)

    monkeypatch.setattr(outbox, "kick", kick)
    token, _ = await api.owner("rt-owner-a")
    status, case, _ = await _ask(api, token)
    assert status == 201 and case["status"] == "assigned"
    [campaign] = await Campaign.filter(source_id=case["id"], kind="case_assigned")
    deliveries = sorted(await Delivery.filter(campaign_id=campaign.id).values_list("id", flat=True))
    assert len(deliveries) == 2 and all(
        d.user_id == consultant.id for d in await Delivery.filter(campaign_id=campaign.id))
    # Both channels' rows are in the stream for the workers to claim, exactly once.
    assert sorted(await _offered(rt)) == deliveries
    # PostgreSQL: offered from the ids the write returned; SQLite still reads them back.
    assert kicked == ([] if BACKEND == "pg" else [campaign.id])


async def test_a_consultant_without_wechat_is_offered_nothing(api, rt):
    """The notice of a consultant without WeChat is an inbox message with no delivery row:
    nothing goes to the workers (and no empty stream entry either)."""
    await api.staff_token("consultant", "rt-tax-b", department="SW")  # no openid, no official account
    token, _ = await api.owner("rt-owner-b")
    status, case, _ = await _ask(api, token)
    assert status == 201 and case["status"] == "assigned"
    [campaign] = await Campaign.filter(source_id=case["id"], kind="case_assigned")
    assert await Delivery.filter(campaign_id=campaign.id).count() == 0
    assert await _offered(rt) == []


async def test_deliveries_not_pushed_are_offered_by_the_sweeper(api, rt, monkeypatch):
    """Crash safety: if the push after commit never happens, the rows wait with an
    ``offer_at`` one claim timeout ahead and the sweeper offers them then."""
    from notifications.worker import DeliveryWorker

    await _reachable_consultant(api, "rt-tax-c")

    async def lost(*_args, **_kwargs):
        raise ConnectionError("Redis went away after the commit")

    monkeypatch.setattr(outbox, "push_ids", lost)
    token, _ = await api.owner("rt-owner-c")
    status, case, _ = await _ask(api, token)
    assert status == 201 and case["status"] == "assigned"  # the case stands: the hand-off is best effort
    monkeypatch.undo()
    [campaign] = await Campaign.filter(source_id=case["id"], kind="case_assigned")
    rows = await Delivery.filter(campaign_id=campaign.id)
    assert len(rows) == 2 and {r.status for r in rows} == {"queued"} and await _offered(rt) == []
    worker = DeliveryWorker(rt, name="rt-sweeper", clock=lambda: max(r.offer_at for r in rows))
    assert await worker.sweep(force=True) == 2
    assert sorted(await _offered(rt)) == sorted(r.id for r in rows)
