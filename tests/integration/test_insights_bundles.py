"""One-window bundles under filters: after the scheduled job, a county, size, industry or
department filter over the stored period is summed from the per-mix counts
(``insight_bundle_count``), and shows the same sets, counts, support, lift and ranking as
the computation from every need of the period — also after one day is rolled up again
with a new case in it."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import auth

pytestmark = pytest.mark.usefixtures("catalogue")
TZ = ZoneInfo("Asia/Shanghai")
PATH = "/api/v1/insights/bundles"


async def _world(seed: int = 11) -> dict:
    """48 enterprises over two counties, two size classes and two industry groups, each
    with 2–7 needs over 85 days among five items of three departments; items A and B
    (two departments) needed together within a week by five of the six micro
    enterprises of county 440305 with industry I. Then the rollup of the period."""
    from models import Consultation, Enterprise, ServiceItem
    from services.insights.rollup import rollup

    rng = random.Random(seed)
    now = datetime.now(TZ)
    items = await ServiceItem.all().order_by("id")
    by_dept: dict[int, list] = {}
    for i in items:
        by_dept.setdefault(i.department_id, []).append(i)
    depts = [d for d, its in by_dept.items() if len(its) >= 2][:2] + \
        [d for d, its in by_dept.items() if len(its) < 2][:1]
    if len(depts) < 3:
        depts = list(by_dept)[:3]
    a, b = by_dept[depts[0]][0], by_dept[depts[1]][0]
    pool = [*by_dept[depts[0]][1:2], *by_dept[depts[1]][1:2], by_dept[depts[2]][0]]
    assert len({i.department_id for i in (a, b, *pool)}) == 3 and len(pool) == 3
    ents = [await Enterprise.create(credit_code=f"BD{seed:02d}{n:014d}", name=f"组合测试企业{n}", industry_code="65",
                                    industry_group="I" if n % 4 < 2 else "C",
                                    region_code="440305" if n % 8 < 4 else "440306",
                                    size_class="micro" if n % 2 else "small", size_rule_version="t")
            for n in range(48)]

    async def case(ent, days_ago: int, item) -> None:
        at = now - timedelta(days=days_ago, minutes=rng.randint(1, 300))
        due = at + timedelta(days=2)
        await Consultation.create(enterprise_id=ent.id, channel="miniprogram", kind="consultation",
                                  content="请问怎么办理", topic_code="steady", service_item_id=item.id,
                                  department_id=item.department_id, accepted_at=at, working_days=2, due_at=due,
                                  remind_at=due, escalate_at=due)

    planted = [e for e in ents if e.region_code == "440305" and e.size_class == "micro" and e.industry_group == "I"]
    for e in planted[:5]:
        d = rng.randint(20, 60)
        await case(e, d, a)
        await case(e, d - rng.randint(0, 6), b)
    for e in ents:
        for _ in range(rng.randint(2, 7)):
            await case(e, rng.randint(1, 85), rng.choice(pool))
    await rollup(now.date() - timedelta(days=89), now.date())
    return {"a": a, "b": b, "pool": pool, "planted": planted[:5], "ents": ents, "case": case}


FILTERS = {
    "unfiltered": {},
    "department": {"department": None},  # filled with A's department code
    "county": {"region_code": "440305"},
    "county_size": {"region_code": "440305", "size_class": "micro"},
    "county_size_industry": {"region_code": "440305", "size_class": "micro", "industry_group": "I"},
    "industry": {"industry_group": "C"},
}


async def _raw(params: dict, min_enterprises: int) -> dict:
    """The figures computed from every need of the period, as before the counts."""
    from services.insights import views as V

    f = await V.resolve(since=None, until=None, department=params.get("department"),
                        region_code=params.get("region_code"), industry_group=params.get("industry_group"),
                        size_class=params.get("size_class"), forced_department=None, default_days=V.RAW_DAYS)
    found, enterprises = await V._bundles_compute(f, min_enterprises, V.DEFAULT_WINDOW_DAYS)
    return {"bundles": found, "enterprises": enterprises}


async def _compare_all(api, h, dept_code: str, monkeypatch) -> dict:
    """Every filter at two thresholds: the raw computation first, then the API with the
    needs read refused (so it can only sum the counts)."""
    from services.insights import views as V

    expected = {}
    for name, params in FILTERS.items():
        params = {k: (dept_code if k == "department" else v) for k, v in params.items()}
        for m in (2, 5):
            expected[(name, m)] = (params, await _raw(params, m))

    def refuse(*_, **__):
        raise AssertionError("read every need again")

    with monkeypatch.context() as mp:
        mp.setattr(V, "_needs", refuse)
        for (name, m), (params, raw) in expected.items():
            resp = await api.client.get(PATH, headers=h, params={**params, "min_enterprises": str(m)})
            assert resp.status == 200, (name, m, await resp.text())
            body = await resp.json()
            assert body["bundles"] == raw["bundles"] and body["enterprises"] == raw["enterprises"], (name, m)
    return {k: v[1] for k, v in expected.items()}


async def test_filtered_bundles_from_the_counts_equal_the_raw_computation(api, rt, monkeypatch):
    from models import Department
    from models.insights import BundleCount
    from services.insights import views as V
    from services.insights.rollup import rollup

    w = await _world()
    monkeypatch.setattr(rt.settings, "insights_cache", False)
    h = auth(await api.staff_token("policy_officer", "policy-bdl"))
    dept_code = (await Department.get(id=w["a"].department_id)).code
    done = await V.precompute()
    assert done["bundles"] is not None and await BundleCount.all().count() > 0
    got = await _compare_all(api, h, dept_code, monkeypatch)

    # what an officer sees: the planted pair, counted once per enterprise, under the narrowest filter
    ab = sorted([w["a"].id, w["b"].id])
    narrow = got[("county_size_industry", 5)]
    pair = next(x for x in narrow["bundles"] if x["items"] == ab)
    assert narrow["enterprises"] == 6 and pair["enterprises"] == 5 and pair["item_enterprises"] == [5, 5]
    assert pair["support"] == round(5 / 6, 4) and pair["lift"] == round((5 / 6) / (5 / 6) ** 2, 3)
    dept_items = {w["a"].id, w["pool"][0].id}
    assert got[("department", 2)]["bundles"] and all(set(x["items"]) & dept_items
                                                     for x in got[("department", 2)]["bundles"])
    assert any(x["size"] == 3 for x in got[("unfiltered", 2)]["bundles"])  # small sets are kept too
    # only the first sets are shown: those cut before ranking are none of them
    with monkeypatch.context() as mp:
        mp.setattr(V, "BUNDLES_SHOWN", 3)
        await V.precompute()
        assert all(len(r["bundles"]) <= 3 for r in (await _compare_all(api, h, dept_code, monkeypatch)).values())

    # the sixth enterprise of that mix needs A and B today; today is rolled up again and the job runs
    sixth = next(e for e in w["ents"] if e.region_code == "440305" and e.size_class == "micro"
                   and e.industry_group == "I" and e not in w["planted"])
    await w["case"](sixth, 0, w["a"])
    await w["case"](sixth, 0, w["b"])
    today = datetime.now(TZ).date()
    await rollup(today, today)
    await V.precompute()
    again = await _compare_all(api, h, dept_code, monkeypatch)
    pair = next(x for x in again[("county_size_industry", 5)]["bundles"] if x["items"] == ab)
    assert pair["enterprises"] == 6 and pair["support"] == 1.0


async def test_other_periods_and_windows_still_compute(api, rt, monkeypatch):
    """Counts serve only the stored period and window: another one reads the needs."""
    from services.insights import views as V

    await _world()
    monkeypatch.setattr(rt.settings, "insights_cache", False)
    h = auth(await api.staff_token("policy_officer", "policy-bdl"))
    await V.precompute()
    reads = []
    real = V._needs

    async def counting(f):
        reads.append(f)
        return await real(f)

    monkeypatch.setattr(V, "_needs", counting)
    since = (datetime.now(TZ).date() - timedelta(days=59)).isoformat()
    for params in ({"region_code": "440305", "since": since}, {"region_code": "440305", "window_days": "10"}):
        resp = await api.client.get(PATH, headers=h, params=params)
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["filters"]["region_code"] == "440305"
    assert len(reads) == 2
    resp = await api.client.get(PATH, headers=h, params={"region_code": "440305"})
    assert resp.status == 200 and len(reads) == 2
