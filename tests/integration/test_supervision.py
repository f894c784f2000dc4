"""The supervision ladder (提醒 → 催办 → 通报), automatic closing and the supervisor's
overview — cases made through the API, the sweep run with a clock past each mark, and
what consultants, supervisors and enterprises then see. Both tiers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from services.consultations import service, supervision
from services.consultations.deadlines import due_after
from tests.conftest import auth
from tests.integration.test_consultations import TAX_QUESTION

pytestmark = pytest.mark.usefixtures("catalogue")
MINUTE = timedelta(minutes=1)


async def _ask(api, token: str, content: str = TAX_QUESTION, **body) -> dict:
    resp = await api.client.post("/api/v1/consultations", json={"content": content, **body},
                                 headers=auth(token) | {"Idempotency-Key": str(uuid.uuid4())})
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _post(api, token: str, path: str, body: dict | None = None) -> dict:
    resp = await api.client.post(path, json=body or {}, headers=auth(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _case(api, token: str, case_id: int) -> dict:
    resp = await api.client.get(f"/api/v1/consultations/{case_id}", headers=auth(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _notices(api, token: str, kind: str) -> list[dict]:
    inbox = await (await api.client.get("/api/v1/inbox?page_size=100", headers=auth(token))).json()
    return [m for m in inbox["items"] if m["kind"] == kind]


async def _overview(api, token: str) -> tuple[int, dict]:
    resp = await api.client.get("/api/v1/supervision/overview", headers=auth(token))
    return resp.status, await resp.json()


async def _marks(case_id: int):
    from models import Consultation

    return await Consultation.get(id=case_id)


def _actions(case: dict, *wanted: str) -> list[str]:
    return [e["action"] for e in case["events"] if e["action"] in wanted]


async def test_reminder_goes_to_the_assignee_once(api, topics, rt):
    tax = await api.staff_token("consultant", "sv-tax-a", department="SW")
    sup = await api.staff_token("supervisor", "sv-sw-sup-a", department="SW")
    owner, _ = await api.owner("sv-owner-1")
    case = await _ask(api, owner)
    row = await _marks(case["id"])
    assert row.accepted_at < row.remind_at < row.due_at < row.escalate_at

    assert await supervision.sweep(rt, now=row.remind_at - MINUTE) == {
        "reminded": 0, "urged": 0, "escalated": 0, "closed": 0}
    assert (await supervision.sweep(rt, now=row.remind_at + MINUTE))["reminded"] == 1
    assert (await supervision.sweep(rt, now=row.remind_at + 2 * MINUTE))["reminded"] == 0  # done once

    [notice] = await _notices(api, tax, "case_reminder")
    assert f"#{case['id']}" in notice["title"] and "到期" in notice["title"]
    assert notice["critical"] is True and notice["page"] == f"/console/#/cases/{case['id']}"
    assert await _notices(api, sup, "case_reminder") == []  # assigned: the assignee is told, not the head
    seen = await _case(api, tax, case["id"])
    assert _actions(seen, "remind", "urge", "escalate") == ["remind"]
    assert seen["events"][-1]["actor_name"] == "系统" and seen["overdue"] is False


async def test_an_unassigned_case_reminds_the_department_supervisors(api, topics, rt):
    sup = await api.staff_token("supervisor", "sv-sw-sup-b", department="SW")
    other = await api.staff_token("supervisor", "sv-rs-sup-b", department="RS")
    owner, _ = await api.owner("sv-owner-2")
    case = await _ask(api, owner)
    assert case["status"] == "new"  # no consultant in SW: waits in the queue
    row = await _marks(case["id"])
    assert (await supervision.sweep(rt, now=row.remind_at + MINUTE))["reminded"] == 1
    assert len(await _notices(api, sup, "case_reminder")) == 1
    assert await _notices(api, other, "case_reminder") == []


async def test_urge_then_escalation_and_the_overview(api, topics, rt):
    tax = await api.staff_token("consultant", "sv-tax-c", department="SW")
    sup = await api.staff_token("supervisor", "sv-sw-sup-c", department="SW")
    other = await api.staff_token("supervisor", "sv-rs-sup-c", department="RS")
    owner, _ = await api.owner("sv-owner-3")
    case = await _ask(api, owner)
    row = await _marks(case["id"])

    # At the deadline: 催办 to assignee and head; the 75 % reminder is moot by now.
    assert await supervision.sweep(rt, now=row.due_at + MINUTE) == {
        "reminded": 0, "urged": 1, "escalated": 0, "closed": 0}
    assert (await _case(api, tax, case["id"]))["overdue"] is True
    for token in (tax, sup):
        [urge] = await _notices(api, token, "case_urge")
        assert urge["title"].startswith("催办") and f"#{case['id']}" in urge["title"]
    assert await _notices(api, other, "case_urge") == []

    # One working day later: 通报 to the head only; the case stays flagged overdue.
    assert await supervision.sweep(rt, now=row.escalate_at + MINUTE) == {
        "reminded": 0, "urged": 0, "escalated": 1, "closed": 0}
    [esc] = await _notices(api, sup, "case_escalation")
    assert esc["title"].startswith("通报") and "sv-tax-c" in esc["summary"]
    assert await _notices(api, tax, "case_escalation") == []
    seen = await _case(api, sup, case["id"])
    assert _actions(seen, "remind", "urge", "escalate") == ["urge", "escalate"]
    assert seen["overdue"] is True
    assert (await supervision.sweep(rt, now=row.escalate_at + 2 * MINUTE))["escalated"] == 0

    status, view = await _overview(api, sup)
    assert status == 200
    assert view["department"]["code"] == "SW"
    assert (view["open"], view["overdue"], view["escalated"]) == (1, 1, 1)
    [late] = view["cases"]
    assert late["id"] == case["id"] and late["assignee_name"] == "sv-tax-c" and late["escalated"] is True
    assert late["due_at"] == case["due_at"] and late["title"] == TAX_QUESTION[:40]
    # another department's supervisor sees none of it; a consultant may not look at all
    status, theirs = await _overview(api, other)
    assert status == 200 and theirs["department"]["code"] == "RS"
    assert (theirs["open"], theirs["overdue"], theirs["escalated"], theirs["cases"]) == (0, 0, 0, [])
    status, body = await _overview(api, tax)
    assert status == 403 and body["error"]["code"]

    # once answered, the case leaves the "late" list but stays counted as escalated while open
    await _post(api, tax, f"/api/v1/consultations/{case['id']}/messages", {"body": "您好，已按规定办理，请查收。"})
    status, view = await _overview(api, sup)
    assert (view["overdue"], view["escalated"]) == (0, 1)
    assert [c["id"] for c in view["cases"]] == [case["id"]]


async def test_overview_counts_late_hours_due_today_and_moderation(api, topics, rt):
    from models import Consultation

    await api.staff_token("consultant", "sv-tax-d", department="SW")
    sup = await api.staff_token("supervisor", "sv-sw-sup-d", department="SW")
    owner, _ = await api.owner("sv-owner-4")
    late = await _ask(api, owner)
    today = await _ask(api, owner, "个体户的增值税专用发票怎么开具？税率是多少？")
    held = await _ask(api, owner, "营业执照办理太慢了，我要投诉举报窗口人员", kind="complaint")
    assert held["moderation"] == "held"
    # Time has passed for the first case: its marks lie 5 hours (and more) behind us.
    now = service.now()
    await Consultation.filter(id=late["id"]).update(
        remind_at=now - timedelta(days=2), due_at=now - timedelta(hours=5, minutes=1),
        escalate_at=now + timedelta(hours=12))
    end_of_today = due_after(now, 0).due_at
    await Consultation.filter(id=today["id"]).update(due_at=end_of_today, remind_at=now - MINUTE,
                                                     escalate_at=end_of_today + timedelta(days=1))
    result = await supervision.sweep(rt)  # the scheduler's call: real clock
    assert (result["urged"], result["reminded"]) == (1, 1)

    status, view = await _overview(api, sup)
    assert status == 200
    # the held complaint is another department's, yet the moderation queue is everyone's
    assert (await _marks(held["id"])).department_id != (await _marks(late["id"])).department_id
    assert view["open"] == 2 and view["overdue"] == 1 and view["escalated"] == 0
    assert view["due_today"] == 1 and view["held_for_moderation"] == 1
    [row] = view["cases"]
    assert row["id"] == late["id"] and row["overdue_hours"] == 5 and row["escalated"] is False


async def test_answered_and_held_cases_are_not_chased(api, topics, rt):
    tax = await api.staff_token("consultant", "sv-tax-e", department="SW")
    sup = await api.staff_token("supervisor", "sv-sw-sup-e", department="SW")
    owner, _ = await api.owner("sv-owner-5")
    answered = await _ask(api, owner)
    await _post(api, tax, f"/api/v1/consultations/{answered['id']}/messages", {"body": "您好，按季度申报即可。"})
    held = await _ask(api, owner, "营业执照办理太慢了，我要投诉举报窗口人员")
    assert held["moderation"] == "held"
    marks = [await _marks(answered["id"]), await _marks(held["id"])]
    later = max(m.escalate_at for m in marks) + MINUTE
    # before the 7-working-day auto-close of the answered case
    assert later < due_after((await _marks(answered["id"])).answered_at, 7).due_at
    assert await supervision.sweep(rt, now=later) == {"reminded": 0, "urged": 0, "escalated": 0, "closed": 0}
    seen = await _case(api, tax, answered["id"])
    assert _actions(seen, "remind", "urge", "escalate") == [] and seen["overdue"] is False
    for token in (tax, sup):
        for kind in ("case_reminder", "case_urge", "case_escalation"):
            assert await _notices(api, token, kind) == []


async def test_resolved_and_unanswered_answered_cases_are_closed_automatically(api, topics, rt, monkeypatch):
    tax = await api.staff_token("consultant", "sv-tax-f", department="SW")
    owner, _ = await api.owner("sv-owner-6")
    hooked: list[int] = []

    async def hook(rt_, row):
        hooked.append(row.id)

    monkeypatch.setattr(service, "_CLOSE_HOOKS", [hook])
    resolved = await _ask(api, owner)
    quiet = await _ask(api, owner, "个体户的增值税专用发票怎么开具？税率是多少？")
    for c in (resolved, quiet):
        await _post(api, tax, f"/api/v1/consultations/{c['id']}/messages", {"body": "您好，请在电子税务局办理。"})
    await _post(api, owner, f"/api/v1/consultations/{resolved['id']}/resolve")
    resolved_by = due_after((await _marks(resolved["id"])).resolved_at, 3).due_at
    quiet_by = due_after((await _marks(quiet["id"])).answered_at, 7).due_at

    assert (await supervision.sweep(rt, now=resolved_by - MINUTE))["closed"] == 0
    assert (await supervision.sweep(rt, now=resolved_by + MINUTE))["closed"] == 1
    assert (await _case(api, owner, resolved["id"]))["status"] == "closed"
    assert (await _case(api, owner, quiet["id"]))["status"] == "answered"
    assert (await supervision.sweep(rt, now=quiet_by + MINUTE))["closed"] == 1
    assert (await supervision.sweep(rt, now=quiet_by + 2 * MINUTE))["closed"] == 0

    for c in (resolved, quiet):
        seen = await _case(api, tax, c["id"])
        assert seen["status"] == "closed" and seen["closed_at"]
        close = seen["events"][-1]
        assert close["action"] == "close" and close["actor_name"] == "系统" and "自动办结" in close["detail"]["reason"]
    assert sorted(hooked) == sorted([resolved["id"], quiet["id"]])  # the call-back hook ran for each
    inbox = await (await api.client.get("/api/v1/inbox", headers=auth(owner))).json()
    closed = [m for m in inbox["items"] if m["title"] == "您的咨询已办结"]
    assert sorted(m["source_id"] for m in closed) == sorted([resolved["id"], quiet["id"]])
    assert all(m["critical"] for m in closed)
    # the enterprise can still reopen an automatically closed case
    assert "reopen" in (await _case(api, owner, quiet["id"]))["actions"]


async def test_two_sweeps_at_once_do_each_step_once(api, topics, rt):
    from models import ConsultationEvent

    tax = await api.staff_token("consultant", "sv-tax-g", department="SW")
    sup = await api.staff_token("supervisor", "sv-sw-sup-g", department="SW")
    owner, _ = await api.owner("sv-owner-7")
    cases = [await _ask(api, owner), await _ask(api, owner, "个体户的增值税专用发票怎么开具？税率是多少？")]
    rows = [await _marks(c["id"]) for c in cases]
    at_remind = max(r.remind_at for r in rows) + MINUTE
    assert at_remind < min(r.due_at for r in rows)
    for now in (at_remind, max(r.escalate_at for r in rows) + MINUTE):
        results = await asyncio.gather(*[supervision.sweep(rt, now=now) for _ in range(3)])
        for key in ("reminded", "urged", "escalated"):
            assert sum(r[key] for r in results) in (0, 2), (key, results)
    for c in cases:
        events = await ConsultationEvent.filter(consultation_id=c["id"],
                                                action__in=["remind", "urge", "escalate"]).values_list("action",
                                                                                                        flat=True)
        assert sorted(events) == ["escalate", "remind", "urge"]
    assert len(await _notices(api, tax, "case_reminder")) == 2
    assert len(await _notices(api, tax, "case_urge")) == 2 and len(await _notices(api, sup, "case_urge")) == 2
    assert len(await _notices(api, sup, "case_escalation")) == 2


def test_the_sweeps_are_scheduled_every_minute():
    from server.scheduler import JOBS

    jobs = {job.name: job.every_seconds for job in JOBS}
    assert jobs["consultation-supervision"] == 60 and jobs["consultation-recheck"] == 60
