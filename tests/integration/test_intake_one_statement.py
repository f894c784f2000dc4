"""On PostgreSQL a new case, its first events, its dispatch and the assignee's notice are
written by one statement (``service._store_and_dispatch``); the general path
(``service._write_in_steps``, the only one on SQLite) writes them statement by statement.
Whatever a consultant, a supervisor or the enterprise later sees must not depend on which
path took the case: both must leave the same rows."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Department, User
from models.consultation import Consultation, ConsultationEvent
from models.notifications import Campaign, Delivery, InboxMessage, WeChatFollower
from notifications import outbox
from services.auth.principal import Principal
from services.auth.roles import Role
from services.consultations import service
from services.consultations.group_write import GroupWriter
from services.consultations.schemas import ConsultationCreate
from tests.conftest import BACKEND

pytestmark = [pytest.mark.usefixtures("topics"),
              pytest.mark.skipif(BACKEND != "pg", reason="the one-statement intake exists on PostgreSQL only; "
                                                         "SQLite always takes the general path tested elsewhere")]

TAX_QUESTION = "我们是小规模纳税人，增值税发票怎么申报？需要准备什么材料？"
#: Routed to 人社 (RS), where these tests create no consultant.
HR_QUESTION = "公司新招了两名员工，社保参保和养老保险怎么办理？"
#: Differ by nature between two cases: their ids and the moments they were written.
CASE_OWN = {"id", "idempotency_key", "accepted_at", "remind_at", "created_at", "updated_at"}
DELIVERY_FIELDS = ("user_id", "channel", "openid", "status", "digest", "attempts", "credit_held", "not_before",
                   "last_error", "note")


async def _rows(row: Consultation) -> dict:
    """Everything the intake wrote for the case, with the case's own id written as #ID."""
    case = await Consultation.get(id=row.id)
    fields = {k: v for k, v in case.__dict__.items() if not k.startswith("_") and k not in CASE_OWN}
    events = [(e.action, e.from_status, e.to_status, e.actor_id, e.actor_role, e.actor_name, e.detail)
              for e in await ConsultationEvent.filter(consultation_id=row.id).order_by("id")]
    notices = []
    for c in await Campaign.filter(source_id=row.id, kind="case_assigned"):
        # the inbox as its users see it: it picks up their deliveries when they look
        for uid in set(await Delivery.filter(campaign_id=c.id).values_list("user_id", flat=True)):
            await outbox.sync_inbox(uid, c.id)
        inbox = await InboxMessage.filter(campaign_id=c.id).values_list("user_id", flat=True)
        deliveries = sorted(tuple(getattr(d, f) for f in DELIVERY_FIELDS)
                            for d in await Delivery.filter(campaign_id=c.id))
        notices.append((c.title.replace(str(row.id), "#ID"), c.summary, c.page.replace(str(row.id), "#ID"),
                        c.critical, c.matched, c.recipients, c.created_by_id, sorted(inbox), deliveries))
    return {"case": fields, "events": events, "notices": notices}


async def _both(rt, owner: User, content: str, moderation: str) -> tuple[dict, dict, list, list]:
    data = ConsultationCreate(content=content, kind="consultation")
    asker = Principal(user_id=owner.id, role=Role.ENTERPRISE_OWNER, enterprise_id=owner.enterprise_id)
    s = await service.suggest(rt, content, service_item_id=None, policy_department_id=None)
    written, kicks = [], []
    for path in ("steps", "one statement"):
        row, events = await service._draft(
            data, s, None, enterprise_id=owner.enterprise_id, asked_by=owner.id, recorded_by=None,
            channel="miniprogram", contact_name="", moderation=moderation, label=None, actor=asker,
            idempotency=(f"u{owner.id}", f"parity-{moderation}-{path.replace(' ', '-')}"))
        if path == "steps":
            kicks.append(await service._write_in_steps(rt, row, events, s, moderation in service.DISPATCHABLE))
        else:
            days = await service.working_days_for(rt, kind="consultation", department_id=s.department_id,
                                                  service_item_id=s.service_item_id)
            service._set(row, service.clock(row.accepted_at, days))
            notice = await service._store_and_dispatch(row, events, moderation in service.DISPATCHABLE
                                                       and s.department_id is not None)
            kicks.append([notice[0]] if notice and notice[1] else [])
        written.append(await _rows(row))
    return written[0], written[1], kicks[0], kicks[1]


@pytest.fixture
async def owner(api) -> User:
    _, enterprise = await api.owner("one-statement-owner")
    return await User.get(enterprise_id=enterprise["id"], role="enterprise_owner")


