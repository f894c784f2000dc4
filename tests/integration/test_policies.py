"""The policy library as officers, enterprises and the scheduler use it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models import Policy, PolicyConsent, PolicyTransition
from services.policies import service as policies
from tests.conftest import auth

pytestmark = pytest.mark.usefixtures("catalogue", "clean_policies")



def policy_body(**overrides) -> dict:
    body = {
        "title": "小微企业首次贷款贴息", "doc_number": "深金规〔2025〕2号", "department": "RMYH",
        "policy_type": "subsidy", "summary": "小微企业首笔经营性贷款按实际利息的50%贴息。",
        "body": "一、适用对象……", "application_guide": "1. 向合作银行申请……",
        "effective_on": "2025-01-01", "expires_on": "2030-12-31",
        "attachments": [{"name": "申报指引", "url": "https://zwfw.example.gov.cn/a.pdf"}],
        "tags": ["融资", "贴息"], "no_application": False,
        "rules": {"size_classes": ["small", "micro"], "regions": ["4403"]},
    }
    body.update(overrides)
    return body


async def officers(api) -> tuple[str, str]:
    return (await api.staff_token("policy_officer", username="officer-wang"),
            await api.staff_token("policy_officer", username="officer-zhao"))


async def create(client, token, **overrides) -> dict:
    resp = await client.post("/api/v1/policies", json=policy_body(**overrides), headers=auth(token))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def publish(client, author, reviewer, **overrides) -> dict:
    draft = await create(client, author, **overrides)
    resp = await client.post(f"/api/v1/policies/{draft['id']}/submit", headers=auth(author))
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/v1/policies/{draft['id']}/approve", headers=auth(reviewer))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def feed(client, token) -> dict:
    resp = await client.get("/api/v1/policies/recommended", headers=auth(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


# ----------------------------------------------------------------- drafting and rules


async def test_an_officer_drafts_a_policy_and_is_told_how_many_enterprises_fit_it(client, api):
    await api.owner("micro-a")  # 软件业 6 人 180 万元: 微型, 南山区
    await api.owner("micro-b", region_code="440106")  # 广州: outside 4403
    await api.owner("medium", employees=150, revenue=3000)  # 中型
    author, _ = await officers(api)
    draft = await create(client, author)
    assert draft["status"] == "draft" and draft["status_label"] == "草稿"
    assert draft["version"] == 1 and draft["series_id"] == draft["id"]
    assert draft["match_count"] == 1
    assert draft["conditions"] == ["企业规模：小型、微型", "适用地区：深圳市（4403）"]
    assert draft["department"]["code"] == "RMYH" and draft["type_label"] == "奖补"
    assert draft["transitions"][0]["action"] == "create"


@pytest.mark.parametrize("rules, field, words", [
    ({"employees": {"min": 50, "max": 10}}, "rules.employees", "下限（50人）大于上限（10人）"),
    ({"revenue": {"min": 900, "max": 100}}, "rules.revenue", "下限（900万元）大于上限（100万元）"),
    ({"age_years": {"min": 5, "max": 3}}, "rules.age_years", "成立年限范围不可能满足"),
    ({"age_years": {"min": 120}}, "rules.age_years", "不存在成立满120年的企业"),
    ({"industries": ["99"]}, "rules.industries", "没有行业代码 99"),
    ({"industries": ["6510"]}, "rules.industries", "过细"),
    ({"industries": ["robots"]}, "rules.industries", "未知的行业"),
    ({"size_classes": []}, "rules.size_classes", "可选范围为空"),
    ({"regions": []}, "rules.regions", "可选范围为空"),
    ({"tags": ["unicorn"]}, "rules.tags", "未知的企业资质"),
    ({"size_classes": ["large"], "industries": ["13"], "employees": {"max": 100}}, "rules.size_classes",
     "不可能被划为“大型”"),
])
async def test_rules_that_can_never_match_are_refused_with_a_chinese_message(client, api, rules, field, words):
    author, _ = await officers(api)
    resp = await client.post("/api/v1/policies", json=policy_body(rules=rules), headers=auth(author))
    body = await resp.json()
    assert resp.status == 422, body
    assert body["error"]["code"] in ("invalid_rules", "validation_error")
    fields = {d["field"]: d["message"] for d in body["error"]["details"]}
    assert field in fields and words in fields[field], fields
    assert not await Policy.exists()


async def test_the_live_preview_counts_fitting_enterprises(client, api):
    for n in range(3):
        await api.owner(f"p{n}", employees=5 + n * 20)  # 5, 25, 45 people
    author, _ = await officers(api)
    resp = await client.post("/api/v1/policies/match-preview", headers=auth(author),
                             json={"rules": {"employees": {"max": 30}}})
    assert resp.status == 200
    assert await resp.json() == {"count": 2, "total": 3, "conditions": ["从业人员：不超过30人"]}
    resp = await client.post("/api/v1/policies/match-preview", headers=auth(author),
                             json={"rules": {"employees": {"min": 30, "max": 3}}})
    assert resp.status == 422


# ----------------------------------------------------------------- review and publication


async def test_the_author_cannot_approve_their_own_policy(client, api):
    author, _ = await officers(api)
    draft = await create(client, author)
    await client.post(f"/api/v1/policies/{draft['id']}/submit", headers=auth(author))
    resp = await client.post(f"/api/v1/policies/{draft['id']}/approve", headers=auth(author))
    body = await resp.json()
    assert resp.status == 403
    assert body["error"]["message"] == "不能审核自己起草或提交的政策，请由另一位政策专员审核"
    assert (await Policy.get(id=draft["id"])).status == "in_review"


async def test_illegal_transitions_are_refused_with_409_and_say_what_to_do(client, api):
    author, reviewer = await officers(api)
    draft = await create(client, author)
    pid = draft["id"]
    resp = await client.post(f"/api/v1/policies/{pid}/approve", headers=auth(reviewer))
    assert resp.status == 409 and "尚未提交审核" in (await resp.json())["error"]["message"]
    resp = await client.post(f"/api/v1/policies/{pid}/withdraw", json={"reason": "不再执行"}, headers=auth(author))
    assert resp.status == 409 and "尚未发布" in (await resp.json())["error"]["message"]
    await client.post(f"/api/v1/policies/{pid}/submit", headers=auth(author))
    resp = await client.post(f"/api/v1/policies/{pid}/submit", headers=auth(author))
    assert resp.status == 409 and "已在审核中" in (await resp.json())["error"]["message"]
    resp = await client.put(f"/api/v1/policies/{pid}", json=policy_body(title="改个标题试试"), headers=auth(author))
    assert resp.status == 409 and "正在审核中，不能修改" in (await resp.json())["error"]["message"]
    await client.post(f"/api/v1/policies/{pid}/approve", headers=auth(reviewer))
    resp = await client.put(f"/api/v1/policies/{pid}", json=policy_body(title="改个标题试试"), headers=auth(author))
    body = await resp.json()
    assert resp.status == 409 and body["error"]["code"] == "illegal_transition"
    assert "已发布，不能直接修改，请创建新版本" in body["error"]["message"]


async def test_a_reviewer_sends_a_draft_back_with_a_comment_and_the_author_fixes_it(client, api):
    author, reviewer = await officers(api)
    draft = await create(client, author)
    await client.post(f"/api/v1/policies/{draft['id']}/submit", headers=auth(author))
    resp = await client.post(f"/api/v1/policies/{draft['id']}/reject", json={"comment": "文号有误，请核对"},
                             headers=auth(reviewer))
    back = await resp.json()
    assert resp.status == 200 and back["status"] == "draft" and back["review_comment"] == "文号有误，请核对"
    resp = await client.put(f"/api/v1/policies/{draft['id']}", json=policy_body(doc_number="深金规〔2025〕3号"),
                            headers=auth(author))
    assert resp.status == 200 and (await resp.json())["doc_number"] == "深金规〔2025〕3号"
    actions = [t["action"] for t in back["transitions"]]
    assert actions == ["create", "submit", "reject"]


async def test_publishing_pushes_to_the_users_of_fitting_enterprises_only(client, api):
    owner, ent = await api.owner("fits")
    code = (await (await client.post(f"/api/v1/enterprises/{ent['id']}/invitations", headers=auth(owner))).json())["code"]
    member = await api.wechat_token("fits-member")
    await client.post("/api/v1/enterprises/join", json={"code": code}, headers=auth(member))
    await api.owner("too-big", employees=150, revenue=3000)  # 中型 software firm
    author, reviewer = await officers(api)
    published = await publish(client, author, reviewer)
    assert published["status"] == "published" and published["reviewed_by"] == "officer-zhao"
    assert published["campaign_id"] is not None
    resp = await client.get(f"/api/v1/policies/{published['id']}/campaign", headers=auth(author))
    figures = await resp.json()
    assert resp.status == 200, figures
    assert figures["campaign_id"] == published["campaign_id"] and figures["policy_id"] == published["id"]
    assert figures["matched"] == 2  # the owner and the member of the one fitting enterprise
    # The enterprise sees it in its feed at once: publishing bumps the cache version.
    assert [p["id"] for p in (await feed(client, owner))["items"]] == [published["id"]]


async def test_opening_a_pushed_policy_from_the_message_marks_it_read(client, api):
    owner, _ = await api.owner("reader")
    author, reviewer = await officers(api)
    published = await publish(client, author, reviewer)
    resp = await client.get(f"/api/v1/policies/{published['id']}", params={"from": "message", "delivery_id": "1"},
                            headers=auth(owner))
    assert resp.status == 200
    figures = await (await client.get(f"/api/v1/policies/{published['id']}/campaign", headers=auth(author))).json()
    assert figures["read"] == 1


async def test_a_published_policy_changes_only_through_a_new_version_that_supersedes_it(client, api):
    owner, _ = await api.owner("follower")
    author, reviewer = await officers(api)
    v1 = await publish(client, author, reviewer)
    resp = await client.post(f"/api/v1/policies/{v1['id']}/versions", headers=auth(author))
    v2 = await resp.json()
    assert resp.status == 201, v2
    assert v2["series_id"] == v1["id"] and v2["version"] == 2 and v2["status"] == "draft"
    assert v2["title"] == v1["title"] and v2["rules"] == v1["rules"]
    # One open version at a time.
    resp = await client.post(f"/api/v1/policies/{v1['id']}/versions", headers=auth(author))
    assert resp.status == 409 and "未发布的第2版" in (await resp.json())["error"]["message"]
    # Widen the rules in v2 to medium enterprises, then publish it.
    body = policy_body(summary="贴息比例提高到60%。", rules={"size_classes": ["medium", "small", "micro"]})
    assert (await client.put(f"/api/v1/policies/{v2['id']}", json=body, headers=auth(author))).status == 200
    await client.post(f"/api/v1/policies/{v2['id']}/submit", headers=auth(author))
    await api.owner("newly-fits", employees=150, revenue=3000)  # 中型
    resp = await client.post(f"/api/v1/policies/{v2['id']}/approve", headers=auth(reviewer))
    assert resp.status == 200
    old = await (await client.get(f"/api/v1/policies/{v1['id']}", headers=auth(author))).json()
    assert old["status"] == "superseded" and old["superseded_by_id"] == v2["id"]
    assert [v["status"] for v in old["versions"]] == ["superseded", "published"]
    # The revision reaches only the enterprise the first version did not.
    figures = await (await client.get(f"/api/v1/policies/{v2['id']}/campaign", headers=auth(author))).json()
    assert figures["matched"] == 1
    # An old link (say, in the first push message) opens the version in force.
    seen = await (await client.get(f"/api/v1/policies/{v1['id']}", headers=auth(owner))).json()
    assert seen["id"] == v2["id"] and seen["summary"] == "贴息比例提高到60%。"


async def test_withdrawing_takes_a_policy_out_of_the_feed_and_the_library(client, api):
    owner, _ = await api.owner("w")
    author, reviewer = await officers(api)
    published = await publish(client, author, reviewer)
    assert (await feed(client, owner))["total"] == 1
    resp = await client.post(f"/api/v1/policies/{published['id']}/withdraw", json={"reason": "政策调整"},
                             headers=auth(author))
    assert resp.status == 200 and (await resp.json())["status"] == "withdrawn"
    assert (await feed(client, owner))["total"] == 0
    resp = await client.get(f"/api/v1/policies/{published['id']}", headers=auth(owner))
    assert resp.status == 404


# ----------------------------------------------------------------- the feed


async def test_the_feed_lists_fitting_policies_best_first_with_reasons_and_missing_fields(client, api):
    # 专业技术服务业 is sized by employees alone, so its owner may leave revenue blank.
    owner, ent = await api.owner("feed", industry_code="74", employees=6, revenue=None, founded_on=None)
    author, reviewer = await officers(api)
    targeted = await publish(client, author, reviewer, title="软件企业成长奖励", doc_number="深工信规〔2025〕1号",
                             rules={"industries": ["74"], "size_classes": ["micro"]})
    needs_revenue = await publish(client, author, reviewer, title="小微企业营收奖励", doc_number="深工信规〔2025〕2号",
                                  rules={"size_classes": ["small", "micro"], "revenue": {"max": 2000}})
    generic = await publish(client, author, reviewer, title="普惠政策", doc_number="深工信规〔2025〕4号",
                            rules={})
    await publish(client, author, reviewer, title="大型企业政策", doc_number="深工信规〔2025〕5号",
                  rules={"size_classes": ["large"]})
    page = await feed(client, owner)
    assert [p["id"] for p in page["items"]] == [targeted["id"], generic["id"], needs_revenue["id"]]
    assert page["total"] == 3
    first = page["items"][0]["match"]
    assert "企业规模为微型，符合“微型”要求" in first["reasons"]
    assert "所属行业为专业技术服务业（74），符合“专业技术服务业（74）”要求" in first["reasons"]
    assert first["missing"] == []
    last = page["items"][2]["match"]
    assert last["missing"] == [{"field": "revenue",
                                "message": "政策要求上年营业收入不超过2000万元，请在企业资料中填写上年营业收入"}]
    assert last["score"] < first["score"]
    # The detail page tells the same story for one policy.
    detail = await (await client.get(f"/api/v1/policies/{needs_revenue['id']}", headers=auth(owner))).json()
    assert detail["match"]["eligible"] is True and detail["match"]["missing"][0]["field"] == "revenue"
    assert detail["versions"] is None and detail["match_count"] is None  # staff-only fields


async def test_an_expired_policy_leaves_the_feed_and_the_scheduler_marks_it_expired(client, api, rt):
    owner, _ = await api.owner("late")
    author, reviewer = await officers(api)
    published = await publish(client, author, reviewer)
    # Its last day was yesterday (set directly: the API refuses to publish an expired policy).
    await Policy.filter(id=published["id"]).update(expires_on=date.today() - timedelta(days=1))
    await policies.bump_version(rt)
    assert (await feed(client, owner))["total"] == 0
    assert await policies.expire_due(rt) == 1
    assert await policies.expire_due(rt) == 0  # idempotent
    assert (await Policy.get(id=published["id"])).status == "expired"
    last = await PolicyTransition.filter(policy_id=published["id"]).order_by("-id").first()
    assert last.action == "expire" and last.actor_id is None


async def test_the_expiry_job_is_scheduled():
    from server.scheduler import JOBS

    assert "policy-expiry" in {job.name for job in JOBS}


async def test_qualification_tags_are_required_when_a_policy_asks_for_them(client, api):
    owner, ent = await api.owner("tagged")
    author, reviewer = await officers(api)
    await publish(client, author, reviewer, rules={"tags": ["high_tech", "specialized"]})
    assert (await feed(client, owner))["total"] == 0
    resp = await client.put(f"/api/v1/enterprises/{ent['id']}/tags", json={"tags": ["specialized"]},
                            headers=auth(owner))
    assert resp.status == 200
    assert (await resp.json())["tags"] == [{"code": "specialized", "label": "专精特新中小企业"}]
    items = (await feed(client, owner))["items"]
    assert len(items) == 1 and "企业具有“专精特新中小企业”资质，符合要求" in items[0]["match"]["reasons"]
    resp = await client.put(f"/api/v1/enterprises/{ent['id']}/tags", json={"tags": ["unicorn"]}, headers=auth(owner))
    assert resp.status == 422 and "未知的企业资质" in (await resp.json())["error"]["message"]
    other, _ = await api.owner("nosy")
    assert (await client.get(f"/api/v1/enterprises/{ent['id']}/tags", headers=auth(other))).status == 404


# ----------------------------------------------------------------- browsing


async def test_enterprises_see_only_policies_in_force_and_staff_see_every_status(client, api):
    owner, _ = await api.owner("browser")
    author, reviewer = await officers(api)
    draft = await create(client, author, title="尚在起草的政策", doc_number="深草〔2025〕1号")
    published = await publish(client, author, reviewer)
    listed = await (await client.get("/api/v1/policies", headers=auth(owner))).json()
    assert [p["id"] for p in listed["items"]] == [published["id"]]
    listed = await (await client.get("/api/v1/policies", params={"status": "draft"}, headers=auth(owner))).json()
    assert [p["id"] for p in listed["items"]] == [published["id"]]  # the status filter is for staff
    assert (await client.get(f"/api/v1/policies/{draft['id']}", headers=auth(owner))).status == 404
    consultant = await api.staff_token("consultant")
    listed = await (await client.get("/api/v1/policies", params={"status": "draft"}, headers=auth(consultant))).json()
    assert [p["id"] for p in listed["items"]] == [draft["id"]]
    assert (await client.get(f"/api/v1/policies/{draft['id']}", headers=auth(consultant))).status == 200
    admin = await api.staff_token("system_admin")
    assert (await client.get("/api/v1/policies", headers=auth(admin))).status == 403


async def test_browsing_filters_by_type_department_and_keyword(client, api):
    visitor = await api.wechat_token("just-looking")
    author, reviewer = await officers(api)
    loan = await publish(client, author, reviewer)
    tax = await publish(client, author, reviewer, title="“六税两费”减半征收", doc_number="深税发〔2025〕15号",
                        department="SW", policy_type="reduction", summary="六税两费按50%减征。")

    async def ids(**params):
        resp = await client.get("/api/v1/policies", params=params, headers=auth(visitor))
        assert resp.status == 200, await resp.text()
        return [p["id"] for p in (await resp.json())["items"]]

    assert set(await ids()) == {loan["id"], tax["id"]}
    assert await ids(type="reduction") == [tax["id"]]
    assert await ids(policy_type="subsidy") == [loan["id"]]
    assert await ids(department="RMYH") == [loan["id"]]
    assert await ids(q="六税") == [tax["id"]]
    assert await ids(q="深金规") == [loan["id"]]


# ----------------------------------------------------------------- 免申即享


async def test_consent_to_a_no_application_policy_is_kept_once_and_listed_for_staff(client, api):
    owner, ent = await api.owner("consenting")
    author, reviewer = await officers(api)
    published = await publish(client, author, reviewer, no_application=True)
    resp = await client.post(f"/api/v1/policies/{published['id']}/consent", headers=auth(owner))
    first = await resp.json()
    assert resp.status == 200 and first["created"] is True and first["enterprise_id"] == ent["id"]
    resp = await client.post(f"/api/v1/policies/{published['id']}/consent", headers=auth(owner))
    again = await resp.json()
    assert resp.status == 200 and again["created"] is False and again["consented_at"] == first["consented_at"]
    assert await PolicyConsent.filter(enterprise_id=ent["id"]).count() == 1
    detail = await (await client.get(f"/api/v1/policies/{published['id']}", headers=auth(owner))).json()
    assert detail["consented_at"] == first["consented_at"]
    supervisor = await api.staff_token("supervisor")
    listed = await (await client.get(f"/api/v1/policies/{published['id']}/consents", headers=auth(supervisor))).json()
    assert listed["total"] == 1 and listed["items"][0]["enterprise_name"] == ent["name"]
    assert listed["items"][0]["user_name"] == "微信用户"


async def test_consent_is_refused_without_the_flag_or_when_the_enterprise_does_not_fit(client, api):
    owner, _ = await api.owner("refused", employees=150, revenue=3000)  # 中型
    author, reviewer = await officers(api)
    needs_application = await publish(client, author, reviewer, rules={})
    resp = await client.post(f"/api/v1/policies/{needs_application['id']}/consent", headers=auth(owner))
    body = await resp.json()
    assert resp.status == 409 and body["error"]["code"] == "not_no_application"
    for_small = await publish(client, author, reviewer, no_application=True, doc_number="深金规〔2025〕9号")
    resp = await client.post(f"/api/v1/policies/{for_small['id']}/consent", headers=auth(owner))
    body = await resp.json()
    assert resp.status == 409 and body["error"]["code"] == "not_eligible"
    assert "企业规模为中型" in body["error"]["message"]
    assert not await PolicyConsent.exists()


# ----------------------------------------------------------------- demo data


async def test_the_demo_seed_gives_every_demo_enterprise_policies_without_pushing_anything(client, api, rt):
    from services.seed import SeedReport, seed_demo, seed_policies

    report = await seed_demo(rt)
    assert report.policies >= 15
    assert await Policy.filter(status="published", campaign_id__isnull=True).count() == report.policies
    types = set(await Policy.all().values_list("policy_type", flat=True))
    assert types == {"reduction", "subsidy", "right", "qualification"}
    assert len(set(await Policy.all().values_list("department_id", flat=True))) >= 5
    assert await Policy.filter(no_application=True).count() >= 3
    for login, _name in report.owners:
        token = await api.wechat_token(login.removeprefix("sandbox-"))
        assert (await feed(client, token))["total"] >= 3, login
    again = SeedReport()
    await seed_policies(rt, again)
    assert again.policies == 0


async def test_every_size_class_has_demo_policies_that_fit(client, rt):
    import json

    from services.policies import rules as R
    from services.seed import POLICY_DATA

    data = json.loads((POLICY_DATA / "demo_policies.json").read_text(encoding="utf-8"))
    today = date.today()
    for size in R.SIZE_CLASSES:
        profile = R.Profile(industry_code="33", industry_group="industry", size_class=size, region_code="440306",
                            employees=50, revenue=None, founded_on=date(2015, 1, 1))
        fitting = [p for p in data["policies"]
                   if R.evaluate(R.validate(p["rules"], today=today), profile, today=today).eligible]
        assert len(fitting) >= 2, size


# ----------------------------------------------------------------- staff list and push figures


async def test_the_staff_list_shows_each_version_s_match_count_and_campaign(client, api):
    owner, _ = await api.owner("counted")
    author, reviewer = await officers(api)
    draft = await create(client, author, title="尚在起草的贴息政策", doc_number="深草〔2025〕2号")
    published = await publish(client, author, reviewer)
    listed = await (await client.get("/api/v1/policies", headers=auth(author))).json()
    rows = {p["id"]: p for p in listed["items"]}
    assert rows[published["id"]]["match_count"] == published["match_count"] == 1
    assert rows[published["id"]]["campaign_id"] == published["campaign_id"] is not None
    assert rows[draft["id"]]["match_count"] == draft["match_count"]
    assert rows[draft["id"]]["campaign_id"] is None  # nothing pushed before publication
    consultant = await api.staff_token("consultant")
    listed = await (await client.get("/api/v1/policies", headers=auth(consultant))).json()
    assert {p["id"]: p["campaign_id"] for p in listed["items"]}[published["id"]] == published["campaign_id"]
    # Enterprises are not told how many others fit, nor about the push.
    listed = await (await client.get("/api/v1/policies", headers=auth(owner))).json()
    assert [(p["match_count"], p["campaign_id"]) for p in listed["items"]] == [(None, None)]


async def test_campaign_figures_have_every_channel_and_status_and_nothing_else(client, api):
    await api.owner("figures")
    author, reviewer = await officers(api)
    published = await publish(client, author, reviewer)
    resp = await client.get(f"/api/v1/policies/{published['id']}/campaign", headers=auth(author))
    figures = await resp.json()
    assert resp.status == 200, figures
    assert set(figures) == {"policy_id", "campaign_id", "kind", "source_id", "matched", "recipients", "channels",
                            "read", "consultations_14d"}
    assert figures["kind"] == "policy" and figures["source_id"] == published["id"]
    statuses = {"queued", "sending", "delivered", "retrying", "failed", "skipped", "rejected"}
    assert set(figures["channels"]) == {"subscribe", "template"}
    assert all(set(counts) == statuses for counts in figures["channels"].values())
    # The document says exactly that, so generated clients and schemathesis check it too.
    doc = await (await client.get("/api/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert schemas["CampaignFigures"]["additionalProperties"] is False
    assert set(schemas["CampaignFigures"]["properties"]) == set(figures)
    assert set(schemas["CampaignChannels"]["properties"]) == {"subscribe", "template"}
    assert set(schemas["DeliveryStatusCounts"]["properties"]) == statuses
    assert schemas["DeliveryStatusCounts"]["additionalProperties"] is False
    items = schemas["PolicyPage"]["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert {"match_count", "campaign_id"} <= set(schemas[items]["properties"])


async def test_an_owner_reads_and_replaces_the_enterprise_tags_a_member_only_reads(client, api):
    owner, ent = await api.owner("tag-owner")
    code = (await (await client.post(f"/api/v1/enterprises/{ent['id']}/invitations", headers=auth(owner))).json())["code"]
    member = await api.wechat_token("tag-member")
    await client.post("/api/v1/enterprises/join", json={"code": code}, headers=auth(member))
    url = f"/api/v1/enterprises/{ent['id']}/tags"
    resp = await client.get(url, headers=auth(owner))
    assert resp.status == 200 and await resp.json() == {"enterprise_id": ent["id"], "tags": []}
    resp = await client.put(url, json={"tags": ["tech_sme", "high_tech", "tech_sme"]}, headers=auth(owner))
    assert resp.status == 200, await resp.text()
    # Listed in the code table's order, once each, with the words the mini-program shows.
    assert [t["label"] for t in (await resp.json())["tags"]] == ["高新技术企业", "科技型中小企业"]
    resp = await client.get(url, headers=auth(member))
    assert resp.status == 200 and [t["code"] for t in (await resp.json())["tags"]] == ["high_tech", "tech_sme"]
    assert (await client.put(url, json={"tags": []}, headers=auth(member))).status == 403
    resp = await client.put(url, json={"tags": []}, headers=auth(owner))
    assert resp.status == 200 and (await resp.json())["tags"] == []
    options = await (await client.get("/api/v1/reference/policy-options")).json()
    assert {"code": "high_tech", "label": "高新技术企业"} in options["enterprise_tags"]
