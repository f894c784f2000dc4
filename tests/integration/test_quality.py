"""好差评: rating a case, the call-back every closed case gets, and the rectification a
poor rating opens (evidence, closing, appeal decided by another supervisor) — through
the HTTP API, on both tiers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import auth
from tests.integration.test_consultations import _ask, _get, _post

pytestmark = pytest.mark.usefixtures("catalogue")

PHONE = "13826540917"  # the enterprise's contact phone in tests.conftest.enterprise_body


async def _rate(api, token: str, case_id: int, score: int, comment: str = "") -> tuple[int, dict]:
    resp = await api.client.put(f"/api/v1/consultations/{case_id}/rating", json={"score": score, "comment": comment},
                                headers=auth(token))
    return resp.status, await resp.json()


async def _list(api, token: str, path: str) -> tuple[int, dict]:
    resp = await api.client.get(path, headers=auth(token))
    return resp.status, await resp.json()


async def _answered(api, owner: str, tax: str, *, resolve: bool = True) -> int:
    """A tax question answered by the SW consultant (and confirmed by the enterprise)."""
    status, case = await _ask(api, owner)
    assert status == 201 and case["status"] == "assigned", case
    status, body = await _post(api, tax, f"/api/v1/consultations/{case['id']}/messages",
                               {"body": "您好，月销售额10万元以下免征增值税，在电子税务局申报即可。"})
    assert status == 200 and body["status"] == "answered"
    if resolve:
        status, body = await _post(api, owner, f"/api/v1/consultations/{case['id']}/resolve")
        assert status == 200 and body["status"] == "resolved"
    return case["id"]


async def _poor_case(api, name: str) -> tuple[str, str, str, int, dict]:
    """SW consultant and supervisor; a case rated 2. Returns tokens, case id, rectification."""
    tax = await api.staff_token("consultant", f"tax-{name}", department="SW")
    sup = await api.staff_token("supervisor", f"sw-sup-{name}", department="SW")
    owner, _ = await api.owner(f"q-owner-{name}")
    cid = await _answered(api, owner, tax)
    status, _ = await _rate(api, owner, cid, 2)
    assert status == 200
    _, page = await _list(api, sup, "/api/v1/rectifications")
    [rect] = [r for r in page["items"] if r["consultation"]["id"] == cid]
    return tax, sup, owner, cid, rect


async def test_poor_rating_closes_the_case_opens_a_rectification_and_a_callback(api, topics):  # noqa: F811
    tax = await api.staff_token("consultant", "tax-q1", department="SW")
    sup = await api.staff_token("supervisor", "sw-sup-q1", department="SW")
    owner, ent = await api.owner("q-owner-1")
    cid = await _answered(api, owner, tax)
    _, before = await _get(api, owner, cid)
    assert "rate" in before["actions"] and before["rating"] is None

    status, case = await _rate(api, owner, cid, 2, "答复太笼统，没有说清楚去哪里申报")
    assert status == 200, case
    assert case["status"] == "closed" and case["closed_at"] is not None
    assert case["rating"]["score"] == 2 and case["rating"]["label"] == "不满意"
    assert case["rating"]["comment"] == "答复太笼统，没有说清楚去哪里申报"
    assert "rate" in case["actions"]  # still changeable for 7 days
    _, seen = await _get(api, tax, cid)
    assert [e["action"] for e in seen["events"]][-3:] == ["rate", "close", "rectification"]
    assert seen["events"][-2]["actor_name"] == "系统"

    # the department's supervisor sees the rectification and was told at once
    status, page = await _list(api, sup, "/api/v1/rectifications")
    assert status == 200 and page["total"] == 1
    rect = page["items"][0]
    assert rect["consultation"]["id"] == cid and rect["consultation"]["enterprise"]["name"] == ent["name"]
    assert rect["status"] == "open" and rect["status_label"] == "待整改"
    assert rect["department"]["code"] == "SW" and rect["score"] == 2 and rect["overdue"] is False
    assert rect["due_at"].endswith("+08:00") and rect["due_at"][11:19] == "23:59:59"
    assert set(rect["actions"]) == {"evidence", "appeal"}
    assert [h["step"] for h in rect["history"]] == ["open"]
    _, inbox = await _list(api, sup, "/api/v1/inbox")
    assert any(m["title"].startswith(f"差评整改：#{cid}") for m in inbox["items"])

    # the closed case got its call-back task, with the full phone for the supervisor
    status, calls = await _list(api, sup, "/api/v1/callbacks?status=open")
    assert status == 200 and calls["total"] == 1
    task = calls["items"][0]
    assert task["consultation_id"] == cid and task["enterprise"]["name"] == ent["name"]
    assert task["contact_phone"] == PHONE and task["rating"]["score"] == 2
    assert task["status"] == "open" and task["due_at"].endswith("+08:00")


async def test_rating_can_change_for_seven_days_then_is_locked(api, topics):  # noqa: F811
    from models import Rating

    tax = await api.staff_token("consultant", "tax-q2", department="SW")
    sup = await api.staff_token("supervisor", "sw-sup-q2", department="SW")
    owner, _ = await api.owner("q-owner-2")
    cid = await _answered(api, owner, tax)
    status, case = await _rate(api, owner, cid, 4)
    assert status == 200 and case["rating"]["label"] == "满意"
    status, case = await _rate(api, owner, cid, 5, "后来按答复办成了，谢谢")
    assert status == 200 and case["rating"]["score"] == 5 and case["rating"]["label"] == "非常满意"
    assert await Rating.filter(consultation_id=cid).count() == 1  # one rating per case
    assert (await _list(api, sup, "/api/v1/rectifications"))[1]["total"] == 0  # good scores open nothing

    await Rating.filter(consultation_id=cid).update(created_at=datetime.now().astimezone() - timedelta(days=8))
    status, body = await _rate(api, owner, cid, 1)
    assert status == 409 and body["error"]["code"] == "rating_locked" and "7 天" in body["error"]["message"]
    _, case = await _get(api, owner, cid)
    assert case["rating"]["score"] == 5 and "rate" not in case["actions"]


async def test_raising_a_poor_rating_keeps_the_rectification_open_with_the_change_recorded(api, topics):  # noqa: F811
    _, sup, owner, cid, rect = await _poor_case(api, "q3")
    status, case = await _rate(api, owner, cid, 4, "后来又打电话解释清楚了")
    assert status == 200 and case["rating"]["score"] == 4
    status, now = await _list(api, sup, f"/api/v1/rectifications/{rect['id']}")
    assert status == 200 and now["status"] == "open"
    assert now["score"] == 2 and now["current_rating"]["score"] == 4
    change = now["history"][-1]
    assert change["step"] == "rating_change" and change["detail"] == {
        "previous_score": 2, "score": 4, "label": "满意"}


async def test_who_may_rate_and_when(api, topics, sandbox_state):  # noqa: F811
    from models import Consultation, Rating

    tax = await api.staff_token("consultant", "tax-q4", department="SW")
    owner, _ = await api.owner("q-owner-4")
    stranger, _ = await api.owner("q-owner-4b")
    cid = await _answered(api, owner, tax, resolve=False)
    status, body = await _rate(api, owner, cid, 5)
    assert status == 409 and body["error"]["code"] == "not_ratable" and "已答复" in body["error"]["message"]
    status, body = await _rate(api, stranger, cid, 1)
    assert status == 404 and body["error"]["code"] == "consultation_not_found"
    resp = await api.client.put(f"/api/v1/consultations/{cid}/rating", json={"score": 5}, headers=auth(tax))
    assert resp.status == 403
    assert (await _post(api, owner, f"/api/v1/consultations/{cid}/resolve"))[0] == 200
    status, body = await _rate(api, owner, cid, 6)
    assert status == 422
    status, body = await _rate(api, owner, cid, 1, "这里可以代开发票吗")
    assert status == 422 and body["error"]["code"] == "content_risky" and "未能提交" in body["error"]["message"]
    assert await Rating.all().count() == 0
    assert (await Consultation.get(id=cid)).status == "resolved"  # nothing happened


async def test_staff_closed_case_gets_one_callback_recorded_with_its_outcome(api, topics):  # noqa: F811
    from models import AuditEntry, CallbackTask

    tax = await api.staff_token("consultant", "tax-q5", department="SW")
    sup = await api.staff_token("supervisor", "sw-sup-q5", department="SW")
    other_sup = await api.staff_token("supervisor", "rs-sup-q5", department="RS")
    owner, ent = await api.owner("q-owner-5")
    cid = await _answered(api, owner, tax, resolve=False)
    assert (await _post(api, tax, f"/api/v1/consultations/{cid}/close"))[0] == 200
    # reopened and closed again: still one call-back for the case
    assert (await _post(api, owner, f"/api/v1/consultations/{cid}/reopen", {"reason": "还有疑问"}))[0] == 200
    await _post(api, tax, f"/api/v1/consultations/{cid}/messages", {"body": "补充答复：按季度申报即可。"})
    assert (await _post(api, tax, f"/api/v1/consultations/{cid}/close"))[1]["status"] == "closed"
    assert await CallbackTask.filter(consultation_id=cid).count() == 1

    _, calls = await _list(api, sup, "/api/v1/callbacks")
    [task] = calls["items"]
    assert task["rating"] is None and task["enterprise"]["id"] == ent["id"]
    assert (await _list(api, other_sup, "/api/v1/callbacks"))[1]["total"] == 0
    assert (await _list(api, tax, "/api/v1/callbacks"))[0] == 403

    status, body = await _post(api, sup, f"/api/v1/callbacks/{task['id']}", {"status": "done"})
    assert status == 422 and "回访结果" in body["error"]["message"]
    status, body = await _post(api, other_sup, f"/api/v1/callbacks/{task['id']}",
                               {"status": "done", "outcome": "satisfied"})
    assert status == 404 and body["error"]["code"] == "callback_not_found"
    status, body = await _post(api, sup, f"/api/v1/callbacks/{task['id']}", {"status": "unreachable",
                                                                            "notes": "电话无人接听"})
    assert status == 200 and body["status"] == "unreachable" and body["status_label"] == "未联系上"
    status, body = await _post(api, sup, f"/api/v1/callbacks/{task['id']}",
                               {"status": "done", "outcome": "satisfied", "notes": "企业表示问题已解决"})
    assert status == 200 and body["status"] == "done" and body["outcome_label"] == "满意"
    assert body["done_by"]["name"] == "sw-sup-q5" and body["done_at"].endswith("+08:00")
    assert body["notes"] == "企业表示问题已解决"
    status, body = await _post(api, sup, f"/api/v1/callbacks/{task['id']}",
                               {"status": "done", "outcome": "neutral"})
    assert status == 409 and body["error"]["code"] == "callback_done"
    entries = await AuditEntry.filter(action="callback_recorded", target_id=str(task["id"])).order_by("id")
    assert [e.details["status"] for e in entries] == ["unreachable", "done"]
    _, done = await _list(api, sup, "/api/v1/callbacks?status=done")
    assert [t["id"] for t in done["items"]] == [task["id"]]


async def test_evidence_then_close(api, topics):  # noqa: F811
    tax, sup, _, _, rect = await _poor_case(api, "q6")
    rid = rect["id"]
    status, body = await _post(api, tax, f"/api/v1/rectifications/{rid}/evidence", {"evidence": "已整改"})
    assert status == 422
    status, body = await _post(api, tax, f"/api/v1/rectifications/{rid}/close")
    assert status == 403  # only a supervisor confirms
    status, body = await _post(api, sup, f"/api/v1/rectifications/{rid}/close")
    assert status == 409 and "待整改" in body["error"]["message"]
    status, body = await _post(api, tax, f"/api/v1/rectifications/{rid}/evidence",
                               {"evidence": "已组织答复规范培训，并补充了电子税务局申报操作指引"})
    assert status == 200 and body["status"] == "submitted" and body["submitted_by"]["name"] == "tax-q6"
    _, inbox = await _list(api, sup, "/api/v1/inbox")
    assert any(m["title"].startswith("整改材料待确认") for m in inbox["items"])
    status, body = await _post(api, sup, f"/api/v1/rectifications/{rid}/close")
    assert status == 200 and body["status"] == "closed" and body["closed_by"]["name"] == "sw-sup-q6"
    assert [h["step"] for h in body["history"]] == ["open", "submit", "close"]
    assert body["actions"] == [] and body["overdue"] is False
    status, body = await _post(api, sup, f"/api/v1/rectifications/{rid}/appeal", {"reason": "不是我们的问题"})
    assert status == 409 and body["error"]["code"] == "illegal_transition"
    _, closed = await _list(api, sup, "/api/v1/rectifications?status=closed")
    assert [r["id"] for r in closed["items"]] == [rid]


async def test_appeal_is_decided_by_another_supervisor(api, topics):  # noqa: F811
    from models import AuditEntry

    tax, sup, _, cid, rect = await _poor_case(api, "q7")
    rid = rect["id"]
    other = await api.staff_token("supervisor", "rs-sup-q7", department="RS")
    status, body = await _post(api, sup, f"/api/v1/rectifications/{rid}/appeal",
                               {"reason": "企业问的是社保问题，不属于本部门职责"})
    assert status == 200 and body["status"] == "appealed" and body["appealed_by"]["name"] == "sw-sup-q7"
    assert "decide" not in body["actions"]
    status, body = await _post(api, sup, f"/api/v1/rectifications/{rid}/decide", {"decision": "overturned"})
    assert status == 403 and body["error"]["code"] == "own_appeal" and "申诉人" in body["error"]["message"]
    # a supervisor of another department finds it among the appeals and decides
    _, appeals = await _list(api, other, "/api/v1/rectifications?scope=appeals")
    assert [r["id"] for r in appeals["items"]] == [rid] and appeals["items"][0]["actions"] == ["decide"]
    _, inbox = await _list(api, other, "/api/v1/inbox")
    assert any(m["title"].startswith(f"整改申诉待复核：#{cid}") for m in inbox["items"])
    status, body = await _post(api, other, f"/api/v1/rectifications/{rid}/decide",
                               {"decision": "overturned", "comment": "经核实属人社部门职责"})
    assert status == 200 and body["status"] == "overturned" and body["status_label"] == "申诉成立"
    assert body["decided_by"]["name"] == "rs-sup-q7" and body["appeal_comment"] == "经核实属人社部门职责"
    assert [h["step"] for h in body["history"]] == ["open", "appeal", "overturn"]
    # once decided it is the department's again: the other supervisor no longer sees it
    assert (await _list(api, other, f"/api/v1/rectifications/{rid}"))[0] == 404
    _, mine = await _list(api, sup, "/api/v1/rectifications")
    assert mine["items"][0]["status"] == "overturned" and mine["items"][0]["actions"] == []
    status, body = await _post(api, tax, f"/api/v1/rectifications/{rid}/evidence", {"evidence": "补充整改材料说明"})
    assert status == 409
    assert await AuditEntry.filter(action="rectification_appeal_decided", target_id=str(rid)).count() == 1


async def test_an_upheld_appeal_reopens_and_cannot_be_appealed_again(api, topics):  # noqa: F811
    tax, sup, _, _, rect = await _poor_case(api, "q8")
    rid = rect["id"]
    status, body = await _post(api, tax, f"/api/v1/rectifications/{rid}/appeal", {"reason": "答复内容准确无误"})
    assert status == 200 and body["status"] == "appealed"
    assert body["actions"] == []  # a consultant neither decides nor submits while it is under appeal
    status, body = await _post(api, sup, f"/api/v1/rectifications/{rid}/decide",
                               {"decision": "upheld", "comment": "答复未说明办理地点，应整改"})
    assert status == 200 and body["status"] == "open" and body["appeal_decision"] == "upheld"
    assert body["due_at"] == rect["due_at"]  # the deadline stands
    status, body = await _post(api, tax, f"/api/v1/rectifications/{rid}/appeal", {"reason": "再次申诉"})
    assert status == 409 and body["error"]["code"] == "already_appealed"
    status, body = await _post(api, sup, f"/api/v1/rectifications/{rid}/decide", {"decision": "upheld"})
    assert status == 409 and "待整改" in body["error"]["message"]


async def test_overdue_rectifications_are_flagged(api, topics):  # noqa: F811
    from models import Rectification

    _, sup, _, _, rect = await _poor_case(api, "q9")
    await Rectification.filter(id=rect["id"]).update(due_at=datetime.now().astimezone() - timedelta(hours=1))
    _, page = await _list(api, sup, "/api/v1/rectifications?overdue=true")
    assert [r["id"] for r in page["items"]] == [rect["id"]] and page["items"][0]["overdue"] is True
    assert (await _list(api, sup, "/api/v1/rectifications?overdue=false"))[1]["total"] == 0


async def test_rectifications_are_for_the_department_only(api, topics):  # noqa: F811
    tax, sup, owner, _, rect = await _poor_case(api, "q10")
    rid = rect["id"]
    other_sup = await api.staff_token("supervisor", "rs-sup-q10", department="RS")
    other_consultant = await api.staff_token("consultant", "rs-q10", department="RS")
    assert (await _list(api, owner, "/api/v1/rectifications"))[0] == 403
    assert (await _list(api, tax, "/api/v1/rectifications?scope=appeals"))[0] == 403
    status, page = await _list(api, tax, "/api/v1/rectifications")  # the consultant reads their department's
    assert status == 200 and [r["id"] for r in page["items"]] == [rid]
    for who in (other_sup, other_consultant):
        assert (await _list(api, who, "/api/v1/rectifications"))[1]["total"] == 0
        status, body = await _list(api, who, f"/api/v1/rectifications/{rid}")
        assert status == 404 and body["error"]["code"] == "rectification_not_found"
        status, _ = await _post(api, who, f"/api/v1/rectifications/{rid}/evidence", {"evidence": "不是本部门的整改"})
        assert status == 404
        status, _ = await _post(api, who, f"/api/v1/rectifications/{rid}/appeal", {"reason": "不是本部门"})
        assert status == 404
    status, _ = await _post(api, other_sup, f"/api/v1/rectifications/{rid}/close")
    assert status == 404
    status, _ = await _post(api, other_sup, f"/api/v1/rectifications/{rid}/decide", {"decision": "overturned"})
    assert status == 404  # not under appeal: not theirs to see
    assert (await _list(api, sup, f"/api/v1/rectifications/{rid}"))[0] == 200