@pytest.fixture
async def tax_consultant(api) -> User:
    """The only consultant of 税务 (SW), so both paths must pick them; reachable on WeChat
    (openid and a followed official account), so the notice has delivery rows to compare."""
    await api.staff_token("consultant", "one-statement-tax", department="SW")
    user = await User.get(username="one-statement-tax")
    user.openid, user.unionid = "oSBXone-statement-tax", "uSBXone-statement-tax"
    await user.save()
    await WeChatFollower.create(openid="oMPone-statement-tax", unionid=user.unionid)
    return user


async def test_a_dispatched_case_has_the_same_rows_either_way(rt, owner, tax_consultant):
    steps, one, kicked_steps, kicked_one = await _both(rt, owner, TAX_QUESTION, "pass")
    assert steps == one
    assert one["case"]["status"] == "assigned" and one["case"]["assignee_id"] == tax_consultant.id
    assert one["case"]["department_id"] == (await Department.get(code="SW")).id
    assert [e[0] for e in one["events"]] == ["create", "assign"]
    assert one["events"][1][6] == {"assignee_id": tax_consultant.id, "assignee": "one-statement-tax", "reason": "",
                                   "previous_assignee_id": None}
    [notice] = one["notices"]
    assert notice[0] == "新派单：咨询##ID" and notice[2] == "/console/#/cases/#ID" and notice[7] == [tax_consultant.id]
    assert sorted(d[1] for d in notice[8]) == ["subscribe", "template"]
    # Ready deliveries: both paths hand the notice to the workers after commit.
    assert len(kicked_steps) == len(kicked_one) == 1


async def test_held_content_is_stored_the_same_way_and_not_dispatched(rt, owner, tax_consultant):
    steps, one, kicked_steps, kicked_one = await _both(rt, owner, TAX_QUESTION, "held")
    assert steps == one
    assert one["case"]["status"] == "new" and one["case"]["assignee_id"] is None
    assert [e[0] for e in one["events"]] == ["create", "moderation_hold"] and one["notices"] == []
    assert kicked_steps == kicked_one == []


async def test_a_department_without_consultants_keeps_the_case_waiting_either_way(rt, owner, tax_consultant):
    steps, one, _, _ = await _both(rt, owner, HR_QUESTION, "pass")
    assert steps == one
    assert one["case"]["department_id"] == (await Department.get(code="RS")).id
    assert one["case"]["status"] == "new" and one["case"]["assignee_id"] is None
    assert [e[0] for e in one["events"]] == ["create"] and one["notices"] == []


# ----------------------------------------------------------------- group commit


async def _drafts(rt, owner: User, content: str, plan: list[tuple[str, str]]) -> tuple[list, object]:
    """Cases ready to write, one per (moderation, key) of ``plan``, deadline set."""
    data = ConsultationCreate(content=content, kind="consultation")
    asker = Principal(user_id=owner.id, role=Role.ENTERPRISE_OWNER, enterprise_id=owner.enterprise_id)
    s = await service.suggest(rt, content, service_item_id=None, policy_department_id=None)
    days = await service.working_days_for(rt, kind="consultation", department_id=s.department_id,
                                          service_item_id=s.service_item_id)
    out = []
    for moderation, key in plan:
        row, events = await service._draft(
            data, s, None, enterprise_id=owner.enterprise_id, asked_by=owner.id, recorded_by=None,
            channel="miniprogram", contact_name="", moderation=moderation, label=None, actor=asker,
            idempotency=(f"u{owner.id}", key))
        service._set(row, service.clock(row.accepted_at, days))
        out.append(service._Draft(row, events, moderation in service.DISPATCHABLE and s.department_id is not None))
    return out, s


async def test_a_case_written_in_a_group_has_the_same_rows_as_alone(rt, owner, tax_consultant):
    drafts, s = await _drafts(rt, owner, TAX_QUESTION, [("pass", "group-steps"), ("pass", "group-0"),
                                                         ("held", "group-1"), ("held", "group-2")])
    await service._write_in_steps(rt, drafts[0].row, drafts[0].events, s, True)
    notices = await service._write_cases(connections.get("default"), drafts[1:])
    assert await _rows(drafts[0].row) == await _rows(drafts[1].row)
    assert drafts[1].row.assignee_id == tax_consultant.id and notices[0] is not None and notices[0][1]
    for held, notice in zip(drafts[2:], notices[1:]):
        assert notice is None
        rows = await _rows(held.row)
        assert rows["case"]["status"] == "new" and rows["case"]["assignee_id"] is None
        assert [e[0] for e in rows["events"]] == ["create", "moderation_hold"] and rows["notices"] == []
    assert len({d.row.id for d in drafts}) == 4


