"""Canned answers (常用答复), suggestions for a case, and the knowledge base (FAQ) with
de-identification and content safety — through the HTTP API, on both tiers."""

from __future__ import annotations

import pytest

from tests.conftest import auth

pytestmark = pytest.mark.usefixtures("catalogue")

TAX_QUESTION = "我们是小规模纳税人，增值税发票怎么申报？需要准备什么材料？"
FIRM = "深圳市南山区云帆信息技术有限公司"


async def _call(api, method: str, token: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
    resp = await api.client.request(method, path, json=body, headers=auth(token))
    return resp.status, (await resp.json() if resp.status != 204 else None)


async def _answered_case(api, owner: str, consultant: str, content: str = TAX_QUESTION) -> int:
    status, case = await _call(api, "POST", owner, "/api/v1/consultations", {"content": content})
    assert status == 201 and case["status"] == "assigned", case
    status, case = await _call(api, "POST", consultant, f"/api/v1/consultations/{case['id']}/messages",
                               {"body": "您好，月销售额10万元以下免征增值税，在电子税务局申报即可。"})
    assert status == 200 and case["status"] == "answered"
    return case["id"]


async def test_canned_answers_by_role_and_department(api, topics):
    from services.consultations.knowledge import seed_canned_answers

    added = await seed_canned_answers()
    assert added >= 8 and await seed_canned_answers() == 0  # idempotent by title
    sup = await api.staff_token("supervisor", "kb-scjg-sup", department="SCJG")
    tax_sup = await api.staff_token("supervisor", "kb-sw-sup", department="SW")
    scjg = await api.staff_token("consultant", "kb-scjg", department="SCJG")
    tax = await api.staff_token("consultant", "kb-sw", department="SW")

    body = {"title": "食品经营许可办理时限", "body": "您好，食品经营许可材料齐全的，10个工作日内作出决定。",
            "topic_code": "licence"}
    assert (await _call(api, "POST", scjg, "/api/v1/canned-answers", body))[0] == 403  # consultants only read
    status, made = await _call(api, "POST", sup, "/api/v1/canned-answers", body)
    assert status == 201 and made["department"]["code"] == "SCJG" and made["topic"]["name"] == "许可审批"
    assert made["editable"] is True
    assert (await _call(api, "POST", sup, "/api/v1/canned-answers", body))[0] == 409  # same title twice
    status, err = await _call(api, "POST", sup, "/api/v1/canned-answers", body | {"title": "x", "topic_code": "nope"})
    assert status == 422 and err["error"]["details"][0]["field"] == "topic_code"
    assert (await _call(api, "POST", sup, "/api/v1/canned-answers", body | {"title": "长" * 65}))[0] == 422

    # each department sees its own answers and the zone-wide ones, nobody else's
    _, mine = await _call(api, "GET", scjg, "/api/v1/canned-answers")
    seen = {(a["department"] or {}).get("code") for a in mine["items"]}
    assert seen == {"SCJG", None} and made["id"] in [a["id"] for a in mine["items"]]
    assert all(a["editable"] is False for a in mine["items"])
    _, theirs = await _call(api, "GET", tax, "/api/v1/canned-answers")
    assert {(a["department"] or {}).get("code") for a in theirs["items"]} == {"SW", None}
    _, found = await _call(api, "GET", scjg, "/api/v1/canned-answers?q=10个工作日")
    assert [a["title"] for a in found["items"]] == ["食品经营许可办理时限"]
    _, by_topic = await _call(api, "GET", tax, "/api/v1/canned-answers?topic_code=tax_relief")
    assert {a["title"] for a in by_topic["items"]} == {"小规模纳税人增值税免税", "六税两费减免"}

    # only the owning department's supervisor changes it; another department gets 404
    path = f"/api/v1/canned-answers/{made['id']}"
    status, err = await _call(api, "PUT", tax_sup, path, body | {"body": "改成别的"})
    assert status == 404 and err["error"]["code"] == "canned_answer_not_found"
    assert (await _call(api, "DELETE", tax_sup, path))[0] == 404
    status, changed = await _call(api, "PUT", sup, path, body | {"body": "您好，材料齐全的，当场或5个工作日内办结。"})
    assert status == 200 and "5个工作日" in changed["body"]
    assert (await _call(api, "DELETE", sup, path))[0] == 204
    _, after = await _call(api, "GET", scjg, "/api/v1/canned-answers?topic_code=licence")
    assert made["id"] not in [a["id"] for a in after["items"]]
    assert (await _call(api, "PUT", sup, path, body))[0] == 404  # gone for everyone


async def test_suggested_answers_put_the_case_topic_first(api, topics):
    from models import CannedAnswer, Department, FaqEntry

    tax = await api.staff_token("consultant", "kb-sw-2", department="SW")
    rs = await api.staff_token("consultant", "kb-rs-2", department="RS")
    owner, _ = await api.owner("kb-owner-1")
    status, case = await _call(api, "POST", owner, "/api/v1/consultations", {"content": TAX_QUESTION})
    assert case["topic"]["code"] == "tax"
    sw = await Department.get(code="SW")
    # same words as the question but another topic, vs the case's topic with fewer shared words
    similar = await CannedAnswer.create(department_id=sw.id, topic_code="tax_relief", title="小规模纳税人增值税申报",
                                        body="小规模纳税人增值税发票申报需要准备的材料")
    on_topic = await CannedAnswer.create(department_id=sw.id, topic_code="tax", title="数电发票额度",
                                         body="开票额度不足的，可在电子税务局申请调整。")
    await CannedAnswer.create(department_id=sw.id, topic_code="social_insurance", title="参保登记",
                              body="用工之日起30日内办理参保。")
    await CannedAnswer.create(department_id=sw.id, topic_code="tax", title="已停用", body="发票", is_active=False)
    faq_other = await FaqEntry.create(question="小规模纳税人增值税怎么申报", answer="在电子税务局申报。",
                                      topic_code="tax_relief")
    faq_topic = await FaqEntry.create(question="发票遗失怎么办", answer="在电子税务局作废重开。", topic_code="tax")
    await FaqEntry.create(question="增值税发票申报材料", answer="待审核", topic_code="tax", status="held")

    status, got = await _call(api, "GET", tax, f"/api/v1/consultations/{case['id']}/suggested-answers")
    assert status == 200
    assert [a["id"] for a in got["canned_answers"]] == [on_topic.id, similar.id]
    assert got["canned_answers"][0]["topic_match"] is True
    assert got["canned_answers"][1]["topic_match"] is False and got["canned_answers"][1]["similarity"] > 0
    assert [f["id"] for f in got["faq"]] == [faq_topic.id, faq_other.id]  # held entries are never suggested
    # the case is out of reach for another department
    assert (await _call(api, "GET", rs, f"/api/v1/consultations/{case['id']}/suggested-answers"))[0] == 404


async def test_publish_faq_removes_the_enterprise_and_its_numbers(api, topics):
    tax = await api.staff_token("consultant", "kb-sw-3", department="SW")
    owner = await api.wechat_token("kb-owner-2")
    firm = await api.register(owner, name=FIRM)
    stranger, _ = await api.owner("kb-owner-3")

    # not answered yet: nothing to publish
    _, fresh = await _call(api, "POST", owner, "/api/v1/consultations", {"content": "增值税专用发票怎么领用？"})
    status, err = await _call(api, "POST", tax, f"/api/v1/consultations/{fresh['id']}/faq",
                              {"question": "增值税专用发票怎么领用？", "answer": "在电子税务局申领。"})
    assert status == 409 and err["error"]["code"] == "not_answered"

    case_id = await _answered_case(api, owner, tax)
    publish = {"question": f"我是{FIRM}（信用代码{firm['credit_code']}）的王女士，电话13826540917，"
                           "云帆公司是小规模纳税人，增值税发票怎么申报？",
               "answer": "您好，云帆信息技术这样的小规模纳税人，月销售额10万元以下免征增值税，在电子税务局申报即可。"}
    status, entry = await _call(api, "POST", tax, f"/api/v1/consultations/{case_id}/faq", publish)
    assert status == 201 and entry["status"] == "published", entry
    for secret in ("云帆", "13826540917", "王女士", firm["credit_code"]):
        assert secret not in entry["question"] and secret not in entry["answer"]
    assert all(p in entry["question"] for p in ("【企业名称】", "【信用代码】", "【手机号】", "某女士"))
    assert "10万元以下免征增值税" in entry["answer"]
    assert entry["topic"]["code"] == "tax" and entry["department"]["code"] == "SW"
    assert entry["source_consultation_id"] == case_id
    assert (await _call(api, "POST", tax, f"/api/v1/consultations/{case_id}/faq", publish))[0] == 409

    # every enterprise reads it, without the source case
    status, page = await _call(api, "GET", stranger, "/api/v1/faq?q=免征")
    assert status == 200 and [f["id"] for f in page["items"]] == [entry["id"]]
    assert page["items"][0]["source_consultation_id"] is None
    _, none = await _call(api, "GET", stranger, "/api/v1/faq?topic_code=social_insurance")
    assert none["total"] == 0


async def test_review_word_holds_the_entry_until_a_supervisor_releases_it(api, topics):
    from models import FaqEntry

    tax = await api.staff_token("consultant", "kb-sw-4", department="SW")
    tax_sup = await api.staff_token("supervisor", "kb-sw-sup-4", department="SW")
    other_sup = await api.staff_token("supervisor", "kb-scjg-sup-4", department="SCJG")
    owner, _ = await api.owner("kb-owner-4")
    case_id = await _answered_case(api, owner, tax)
    status, entry = await _call(api, "POST", tax, f"/api/v1/consultations/{case_id}/faq",
                                {"question": "能否提供税务局领导电话？发票申报有疑问", "answer": "请拨打12366纳税服务热线咨询。"})
    assert status == 201 and entry["status"] == "held" and entry["status_label"] == "待审核"

    # held: not for enterprises, and the held queue is a supervisor's
    _, page = await _call(api, "GET", owner, "/api/v1/faq")
    assert page["total"] == 0
    status, err = await _call(api, "GET", owner, "/api/v1/faq?status=held")
    assert status == 403 and err["error"]["code"] == "faq_status_forbidden"
    assert (await _call(api, "GET", tax, "/api/v1/faq?status=held"))[0] == 403
    _, queue = await _call(api, "GET", tax_sup, "/api/v1/faq?status=held")
    assert [f["id"] for f in queue["items"]] == [entry["id"]]
    _, elsewhere = await _call(api, "GET", other_sup, "/api/v1/faq?status=held")
    assert elsewhere["total"] == 0
    inbox = await (await api.client.get("/api/v1/inbox", headers=auth(tax_sup))).json()
    assert any(m["title"] == "知识库条目待审核" for m in inbox["items"])

    # another department's supervisor cannot touch it; the owning one releases it
    assert (await _call(api, "POST", other_sup, f"/api/v1/faq/{entry['id']}/release"))[0] == 404
    status, released = await _call(api, "POST", tax_sup, f"/api/v1/faq/{entry['id']}/release")
    assert status == 200 and released["status"] == "published"
    assert (await _call(api, "POST", tax_sup, f"/api/v1/faq/{entry['id']}/release"))[0] == 409
    _, page = await _call(api, "GET", owner, "/api/v1/faq")
    assert [f["id"] for f in page["items"]] == [entry["id"]]

    # withdrawn: gone from the enterprise's list again
    status, gone = await _call(api, "POST", tax_sup, f"/api/v1/faq/{entry['id']}/withdraw")
    assert status == 200 and gone["status"] == "withdrawn"
    _, page = await _call(api, "GET", owner, "/api/v1/faq")
    assert page["total"] == 0
    assert await FaqEntry.filter(status="withdrawn").count() == 1


async def test_risky_faq_text_is_refused_and_nothing_stored(api, topics):
    from models import FaqEntry

    tax = await api.staff_token("consultant", "kb-sw-5", department="SW")
    owner, _ = await api.owner("kb-owner-5")
    case_id = await _answered_case(api, owner, tax)
    status, err = await _call(api, "POST", tax, f"/api/v1/consultations/{case_id}/faq",
                              {"question": "发票怎么开？", "answer": "可以找代开发票的中介，价格好商量。"})
    assert status == 422 and err["error"]["code"] == "content_risky" and "不能发布到知识库" in err["error"]["message"]
    assert await FaqEntry.all().count() == 0
