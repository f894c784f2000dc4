"""What an intake no longer reads from the database, and that answers do not change.

On PostgreSQL a question that names no item or policy costs one statement, the write
(``service._store_and_dispatch``): the assignee's notice is handed to the workers by
the delivery ids the write returned (no read-back by ``outbox.kick``), the openid for
msgSecCheck comes with the WeChat session, the deadline rule from the process's copy of
the rules, and a repeated Idempotency-Key is found by the write itself tripping over
it. These tests hold each of those to what a user, a consultant and the workers see."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from tortoise.backends.asyncpg.client import AsyncpgDBClient

from models import User
from models.consultation import Consultation
from models.notifications import Campaign, Delivery, WeChatFollower
from notifications import outbox
from services import snapshots
from services.auth import sessions
from services.auth.roles import Role
from services.consultations.deadlines import working_days_between
from tests.conftest import BACKEND, auth

pytestmark = pytest.mark.usefixtures("topics")

TAX_QUESTION = "我们是小规模纳税人，增值税发票怎么申报？需要准备什么材料？"
_EXECUTES = ("execute_query", "execute_query_dict", "execute_insert", "execute_many", "execute_script")


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


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """SQL statements sent to PostgreSQL from now on (every execute method of the client)."""
    sent: list[str] = []
    for name in _EXECUTES:
        original = getattr(AsyncpgDBClient, name)

        def wrapper(self, query, *args, _original=original, **kwargs):
            sent.append(query)
            return _original(self, query, *args, **kwargs)

        monkeypatch.setattr(AsyncpgDBClient, name, wrapper)
    return sent


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


async def test_a_session_without_the_openid_still_has_the_content_checked(api, rt, sandbox_state):
    """Sessions made before they held the openid (or by any other path) read it from the
    database: the text is still checked as the asker, so it passes, is not left pending."""
    await api.staff_token("consultant", "rt-tax-d", department="SW")
    wechat_token, enterprise = await api.owner("rt-owner-d")
    owner = await User.get(enterprise_id=enterprise["id"], role="enterprise_owner")
    assert (await sessions.resolve(rt, wechat_token)).openid == owner.openid  # kept by the rebind at registration
    bare = await sessions.create(rt, user_id=owner.id, role=Role.ENTERPRISE_OWNER, enterprise_id=owner.enterprise_id)
    assert (await sessions.resolve(rt, bare)).openid is None
    checks = sandbox_state.calls.get("msg_sec_check", 0)
    for token in (wechat_token, bare):
        status, case, _ = await _ask(api, token, f"{TAX_QUESTION}（{token[:6]}）")
        assert status == 201 and case["moderation"] == "pass" and case["status"] == "assigned"
    assert sandbox_state.calls.get("msg_sec_check", 0) == checks + 2


async def test_a_replay_is_answered_with_its_case_even_when_refused_now(api, rt, settings):
    """A replayed key gets its case — not a 429 once the hour's limit is used up, and its
    count is taken back — and a reused key with other content a 409, as before the key
    stopped being looked up ahead of the write."""
    await api.staff_token("consultant", "rt-tax-e", department="SW")
    token, enterprise = await api.owner("rt-owner-e")
    settings.consultation_rate_per_hour = 1
    key = str(uuid.uuid4())
    status, first, headers = await _ask(api, token, key=key)
    assert status == 201 and "Idempotent-Replayed" not in headers
    for _ in range(2):
        status, again, headers = await _ask(api, token, key=key)
        assert status == 201 and headers.get("Idempotent-Replayed") == "true" and again["id"] == first["id"]
    status, body, _ = await _ask(api, token, "另一个完全不同的问题：社保怎么缴？", key=key)
    assert status == 409 and body["error"]["code"] == "idempotency_key_reused"
    status, body, _ = await _ask(api, token, "第二个问题：发票怎么开具？")
    assert status == 429 and body["error"]["code"] == "consultation_rate_limited"
    assert await Consultation.all().count() == 1
    # The window counts the one submission and the one refused above, no replay.
    owner = await User.get(enterprise_id=enterprise["id"], role="enterprise_owner")
    window = rt.keys.rate("consultation", f"{owner.id}:{sessions.hour_window()}")
    assert int(await rt.redis.get(window)) == 2


async def test_a_replay_whose_text_is_now_judged_risky_gets_its_case(api, rt, sandbox_state):
    """msgSecCheck is asked again on a replay; a verdict that changed (WeChat was down the
    first time) must not turn the answer into a refusal for a case that exists."""
    from wechat.sandbox import Fault

    token, _ = await api.owner("rt-owner-f")
    risky = "请问哪里可以代开发票，价格好商量"
    key = str(uuid.uuid4())
    sandbox_state.faults.append(Fault(endpoint="msg_sec_check", errcode=503))
    status, first, _ = await _ask(api, token, risky, key=key)
    assert status == 201 and first["moderation"] == "pending"
    sandbox_state.faults.clear()
    status, again, headers = await _ask(api, token, risky, key=key)
    assert status == 201 and headers.get("Idempotent-Replayed") == "true" and again["id"] == first["id"]
    status, body, _ = await _ask(api, token, risky)  # a new submission of it is refused
    assert status == 422 and body["error"]["code"] == "content_risky"


async def test_a_rule_saved_in_another_process_applies_after_the_version_check(api, rt, monkeypatch):
    """The rules are a per-process copy: the process that saves a rule applies it at once
    (``test_deadline_rules_per_department_and_item_apply_to_new_cases``); another
    process, once its version check sees the bump."""
    from models import DeadlineRule, Department

    await api.staff_token("consultant", "rt-tax-g", department="SW")
    token, _ = await api.owner("rt-owner-g")
    status, before, _ = await _ask(api, token)  # loads this process's copy: no rule yet
    assert status == 201 and before["department"]["code"] == "SW"
    # Another process saves a rule: the row, then the version in the shared Redis.
    await DeadlineRule.create(kind="consultation", department_id=(await Department.get(code="SW")).id,
                              working_days=7)
    await rt.redis.incr(rt.keys.deadline_rules_version())
    monkeypatch.setattr(snapshots, "CHECK_SECONDS", 0.0)  # the second between checks has passed
    status, after, _ = await _ask(api, token, "增值税专用发票怎么申领？需要去大厅吗？")
    assert status == 201
    start = datetime.fromisoformat(after["accepted_at"]).date()
    assert working_days_between(start, datetime.fromisoformat(after["due_at"]).date()) == 7


@pytest.mark.skipif(BACKEND != "pg", reason="counts PostgreSQL statements; SQLite takes the general path, "
                                            "statement by statement")
async def test_an_intake_is_one_statement_on_postgresql(api, rt, statements):
    await _reachable_consultant(api, "rt-tax-h")
    token, enterprise = await api.owner("rt-owner-h")
    status, _, _ = await _ask(api, token)  # the first intake loads the process's copies
    assert status == 201
    statements.clear()
    status, case, _ = await _ask(api, token, "增值税专用发票怎么申领？需要去大厅吗？")
    assert status == 201 and case["status"] == "assigned" and case["moderation"] == "pass"
    assert len(statements) == 1 and statements[0].startswith("WITH RECURSIVE a AS")
    # A session without the openid: one query more, for it.
    owner = await User.get(enterprise_id=enterprise["id"], role="enterprise_owner")
    bare = await sessions.create(rt, user_id=owner.id, role=Role.ENTERPRISE_OWNER, enterprise_id=owner.enterprise_id)
    statements.clear()
    status, case, _ = await _ask(api, bare, "税务登记证遗失了怎么补办？")
    assert status == 201 and case["moderation"] == "pass"
    assert len(statements) == 2 and "openid" in statements[0]