async def test_the_cases_of_one_group_go_to_the_least_loaded_consultants_in_turn(api, rt, owner):
    staff = []
    for n in range(3):
        await api.staff_token("consultant", f"group-tax-{n}", department="SW")
        staff.append((await User.get(username=f"group-tax-{n}")).id)
    drafts, _ = await _drafts(rt, owner, TAX_QUESTION, [("pass", f"turn-{n}") for n in range(4)])
    await service._write_cases(connections.get("default"), drafts)
    # one statement reads one snapshot: the load its own earlier cases add is counted in it
    assert [d.row.assignee_id for d in drafts] == [*sorted(staff), min(staff)]
    load = await service.open_counts(staff)
    assert load == {min(staff): 2, **{u: 1 for u in sorted(staff)[1:]}}


async def test_a_repeated_key_in_a_group_fails_that_case_alone(rt, owner, tax_consultant):
    """Through the group writer: while one write holds the only slot, three cases queue
    and leave as one statement; the third repeats the second's key, so the statement
    fails and each case is written again alone."""
    drafts, _ = await _drafts(rt, owner, TAX_QUESTION, [("pass", "dup-a"), ("pass", "dup-b"), ("pass", "dup-b"),
                                                        ("pass", "dup-d")])
    writer = GroupWriter(service._write_cases, max_group=8, in_flight=1)
    conn = connections.get("default")
    results = await asyncio.gather(*(writer.write(conn, d) for d in drafts), return_exceptions=True)
    assert isinstance(results[2], IntegrityError)
    assert all(not isinstance(r, BaseException) for i, r in enumerate(results) if i != 2)
    assert writer.largest == 1 and writer.items == 3  # the group of three never committed
    keys = sorted(await Consultation.filter(idempotency_key__startswith="dup-").values_list("idempotency_key", flat=True))
    assert keys == ["dup-a", "dup-b", "dup-d"]


class _Recording:
    """A connection that records the statements it is given and runs them on ``conn``."""

    def __init__(self, conn) -> None:
        self.conn, self.capabilities, self.texts = conn, conn.capabilities, []

    async def execute_query_dict(self, sql, params):
        self.texts.append(sql)
        return await self.conn.execute_query_dict(sql, params)


async def test_groups_of_one_shape_share_one_statement_text(rt, owner, tax_consultant):
    """The text depends only on the group's shape (how many cases, how many first events
    each), so each connection prepares and plans it once per shape; and a group with a
    held case (two first events) between two dispatched ones writes each case as alone."""
    conn = _Recording(connections.get("default"))
    groups = [[("pass", "text-a")], [("pass", "text-f")], [("held", "text-b")],
              [("pass", "text-c"), ("held", "text-d"), ("pass", "text-e")]]
    written = []
    for plan in groups:
        drafts, _ = await _drafts(rt, owner, TAX_QUESTION, plan)
        await service._write_cases(conn, drafts)
        written += drafts
    assert conn.texts[0] == conn.texts[1] and len(set(conn.texts)) == 3
    rows = {d.row.idempotency_key: await _rows(d.row) for d in written}
    for key in ("text-c", "text-e", "text-f"):
        assert rows[key]["case"] == rows["text-a"]["case"] and rows[key]["events"] == rows["text-a"]["events"]
        assert rows[key]["notices"] == rows["text-a"]["notices"] != []
    assert rows["text-d"] == rows["text-b"]
    assert rows["text-b"]["case"]["assignee_id"] is None and rows["text-b"]["notices"] == []


async def test_postgresql_keeps_one_generic_plan_for_the_group_statement(rt, owner, tax_consultant):
    """After its first five custom plans PostgreSQL switches to the generic one and keeps
    it, instead of planning the statement on every execution (service._cases_sql)."""
    async with in_transaction() as tx:  # one connection, so one prepared statement
        for n in range(8):
            drafts, _ = await _drafts(rt, owner, TAX_QUESTION, [("pass", f"plan-{n}-{k}") for k in range(2)])
            await service._write_cases(tx, drafts)
        [row] = await tx.execute_query_dict(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH RECURSIVE a AS MATERIALIZED%'")
    assert row["custom_plans"] <= 5 and row["generic_plans"] >= 3
