"""The insights dashboard API on generated data: what a policy officer sees — the spike
first among rising topics, clusters of unclassified questions, the item with the most
friction on top, departments' on-time rates, policy follow-ups, the cross-department
pair as a bundle with lift > 1, exports without small cells, proposals evaluated
before/after — and who may not see it."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.conftest import auth

pytestmark = pytest.mark.usefixtures("catalogue")
TZ = ZoneInfo("Asia/Shanghai")
THEMES = {"直播": "直播带货的主播佣金怎么开票", "跨境": "跨境电商出口退税海外仓怎么备案",
          "无人机": "无人机低空飞行空域申报去哪里办"}


async def _world(seed: int = 5) -> dict:
    """60 enterprises, 9 weeks of cases: topic "spike" steady at ~3 a week then 24 in
    the last 7 days; 30 unclassified questions on three new themes; items A (dept 1)
    and B (dept 2) needed together by 12 enterprises within 10 days; item A with many
    complaints about materials, late answers and poor ratings; follow-up questions on a
    policy from micro enterprises. Then the rollup."""
    from models import Consultation, Enterprise, Rating, ServiceItem, Topic
    from services.insights.rollup import rollup

    rng = random.Random(seed)
    now = datetime.now(TZ)
    for code, name in (("spike", "留抵退税"), ("steady", "社保缴费"), ("calm", "商标注册")):
        await Topic.get_or_create(code=code, defaults={"name": name, "keywords": []})
    items = await ServiceItem.all().order_by("id")
    a = items[0]
    b = next(i for i in items if i.department_id != a.department_id)
    c = next(i for i in items if i.department_id not in (a.department_id, b.department_id))
    ents = [await Enterprise.create(credit_code=f"IN{seed:02d}{n:014d}", name=f"洞察测试企业{n}", industry_code="65",
                                    industry_group="I", region_code="440305", size_class="micro" if n % 2 else "small",
                                    size_rule_version="t") for n in range(60)]

    async def case(ent, days_ago, *, topic="steady", item=None, kind="consultation", element=None, late=False,
                   score=None, content="请问怎么办理", series=None):
        minutes = rng.randint(1, 600)
        # on the day ``days_ago`` names even just after midnight, when going back up to 10
        # hours would move the case to the day before (and out of "this week" for rising)
        day_start = datetime.combine((now - timedelta(days=days_ago)).date(), datetime.min.time(), TZ)
        at = min(now, max(now - timedelta(days=days_ago, minutes=minutes), day_start + timedelta(seconds=minutes)))
        due = at + timedelta(days=2)
        first = at + (timedelta(days=4) if late else timedelta(hours=3))
        first = first if first < now else None
        closed = first + timedelta(hours=2) if first and first + timedelta(hours=2) < now else None
        x = await Consultation.create(
            enterprise_id=ent.id, channel="miniprogram", kind=kind, content=content, topic_code=topic,
            service_item_id=item.id if item else None, department_id=item.department_id if item else None,
            element=element, policy_series_id=series, accepted_at=at, working_days=2, due_at=due, remind_at=due,
            escalate_at=due, overdue=late and due < now, first_answered_at=first, closed_at=closed)
        if score and closed:
            r = await Rating.create(consultation=x, enterprise_id=ent.id, score=score)
            await Rating.filter(id=r.id).update(created_at=closed + timedelta(minutes=5))
        return x

    for week in range(1, 9):  # baseline: 3 a week for spike, 5 for steady
        for _ in range(3):
            await case(rng.choice(ents), 7 * week + rng.randint(0, 6), topic="spike")
        for _ in range(5):
            await case(rng.choice(ents), 7 * week + rng.randint(0, 6), topic="steady")
    for n in range(24):  # this week's spike, from 24 enterprises
        await case(ents[n], rng.randint(0, 5), topic="spike")
    for _ in range(5):
        await case(rng.choice(ents), rng.randint(0, 6), topic="steady")
    for n in range(30):  # unclassified questions on three new themes
        theme = list(THEMES)[n % 3]
        await case(ents[n], rng.randint(1, 20), topic="",
                   content=f"{THEMES[theme]}？联系人王先生 13812345678")
    for n in range(12):  # A then B within 10 days: a one-window bundle
        d = rng.randint(15, 40)
        await case(ents[n], d, item=a, kind="complaint", element="materials", late=True, score=1)
        await case(ents[n], d - rng.randint(1, 9), item=b, score=5)
    for n in range(12, 30):  # A or B alone, C alone
        await case(ents[n], rng.randint(15, 40), item=a if n % 2 else b, score=4)
        await case(ents[n + 30], rng.randint(15, 40), item=c, score=5)
    for n in range(1, 20, 2):  # follow-up questions on policy series 7, micro enterprises only
        await case(ents[n], rng.randint(1, 20), series=7)
    await rollup(now.date() - timedelta(days=70), now.date())
    return {"a": a, "b": b, "c": c, "ents": ents}


async def _officer(api):
    return auth(await api.staff_token("policy_officer", "policy-ins"))


async def test_rising_topics_put_the_spike_first(api):
    await _world()
    h = await _officer(api)
    resp = await api.client.get("/api/v1/insights/rising-topics", headers=h)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    first = body["topics"][0]
    assert first["topic_code"] == "spike" and first["label"] == "留抵退税" and first["rising"]
    assert first["this_week"] == 24 and 2.5 <= first["baseline_mean"] <= 3.5 and first["p_value"] < 1e-6
    assert not next(t for t in body["topics"] if t["topic_code"] == "steady")["rising"]
    assert "泊松" in body["test"]


async def test_trends_show_weekly_counts_and_week_over_week(api):
    await _world()
    h = await _officer(api)
    resp = await api.client.get("/api/v1/insights/trends", headers=h)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    spike = next(s for s in body["series"] if s["key"] == "spike")
    assert spike["label"] == "留抵退税" and spike["topic_code"] == "spike"
    assert len(spike["cases"]) == len(body["weeks"]) == len(spike["wow"])
    assert spike["total"] == 24 + 24  # 8 baseline weeks × 3 + this week, all inside 12 weeks
    assert sum(body["total"]) == sum(s["total"] for s in body["series"])
    last = [i for i, n in enumerate(spike["cases"]) if n]
    i = last[-1]
    if spike["cases"][i - 1]:
        assert spike["wow"][i] == round((spike["cases"][i] - spike["cases"][i - 1]) / spike["cases"][i - 1], 4)
    by_dept = await (await api.client.get("/api/v1/insights/trends?dimension=department", headers=h)).json()
    assert "未分派" in {s["label"] for s in by_dept["series"]}


async def test_emerging_topics_cluster_unclassified_questions_and_can_be_adopted(api):
    from models import Topic
    from services.insights import views as V

    await _world()
    h = await _officer(api)
    first = await api.client.get("/api/v1/insights/emerging-topics", headers=h)
    assert first.status == 200, await first.text()
    assert (await first.json())["pending"]  # the first visit starts the clustering, it does not wait for it
    await V.settle()
    resp = await api.client.get("/api/v1/insights/emerging-topics", headers=h)
    body = await resp.json()
    assert body["questions"] == 30 and not body["pending"] and not body["stale"] and body["generated_at"]
    assert len(body["clusters"]) == 3 and sorted(c["size"] for c in body["clusters"]) == [10, 10, 10]
    for cl in body["clusters"]:
        assert 1 <= len(cl["examples"]) <= 3
        for ex in cl["examples"]:
            assert "13812345678" not in ex and "王先生" not in ex
    live = next(cl for cl in body["clusters"] if "直播" in cl["terms"] or "主播" in cl["terms"])
    resp = await api.client.post("/api/v1/insights/emerging-topics/adopt", headers=h,
                                 json={"code": "live_commerce", "name": "直播电商", "keywords": live["terms"]})
    assert resp.status == 201, await resp.text()
    topic = await Topic.get(code="live_commerce")
    assert topic.keywords == live["terms"] and topic.name == "直播电商"
    again = await api.client.post("/api/v1/insights/emerging-topics/adopt", headers=h,
                                  json={"code": "live_commerce", "name": "直播电商", "keywords": ["直播"]})
    assert again.status == 409


async def test_friction_ranks_the_troubled_item_first_with_its_elements(api):
    w = await _world()
    h = await _officer(api)
    resp = await api.client.get("/api/v1/insights/friction", headers=h)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    top = body["items"][0]
    assert top["service_item_id"] == w["a"].id and top["label"] == w["a"].name
    assert top["elements"][0] == {"element": "materials", "count": 24}  # 12 complaints + 12 poor ratings
    assert "element_complaints_per_100" in top["drivers"] and "poor_share" in top["drivers"]
    assert body["audience"] == 60 and "全部企业" in body["audience_note"]
    assert top["cases_per_1000"] == round(1000 * top["cases"] / 60, 3)


async def test_departments_show_on_time_rates(api):
    w = await _world()
    h = await _officer(api)
    body = await (await api.client.get("/api/v1/insights/departments", headers=h)).json()
    rows = {d["department_id"]: d for d in body["departments"]}
    a, b = rows[w["a"].department_id], rows[w["b"].department_id]
    assert b["on_time_rate"] == 1.0 and b["satisfied_share"] == 1.0
    assert a["on_time_rate"] < 0.7 and a["rating_mean"] < 3


async def test_a_department_with_cases_today_and_before_is_listed_once(api):
    """Days before today come from the facts, today from live rows: the two parts of one
    department (and of one size class in policy reach) are shown as one row."""
    from models import Consultation, Enterprise, ServiceItem
    from services.insights.rollup import rollup

    now = datetime.now(TZ)
    item = await ServiceItem.all().order_by("id").first()
    ent = await Enterprise.create(credit_code="IN9900000000000001", name="今日企业", industry_code="65",
                                  industry_group="I", region_code="440305", size_class="micro", size_rule_version="t")
    for at in (now - timedelta(days=3), now - timedelta(minutes=1)):
        await Consultation.create(enterprise_id=ent.id, channel="miniprogram", kind="consultation", content="请问",
                                  topic_code="steady", service_item_id=item.id, department_id=item.department_id,
                                  policy_series_id=7, accepted_at=at, working_days=2, due_at=at + timedelta(days=2),
                                  remind_at=at, escalate_at=at)
    await rollup(now.date() - timedelta(days=5), now.date() - timedelta(days=1))
    h = await _officer(api)
    body = await (await api.client.get("/api/v1/insights/departments", headers=h)).json()
    rows = [d for d in body["departments"] if d["department_id"] == item.department_id]
    assert len(rows) == 1 and rows[0]["cases"] == 2
    reach = await (await api.client.get("/api/v1/insights/policy-reach", headers=h)).json()
    assert [(r["key"], r["followups"]) for r in reach["by_size_class"]] == [("micro", 2)]
    assert reach["total"]["followups"] == 2


async def test_policy_reach_counts_follow_ups_by_size_class(api):
    await _world()
    h = await _officer(api)
    body = await (await api.client.get("/api/v1/insights/policy-reach", headers=h)).json()
    assert body["total"]["followups"] == 10
    sizes = {r["key"]: r["followups"] for r in body["by_size_class"]}
    assert sizes == {"micro": 10}
    assert body["by_size_class"][0]["label"] == "微型"


async def test_bundles_find_the_cross_department_pair_with_lift(api):
    w = await _world()
    h = await _officer(api)
    resp = await api.client.get("/api/v1/insights/bundles", headers=h)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    first = body["bundles"][0]
    assert sorted(first["items"]) == sorted([w["a"].id, w["b"].id]) and first["enterprises"] == 12
    assert first["lift"] > 1 and first["departments"] == 2
    assert all(b["enterprises"] >= 5 for b in body["bundles"])
    assert not any(w["c"].id in b["items"] for b in body["bundles"])  # C is always alone


async def test_supervisor_sees_own_department_only(api):
    from models import Department, ServiceItem

    w = await _world()
    code = (await Department.get(id=w["b"].department_id)).code
    h = auth(await api.staff_token("supervisor", "sup-ins", department=code))
    body = await (await api.client.get("/api/v1/insights/departments?department=XXX", headers=h)).json()
    assert [d["department_id"] for d in body["departments"]] == [w["b"].department_id]
    friction = await (await api.client.get("/api/v1/insights/friction", headers=h)).json()
    own = set(await ServiceItem.filter(department_id=w["b"].department_id).values_list("id", flat=True))
    assert friction["items"] and {i["service_item_id"] for i in friction["items"]} <= own


@pytest.mark.parametrize("view", ["trends", "rising", "friction", "departments", "policy-reach", "bundles"])
async def test_export_has_no_small_cells_and_is_audited(api, view):
    from models import AuditEntry

    await _world()
    h = await _officer(api)
    resp = await api.client.get(f"/api/v1/insights/export.xlsx?view={view}", headers=h)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(await resp.read()))
    data_sheets = [ws for ws in wb.worksheets if ws.title != "说明"]
    assert data_sheets
    published = 0
    for ws in data_sheets:
        rows = list(ws.iter_rows(values_only=True))
        header = rows[0]
        ent, sup = header.index("企业数"), header.index("已抑制")
        for r in rows[1:]:
            if r[sup] == "是":
                assert r[ent] is None and all(v is None for v in r[2:ent] if not isinstance(v, str))
            elif r[ent] is not None and r[0] != "合计":
                assert r[ent] == 0 or r[ent] >= 5, r
                published += 1
            for v in r:
                assert not (isinstance(v, str) and ("13812345678" in v or "王先生" in v or "请问" in v))
    assert published > 0
    entry = await AuditEntry.filter(action="insights.export").order_by("-id").first()
    assert entry.target_id == view and entry.details["rows"] >= published


async def test_small_groups_are_suppressed_in_the_export(api):
    """Department C's item was asked by 18 enterprises but a filter to one of them
    leaves a cell of 1: it must be blank."""
    await _world()
    h = await _officer(api)
    resp = await api.client.get("/api/v1/insights/export.xlsx?view=departments&size_class=small", headers=h)
    rows = list(load_workbook(io.BytesIO(await resp.read())).worksheets[0].iter_rows(values_only=True))
    header = rows[0]
    for r in rows[1:]:
        n = r[header.index("企业数")]
        assert n is None or n == 0 or n >= 5
        if n is None and r[0] != "合计":
            assert r[header.index("件数")] is None


async def test_proposal_lifecycle_with_before_after_evaluation(api):
    w = await _world()
    h = await _officer(api)
    go_live = (datetime.now(TZ) - timedelta(days=14)).date()
    resp = await api.client.post("/api/v1/proposals", headers=h, json={
        "title": "A+B 一口受理", "bundle": [w["a"].id, w["b"].id], "problem": "材料重复提交", "change": "合并窗口",
        "owner_name": "李科长", "metrics": ["cases", "overdue_share", "poor_share"]})
    assert resp.status == 201, await resp.text()
    p = await resp.json()
    assert p["status"] == "proposed" and p["next"] == ["approved", "abandoned"]
    assert sorted(p["service_item_ids"]) == sorted([w["a"].id, w["b"].id]) and p["evaluation"] is None
    pid = p["id"]
    bad = await api.client.post(f"/api/v1/proposals/{pid}/transition", headers=h, json={"to": "live"})
    assert bad.status == 409
    assert (await api.client.post(f"/api/v1/proposals/{pid}/transition", headers=h,
                                  json={"to": "approved"})).status == 200
    resp = await api.client.post(f"/api/v1/proposals/{pid}/transition", headers=h,
                                 json={"to": "live", "go_live": go_live.isoformat()})
    live = await resp.json()
    assert live["status"] == "live" and live["evaluation"]["days"] == 14
    m = {x["metric"]: x for x in live["evaluation"]["metrics"]}
    # all of A's late complaints were 15–40 days ago: before the window's end, none after
    assert m["cases"]["before"] > m["cases"]["after"] and m["cases"]["test"] == "poisson_rate_ratio"
    assert (await api.client.patch(f"/api/v1/proposals/{pid}", headers=h, json={"title": "x"})).status == 409
    done = await (await api.client.post(f"/api/v1/proposals/{pid}/transition", headers=h,
                                        json={"to": "evaluated"})).json()
    assert done["status"] == "evaluated" and done["evaluation_frozen"] and done["evaluation"]["metrics"] == \
        live["evaluation"]["metrics"]
    listed = await (await api.client.get("/api/v1/proposals?status=evaluated", headers=h)).json()
    assert [x["id"] for x in listed["items"]] == [pid]


async def test_proposal_validation_and_department_scope(api):
    from models import Department

    w = await _world()
    h = await _officer(api)
    same = await api.client.post("/api/v1/proposals", headers=h, json={"title": "x", "bundle": [w["a"].id, w["a"].id]})
    assert same.status == 422
    resp = await api.client.post("/api/v1/proposals", headers=h, json={"title": "C 优化", "service_item_ids": [w["c"].id]})
    pid = (await resp.json())["id"]
    code = (await Department.get(id=w["b"].department_id)).code
    sup = auth(await api.staff_token("supervisor", "sup-prop", department=code))
    assert (await api.client.get(f"/api/v1/proposals/{pid}", headers=sup)).status == 404
    assert (await (await api.client.get("/api/v1/proposals", headers=sup)).json())["total"] == 0
    assert (await api.client.post("/api/v1/proposals", headers=sup, json={"title": "y"})).status == 403
    assert (await api.client.delete(f"/api/v1/proposals/{pid}", headers=h)).status == 204


@pytest.mark.parametrize("path", ["/api/v1/insights/trends", "/api/v1/insights/rising-topics",
                                  "/api/v1/insights/emerging-topics", "/api/v1/insights/friction",
                                  "/api/v1/insights/departments", "/api/v1/insights/policy-reach",
                                  "/api/v1/insights/bundles", "/api/v1/insights/export.xlsx?view=friction",
                                  "/api/v1/proposals"])
async def test_enterprises_and_consultants_are_refused(api, path):
    owner, _ = await api.owner("ins-owner")
    consultant = await api.staff_token("consultant", "cons-ins")
    for token in (owner, consultant):
        assert (await api.client.get(path, headers=auth(token))).status == 403


async def test_bad_filters_are_422(api):
    h = await _officer(api)
    for q in ("since=2020-01-01&until=2022-01-01", "since=2025-02-01&until=2025-01-01", "department=NOPE",
              "region_code=12", "size_class=huge"):
        assert (await api.client.get(f"/api/v1/insights/friction?{q}", headers=h)).status == 422, q
    assert (await api.client.get("/api/v1/insights/export.xlsx?view=emerging", headers=h)).status == 422


PATHS = {"trends": "/api/v1/insights/trends", "rising": "/api/v1/insights/rising-topics",
         "emerging": "/api/v1/insights/emerging-topics", "friction": "/api/v1/insights/friction",
         "departments": "/api/v1/insights/departments", "policy_reach": "/api/v1/insights/policy-reach",
         "bundles": "/api/v1/insights/bundles"}


async def test_the_scheduled_rollup_warms_the_default_views(api, rt, monkeypatch):
    """After the scheduled job, the console's first call of every tab (default filters)
    is answered from the caches: reading the facts or the raw rows again would fail."""
    from server import scheduler
    from services.insights import facts
    from services.insights import views as V

    await _world()
    job = next(j for j in scheduler.JOBS if j.name == "insights-rollup")
    result = await job.run(rt)
    embedded = rt.settings.redis_url.startswith("memory://")
    expected = [v for v in V.WARM_VIEWS if not (embedded and v in V.RAW_VIEWS)]
    assert list(result["warmed"]) == expected and all(ms is not None for ms in result["warmed"].values()), result
    if embedded:  # the raw-row views are left out there by default, and warm the same way when asked
        assert all(ms is not None for ms in (await V.warm(rt, V.RAW_VIEWS)).values())
        await V.settle()  # emerging topics: the clustering the warming visit started

    def refuse(*_, **__):
        raise AssertionError("not served from the cache")

    monkeypatch.setattr(facts, "query", refuse)
    monkeypatch.setattr(V, "_needs", refuse)
    monkeypatch.setattr(V, "_in_child", refuse)
    h = await _officer(api)
    for name, path in PATHS.items():
        resp = await api.client.get(path, headers=h)
        assert resp.status == 200, (name, await resp.text())
    body = await (await api.client.get(PATHS["rising"], headers=h)).json()
    assert body["topics"][0]["topic_code"] == "spike"
    # another filter was not warmed: it reads the facts
    resp = await api.client.get(PATHS["friction"] + "?size_class=micro", headers=h)
    assert resp.status == 500


async def test_a_view_failing_to_warm_does_not_fail_the_rollup(rt, monkeypatch):
    from services.insights import rollup
    from services.insights import views as V

    await _world()

    async def broken(*_):
        raise RuntimeError("boom")

    monkeypatch.setitem(V.WARM_VIEWS, "friction", broken)
    result = await rollup.scheduled(rt)
    assert result["case_rows"] > 0 and result["warmed"]["friction"] is None
    assert result["warmed"]["trends"] is not None and result["warmed"]["departments"] is not None


async def test_with_the_cache_off_every_call_reads_the_facts(api, rt, monkeypatch):
    from services.insights import facts
    from services.insights import rollup
    from services.insights import views as V

    await _world()
    monkeypatch.setattr(rt.settings, "insights_cache", False)
    assert await rollup.scheduled(rt) and await V.warm(rt) == {}  # nothing to warm
    reads = []
    real = facts.query

    async def counted(*a, **kw):
        reads.append(a)
        return await real(*a, **kw)

    monkeypatch.setattr(facts, "query", counted)
    h = await _officer(api)
    first = await (await api.client.get(PATHS["departments"], headers=h)).json()
    n = len(reads)
    second = await (await api.client.get(PATHS["departments"], headers=h)).json()
    assert n >= 1 and len(reads) == 2 * n and first == second


async def test_precomputed_raw_views_are_read_when_their_key_matches(api, rt, monkeypatch):
    """The scheduled job's stored emerging topics and bundles (default filters) are what
    the views compute — read with the cache off, without k-means or the needs; a new
    unclassified question changes the emerging key, and the view computes again."""
    from models import Consultation
    from models.insights import Precomputed
    from services.insights import views as V

    await _world()
    monkeypatch.setattr(rt.settings, "insights_cache", False)
    h = await _officer(api)
    fresh = {"bundles": await (await api.client.get(PATHS["bundles"], headers=h)).json()}
    assert (await (await api.client.get(PATHS["emerging"], headers=h)).json())["pending"]
    await V.settle()  # the clustering that visit started
    fresh["emerging"] = await (await api.client.get(PATHS["emerging"], headers=h)).json()
    assert fresh["emerging"]["clusters"] and not fresh["emerging"]["stale"]
    done = await V.precompute()
    assert set(done) == set(V.RAW_VIEWS) and all(ms is not None for ms in done.values()), done
    assert await V.precompute() and await Precomputed.all().count() == len(V.RAW_VIEWS)  # latest run only

    def refuse(*_, **__):
        raise AssertionError("computed again")

    monkeypatch.setattr(V, "_needs", refuse)
    monkeypatch.setattr(V, "_in_child", refuse)
    for name in V.RAW_VIEWS:
        resp = await api.client.get(PATHS[name], headers=h)
        assert resp.status == 200 and await resp.json() == fresh[name], name
    # other filters over the same period are summed from the stored counts; other periods
    # were not precomputed
    assert (await api.client.get(PATHS["bundles"] + "?size_class=micro", headers=h)).status == 200
    since = (datetime.now(TZ).date() - timedelta(days=30)).isoformat()
    assert (await api.client.get(PATHS["bundles"] + f"?size_class=micro&since={since}", headers=h)).status == 500
    one = await Consultation.filter(topic_code="").first()
    await Consultation.create(enterprise_id=one.enterprise_id, channel="miniprogram", kind="consultation",
                              content=one.content, topic_code="", accepted_at=datetime.now(TZ),
                              working_days=2, due_at=one.due_at, remind_at=one.due_at, escalate_at=one.due_at)
    # a new question: the stored clustering is still what the visit sees, marked stale, and
    # the recomputation (refused here) runs in the background, not in the request
    resp = await api.client.get(PATHS["emerging"], headers=h)
    assert resp.status == 200
    body = await resp.json()
    assert body["stale"] and body["new_questions"] == 1 and body["clusters"] == fresh["emerging"]["clusters"]
    await V.settle()


async def test_a_handful_of_questions_needs_no_child_process(api, monkeypatch):
    from services.insights import views as V

    h = await _officer(api)

    def refuse(*_, **__):
        raise AssertionError("child process started")

    monkeypatch.setattr(V, "_in_child", refuse)
    body = await (await api.client.get(PATHS["emerging"], headers=h)).json()
    assert body["questions"] == 0 and body["clusters"] == []
