"""Consultations: intake, content safety, dispatch, the thread, transitions, corrections,
duplicates and who may see what — through the HTTP API, on both tiers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest

from tests.conftest import auth

pytestmark = pytest.mark.usefixtures("catalogue")

TAX_QUESTION = "我们是小规模纳税人，增值税发票怎么申报？需要准备什么材料？"


async def _ask(api, token: str, content: str = TAX_QUESTION, *, key: str | None = None, **body) -> tuple[int, dict]:
    headers = auth(token) | ({"Idempotency-Key": key} if key else {})
    resp = await api.client.post("/api/v1/consultations", json={"content": content, **body}, headers=headers)
    return resp.status, await resp.json()


async def _get(api, token: str, case_id: int) -> tuple[int, dict]:
    resp = await api.client.get(f"/api/v1/consultations/{case_id}", headers=auth(token))
    return resp.status, await resp.json()


async def _post(api, token: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    resp = await api.client.post(path, json=body or {}, headers=auth(token))
    return resp.status, await resp.json()


async def test_intake_dispatches_to_the_right_department_with_a_deadline(api, topics):
    tax = await api.staff_token("consultant", "tax-a", department="SW")
    token, _ = await api.owner("cq-owner-1")
    status, case = await _ask(api, token, key=str(uuid.uuid4()))
    assert status == 201, case
    assert case["status"] == "assigned"
    assert case["topic"]["code"] == "tax"
    assert case["department"]["code"] == "SW"
    assert case["due_at"].endswith("+08:00") and case["due_at"][11:19] == "23:59:59"
    assert case["assignee"] is None  # the enterprise is not told who, only that it is being handled
    # the consultant sees it in their queue, sorted by deadline, and was notified
    resp = await api.client.get("/api/v1/consultations?scope=mine", headers=auth(tax))
    page = await resp.json()
    assert [c["id"] for c in page["items"]] == [case["id"]]
    assert page["items"][0]["time_left_seconds"] > 0
    inbox = await (await api.client.get("/api/v1/inbox", headers=auth(tax))).json()
    assert any(f"#{case['id']}" in m["title"] for m in inbox["items"])


async def test_same_idempotency_key_five_times_at_once_creates_one_case(api, topics):
    from models import Consultation

    token, _ = await api.owner("cq-owner-2")
    key = str(uuid.uuid4())
    results = await asyncio.gather(*[_ask(api, token, key=key) for _ in range(5)])
    assert {s for s, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert await Consultation.all().count() == 1
    # the same key with other content is a client bug, said plainly
    status, body = await _ask(api, token, "另一个完全不同的问题内容", key=key)
    assert status == 409 and body["error"]["code"] == "idempotency_key_reused"


async def test_risky_content_is_refused_and_not_stored(api, topics):
    from models import Consultation

    token, _ = await api.owner("cq-owner-3")
    status, body = await _ask(api, token, "请问哪里可以代开发票，价格好商量")
    assert status == 422
    assert body["error"]["code"] == "content_risky" and "未能提交" in body["error"]["message"]
    assert await Consultation.all().count() == 0


async def test_review_content_waits_for_a_moderator(api, topics):
    token, _ = await api.owner("cq-owner-4")
    consultant = await api.staff_token("consultant", "scjg-a", department="SCJG")
    supervisor = await api.staff_token("supervisor", "scjg-sup", department="SCJG")
    status, case = await _ask(api, token, "营业执照办理太慢了，我要投诉举报窗口人员", kind="complaint")
    assert status == 201 and case["moderation"] == "held" and case["status"] == "new"
    # held content is invisible to consultants until released
    assert (await _get(api, consultant, case["id"]))[0] == 404
    queue = await (await api.client.get("/api/v1/moderation/consultations", headers=auth(supervisor))).json()
    assert [c["id"] for c in queue["items"]] == [case["id"]]
    status, released = await _post(api, supervisor, f"/api/v1/moderation/consultations/{case['id']}/release")
    assert status == 200 and released["moderation"] == "released" and released["status"] == "assigned"
    assert (await _get(api, consultant, case["id"]))[0] == 200


async def test_wechat_unreachable_keeps_the_case_and_checks_later(api, topics, rt, sandbox_state):
    from services.consultations import service
    from wechat.sandbox import Fault

    token, _ = await api.owner("cq-owner-5")
    await api.staff_token("consultant", "tax-b", department="SW")
    sandbox_state.faults.append(Fault(endpoint="msg_sec_check", errcode=503))
    status, case = await _ask(api, token)
    assert status == 201 and case["moderation"] == "pending" and case["status"] == "new"
    sandbox_state.faults.clear()
    assert await service.recheck_pending(rt) == 1
    status, case = await _get(api, token, case["id"])
    assert case["moderation"] == "pass" and case["status"] == "assigned"


async def test_answer_thread_notes_and_enterprise_notice(api, topics):
    tax = await api.staff_token("consultant", "tax-c", department="SW")
    token, _ = await api.owner("cq-owner-6")
    _, case = await _ask(api, token)
    cid = case["id"]
    status, _ = await _post(api, tax, f"/api/v1/consultations/{cid}/messages",
                            {"body": "企业规模较小，按小规模纳税人政策答复", "internal": True})
    assert status == 200
    status, answered = await _post(api, tax, f"/api/v1/consultations/{cid}/messages",
                                   {"body": "您好，月销售额10万元以下免征增值税，在电子税务局申报即可。"})
    assert status == 200 and answered["status"] == "answered"
    _, seen = await _get(api, token, cid)
    assert [m["body"][:2] for m in seen["messages"]] == ["您好"]  # the internal note never reaches them
    assert seen["messages"][0]["author_name"] == "咨询服务人员"
    assert "events" not in seen or seen["events"] is None
    assert "resolve" in seen["actions"] and "message" in seen["actions"]
    inbox = await (await api.client.get("/api/v1/inbox", headers=auth(token))).json()
    assert inbox["items"][0]["title"] == "您的咨询已有答复"
    for state, expected in (("open", []), ("answered", [cid]), ("finished", [])):
        listed = await (await api.client.get(f"/api/v1/consultations?state={state}", headers=auth(token))).json()
        assert [c["id"] for c in listed["items"]] == expected, state
    # enterprise confirms; staff close; history kept
    status, resolved = await _post(api, token, f"/api/v1/consultations/{cid}/resolve")
    assert status == 200 and resolved["status"] == "resolved"
    status, closed = await _post(api, tax, f"/api/v1/consultations/{cid}/close")
    assert status == 200 and closed["status"] == "closed"
    assert [e["action"] for e in closed["events"]] == ["create", "assign", "answer", "resolve", "close"]


async def test_follow_up_and_request_info_move_the_case_back_and_forth(api, topics):
    tax = await api.staff_token("consultant", "tax-d", department="SW")
    token, _ = await api.owner("cq-owner-7")
    _, case = await _ask(api, token)
    cid = case["id"]
    status, c = await _post(api, tax, f"/api/v1/consultations/{cid}/request-info", {"body": "请提供上季度销售额"})
    assert c["status"] == "awaiting_enterprise"
    status, c = await _post(api, token, f"/api/v1/consultations/{cid}/messages", {"body": "上季度销售额25万元"})
    assert c["status"] == "assigned"
    _, c = await _post(api, tax, f"/api/v1/consultations/{cid}/messages", {"body": "按季度30万以下免征"})
    assert c["status"] == "answered"
    _, c = await _post(api, token, f"/api/v1/consultations/{cid}/messages", {"body": "那附加税呢？"})
    assert c["status"] == "assigned"


async def test_illegal_transitions_are_409_in_chinese(api, topics):
    await api.staff_token("consultant", "tax-e", department="SW")
    token, _ = await api.owner("cq-owner-8")
    _, case = await _ask(api, token)
    status, body = await _post(api, token, f"/api/v1/consultations/{case['id']}/resolve")
    assert status == 409 and body["error"]["code"] == "illegal_transition"
    assert "尚未答复" in body["error"]["message"]
    # an enterprise cannot use staff actions at all
    resp = await api.client.post(f"/api/v1/consultations/{case['id']}/close", json={}, headers=auth(token))
    assert resp.status == 403


async def test_nobody_else_can_read_a_case(api, topics):
    await api.staff_token("consultant", "tax-f", department="SW")
    other_dept = await api.staff_token("consultant", "rs-a", department="RS")
    other_sup = await api.staff_token("supervisor", "rs-sup", department="RS")
    token, _ = await api.owner("cq-owner-9")
    stranger, _ = await api.owner("cq-owner-10")
    _, case = await _ask(api, token)
    for who in (stranger, other_dept, other_sup):
        status, body = await _get(api, who, case["id"])
        assert status == 404 and body["error"]["code"] == "consultation_not_found"
        status, _ = await _post(api, who, f"/api/v1/consultations/{case['id']}/messages", {"body": "看看"})
        assert status == 404
    listed = await (await api.client.get("/api/v1/consultations", headers=auth(stranger))).json()
    assert listed["total"] == 0
    policy = await api.staff_token("policy_officer", "po-a")
    assert (await api.client.get(f"/api/v1/consultations/{case['id']}", headers=auth(policy))).status == 403


async def test_return_to_another_department_redispatches_and_keeps_the_deadline(api, topics):
    scjg = await api.staff_token("consultant", "scjg-b", department="SCJG")
    rs = await api.staff_token("consultant", "rs-b", department="RS")
    token, _ = await api.owner("cq-owner-11")
    _, case = await _ask(api, token, "营业执照的经营范围怎么填写？另外员工怎么参保？")
    assert case["department"]["code"] == "SCJG"
    status, moved = await _post(api, scjg, f"/api/v1/consultations/{case['id']}/return",
                                {"reason": "主要是社保参保问题", "department_code": "RS"})
    assert status == 200 and moved["department"]["code"] == "RS" and moved["status"] == "assigned"
    assert moved["due_at"] == case["due_at"]
    _, seen = await _get(api, rs, case["id"])
    assert seen["events"][-1]["action"] == "assign" and seen["events"][-2]["detail"]["reason"] == "主要是社保参保问题"
    assert (await _get(api, scjg, case["id"]))[0] == 404


async def test_supervisor_reassign_needs_a_reason_and_balances_work(api, topics):
    a = await api.staff_token("consultant", "scjg-c", department="SCJG")
    await api.staff_token("consultant", "scjg-d", department="SCJG")
    sup = await api.staff_token("supervisor", "scjg-sup2", department="SCJG")
    token, _ = await api.owner("cq-owner-12")
    _, first = await _ask(api, token, "营业执照经营范围怎么填写？")
    _, second = await _ask(api, token, "个体工商户营业执照能网上办吗？")
    # least open work: the two cases go to different consultants
    assert first["status"] == second["status"] == "assigned"
    consultants = await (await api.client.get("/api/v1/consultants", headers=auth(sup))).json()
    counts = {c["name"]: c["open_cases"] for c in consultants["items"]}
    assert counts == {"scjg-c": 1, "scjg-d": 1}
    current = (await _get(api, sup, first["id"]))[1]["assignee"]["id"]
    other = next(c["id"] for c in consultants["items"] if c["id"] != current)
    status, body = await _post(api, sup, f"/api/v1/consultations/{first['id']}/assign", {"assignee_id": other})
    assert status == 422 and body["error"]["code"] == "reason_required"
    status, body = await _post(api, sup, f"/api/v1/consultations/{first['id']}/assign",
                               {"assignee_id": other, "reason": "原承办人休假"})
    assert status == 200 and body["assignee"]["id"] == other
    assert body["events"][-1]["action"] == "reassign"
    del a


async def test_classification_correction_is_kept(api, topics):
    tax = await api.staff_token("consultant", "tax-g", department="SW")
    token, _ = await api.owner("cq-owner-13")
    _, case = await _ask(api, token)
    status, body = await _post(api, tax, f"/api/v1/consultations/{case['id']}/classification",
                               {"topic_code": "tax_relief"})
    assert status == 200 and body["topic"]["code"] == "tax_relief" and body["corrected"] is True
    assert body["suggestion"]["topic_code"] == "tax"
    assert body["events"][-1]["detail"]["before"] == {"topic_code": "tax"}


async def test_duplicates_are_suggested_and_merged(api, topics):
    tax = await api.staff_token("consultant", "tax-h", department="SW")
    sup = await api.staff_token("supervisor", "sw-sup", department="SW")
    token, _ = await api.owner("cq-owner-14")
    _, one = await _ask(api, token, "小规模纳税人增值税发票怎么申报？")
    _, two = await _ask(api, token, "小规模纳税人的增值税发票申报怎么操作？")
    dup = await (await api.client.get(f"/api/v1/consultations/{two['id']}/duplicates", headers=auth(tax))).json()
    assert [d["id"] for d in dup["items"]] == [one["id"]]
    status, merged = await _post(api, sup, f"/api/v1/consultations/{two['id']}/merge",
                                 {"into_id": one["id"], "reason": "同一问题"})
    assert status == 200 and merged["status"] == "merged" and merged["merged_into_id"] == one["id"]
    mine = await (await api.client.get("/api/v1/consultations", headers=auth(token))).json()
    assert {c["status"] for c in mine["items"]} == {"assigned", "merged"}  # both still listed


async def test_staff_record_offline_cases_with_their_channel(api, topics):
    scjg = await api.staff_token("consultant", "scjg-e", department="SCJG")
    _, ent = await api.owner("cq-owner-15")
    resp = await api.client.post("/api/v1/consultations/offline", headers=auth(scjg) | {"Idempotency-Key": "call-0001"},
                                 json={"credit_code": ent["credit_code"], "channel": "hotline_12345",
                                       "contact_name": "王女士", "content": "来电咨询营业执照地址变更需要哪些材料"})
    assert resp.status == 201, await resp.text()
    case = await resp.json()
    assert case["channel"] == "hotline_12345" and case["contact_name"] == "王女士"
    assert case["recorded_by"] == "scjg-e"
    resp = await api.client.post("/api/v1/consultations/offline", headers=auth(scjg),
                                 json={"channel": "phone", "content": "没有企业的来电"})
    assert resp.status == 422


@pytest.mark.parametrize("body, field", [
    ({"content": "短"}, "content"),
    ({"content": "正常的问题内容", "kind": "praise"}, "kind"),
    ({"content": "正常的问题内容", "service_item_id": 999999}, "service_item_id"),
    ({"content": "正常的问题内容", "element": "fees"}, None),
])
async def test_bad_input_is_a_422_in_chinese(api, topics, body, field):
    token, _ = await api.owner(f"cq-bad-{uuid.uuid4().hex[:6]}")
    resp = await api.client.post("/api/v1/consultations", json=body, headers=auth(token))
    assert resp.status == 422
    err = (await resp.json())["error"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])
    if field:
        assert any(d["field"].endswith(field) for d in err["details"])


async def test_too_long_and_too_often(api, topics, settings):
    token, _ = await api.owner("cq-owner-16")
    status, body = await _ask(api, token, "长" * (settings.consultation_max_chars + 1))
    assert status == 422 and body["error"]["code"] == "content_too_long"
    settings.consultation_rate_per_hour = 2
    assert (await _ask(api, token))[0] == 201
    assert (await _ask(api, token, "第二个问题：发票怎么开具？"))[0] == 201
    status, body = await _ask(api, token, "第三个问题：税务登记在哪里？")
    assert status == 429 and "每小时" in body["error"]["message"]


async def test_only_submissions_that_reach_the_limit_check_count(api, topics, settings):
    """The session lookup counts an intake in the user's hourly window; what never gets
    to the limit check — an idempotent replay, refused input, a role the route refuses —
    is taken back, as before the count moved into the lookup."""
    token, _ = await api.owner("cq-owner-rate")
    staff = await api.staff_token("consultant", "rate-staff", department="SW")
    settings.consultation_rate_per_hour = 2
    key = str(uuid.uuid4())
    status, first = await _ask(api, token, key=key)
    assert status == 201
    for _ in range(3):
        resp = await api.client.post("/api/v1/consultations", json={"content": TAX_QUESTION},
                                     headers=auth(token) | {"Idempotency-Key": key})
        assert resp.status == 201 and resp.headers.get("Idempotent-Replayed") == "true"
        assert (await resp.json())["id"] == first["id"]
    assert (await _ask(api, token, "问", kind="consultation"))[0] == 422
    assert (await _ask(api, token, TAX_QUESTION, kind="praise"))[0] == 422
    assert (await _ask(api, token, key="短"))[0] == 422
    assert (await _ask(api, token, service_item_id=2_000_000))[0] == 422
    assert (await _ask(api, staff))[0] == 403
    assert (await _ask(api, token, "第二个问题：发票怎么开具？"))[0] == 201
    status, body = await _ask(api, token, "第三个问题：税务登记在哪里？")
    assert status == 429 and body["error"]["code"] == "consultation_rate_limited"


async def test_bad_idempotency_key_is_refused(api, topics):
    token, _ = await api.owner("cq-owner-17")
    status, body = await _ask(api, token, key="短")
    assert status == 422 and body["error"]["code"] == "invalid_idempotency_key"


def test_due_at_is_shanghai_time_iso():
    from services.consultations.service import clock
    from services.consultations.deadlines import TZ

    c = clock(datetime(2026, 9, 30, 10, 0, tzinfo=TZ), 3)
    # National Day 2026: 1–7 October off, so three working days after 30 September end on 10 October?
    assert c["due_at"].isoformat().endswith("+08:00")
    assert c["remind_at"] < c["due_at"] < c["escalate_at"]


async def test_campaign_figures_count_consultations_citing_the_policy(api, topics):
    from tests.integration.test_policies import officers, publish

    token, _ = await api.owner("cq-owner-18")  # micro, 南山区: fits the default policy body
    author, reviewer = await officers(api)
    policy = await publish(api.client, author, reviewer)
    status, case = await _ask(api, token, "首次贷款贴息政策需要提供哪些材料？怎么申请？", policy_id=policy["id"])
    assert status == 201 and case["policy"] == {"id": policy["id"], "name": policy["title"]}
    assert case["department"]["code"] == "RMYH"  # the policy's department answers it
    figures = await (await api.client.get(f"/api/v1/policies/{policy['id']}/campaign", headers=auth(author))).json()
    assert figures["consultations_14d"] == 1


async def test_deadline_rules_per_department_and_item_apply_to_new_cases(api, topics):
    from models import ServiceItem

    await api.staff_token("consultant", "tax-r", department="SW")
    sup = await api.staff_token("supervisor", "sw-sup-r", department="SW")
    other = await api.staff_token("supervisor", "rs-sup-r", department="RS")
    token, _ = await api.owner("cq-owner-19")
    _, before = await _ask(api, token)
    resp = await api.client.put("/api/v1/deadline-rules", headers=auth(sup),
                                json={"kind": "consultation", "department_code": "SW", "working_days": 5})
    assert resp.status == 200, await resp.text()
    _, after = await _ask(api, token, "增值税专用发票怎么申领？需要去大厅吗？")
    from services.consultations.deadlines import working_days_between

    start = datetime.fromisoformat(after["accepted_at"]).date()
    assert working_days_between(start, datetime.fromisoformat(after["due_at"]).date()) == 5
    assert before["due_at"] != after["due_at"]  # the open case keeps its deadline
    # an item rule beats the department rule
    item = await ServiceItem.filter(department__code="SW").first()
    resp = await api.client.put("/api/v1/deadline-rules", headers=auth(sup),
                                json={"kind": "consultation", "service_item_id": item.id, "working_days": 2})
    assert resp.status == 200
    _, pinned = await _ask(api, token, "这个事项怎么办理？需要哪些材料？", service_item_id=item.id)
    start = datetime.fromisoformat(pinned["accepted_at"]).date()
    assert working_days_between(start, datetime.fromisoformat(pinned["due_at"]).date()) == 2
    # another department's supervisor can neither set nor delete SW's rules
    resp = await api.client.put("/api/v1/deadline-rules", headers=auth(other),
                                json={"kind": "consultation", "department_code": "SW", "working_days": 1})
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "other_department"
    listed = await (await api.client.get("/api/v1/deadline-rules", headers=auth(sup))).json()
    assert {r["working_days"] for r in listed["items"]} == {5, 2} and listed["defaults"]["consultation"] == 3
    rule_id = listed["items"][0]["id"]
    assert (await api.client.delete(f"/api/v1/deadline-rules/{rule_id}", headers=auth(other))).status == 404
    assert (await api.client.delete(f"/api/v1/deadline-rules/{rule_id}", headers=auth(sup))).status == 204


async def test_policy_staff_manage_the_taxonomy_and_intake_uses_it_at_once(api, topics):
    officer = await api.staff_token("policy_officer", "po-tax")
    consultant = await api.staff_token("consultant", "shw-a", department="SHW")
    token, _ = await api.owner("cq-owner-20")
    body = {"code": "export_credit", "name": "出口信保", "keywords": ["出口信用保险", "信保"],
            "department_code": "SHW"}
    assert (await api.client.post("/api/v1/topics", json=body, headers=auth(consultant))).status == 403
    resp = await api.client.post("/api/v1/topics", json=body, headers=auth(officer))
    assert resp.status == 201, await resp.text()
    topic = await resp.json()
    assert (await api.client.post("/api/v1/topics", json=body, headers=auth(officer))).status == 409
    _, case = await _ask(api, token, "我们想买出口信用保险，有没有保费补助？")
    assert case["topic"]["code"] == "export_credit"
    if case["service_item"] is None:  # no item matched: the topic's department answers
        assert case["department"]["code"] == "SHW"
    resp = await api.client.put(f"/api/v1/topics/{topic['id']}", headers=auth(officer),
                                json={"name": "出口信保", "keywords": ["信保"], "is_active": False})
    assert resp.status == 200 and (await resp.json())["is_active"] is False
    _, later = await _ask(api, token, "出口信用保险的保费补助什么时候申报？")
    assert (later["topic"] or {}).get("code") != "export_credit"
    resp = await api.client.post("/api/v1/topics", headers=auth(officer),
                                 json={"code": "Bad Code", "name": "x", "keywords": []})
    assert resp.status == 422

