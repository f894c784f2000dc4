"""The policy feed's per-process caches never show an enterprise an outdated profile:
a change of the enterprise's profile or qualification tags shows in the very next feed,
for every user of the enterprise and in every API process, and the remembered verdicts
are exactly what the matching rules say."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.appkeys import RUNTIME
from services.auth.principal import Principal
from services.auth.roles import Role
from services.enterprises import sizing
from services.policies import rules as R
from services.policies import service as policies
from services.runtime import Runtime
from tests.conftest import auth, enterprise_body
from tests.unit.test_policy_rules import raw_rules

pytestmark = pytest.mark.usefixtures("catalogue", "clean_policies")



def _body(title: str, doc_number: str, rules: dict) -> dict:
    return {"title": title, "doc_number": doc_number, "department": "RMYH", "policy_type": "subsidy",
            "summary": f"{title}的摘要。", "body": "一、适用对象……", "application_guide": "1. 申请……",
            "effective_on": "2025-01-01", "expires_on": "2030-12-31", "attachments": [], "tags": [],
            "no_application": False, "rules": rules}


async def _publish(client, author: str, reviewer: str, title: str, doc_number: str, rules: dict) -> int:
    resp = await client.post("/api/v1/policies", json=_body(title, doc_number, rules), headers=auth(author))
    assert resp.status == 201, await resp.text()
    policy_id = (await resp.json())["id"]
    for who, action in ((author, "submit"), (reviewer, "approve")):
        resp = await client.post(f"/api/v1/policies/{policy_id}/{action}", headers=auth(who))
        assert resp.status == 200, await resp.text()
    return policy_id


async def _titles(client, token: str) -> list[str]:
    resp = await client.get("/api/v1/policies/recommended", headers=auth(token))
    assert resp.status == 200, await resp.text()
    page = await resp.json()
    assert page["total"] == len(page["items"])
    return sorted(p["title"] for p in page["items"])


async def _library(client, api) -> None:
    author = await api.staff_token("policy_officer", username="officer-wang")
    reviewer = await api.staff_token("policy_officer", username="officer-zhao")
    await _publish(client, author, reviewer, "深圳小微企业贴息", "深测〔2025〕1号",
                   {"size_classes": ["small", "micro"], "regions": ["4403"]})
    await _publish(client, author, reviewer, "高新技术企业奖励", "深测〔2025〕2号", {"tags": ["high_tech"]})
    await _publish(client, author, reviewer, "十人以下企业社保补贴", "深测〔2025〕3号", {"employees": {"max": 10}})


async def test_a_tag_or_profile_change_shows_in_the_next_feed_of_every_user_of_the_enterprise(client, api):
    await _library(client, api)
    owner, ent = await api.owner("cache-owner")  # 软件业 6 人, 南山区, 微型
    code = (await (await client.post(f"/api/v1/enterprises/{ent['id']}/invitations",
                                      headers=auth(owner))).json())["code"]
    member = await api.wechat_token("cache-member")
    assert (await client.post("/api/v1/enterprises/join", json={"code": code}, headers=auth(member))).status == 200
    before = ["十人以下企业社保补贴", "深圳小微企业贴息"]
    assert await _titles(client, owner) == before
    assert await _titles(client, member) == before
    assert await _titles(client, owner) == before  # now served from the cached profile

    resp = await client.put(f"/api/v1/enterprises/{ent['id']}/tags", json={"tags": ["high_tech"]},
                            headers=auth(owner))
    assert resp.status == 200, await resp.text()
    tagged = ["十人以下企业社保补贴", "深圳小微企业贴息", "高新技术企业奖励"]
    assert await _titles(client, owner) == tagged
    assert await _titles(client, member) == tagged

    moved = enterprise_body(credit_code=ent["credit_code"], region_code="440106", employees=50, revenue=900)
    resp = await client.put(f"/api/v1/enterprises/{ent['id']}", json=moved, headers=auth(owner))
    assert resp.status == 200, await resp.text()
    assert await _titles(client, member) == ["高新技术企业奖励"]
    assert await _titles(client, owner) == ["高新技术企业奖励"]

    officer = await api.staff_token("policy_officer", username="officer-wang")
    resp = await client.put(f"/api/v1/enterprises/{ent['id']}/tags", json={"tags": []}, headers=auth(officer))
    assert resp.status == 200, await resp.text()
    assert await _titles(client, owner) == []


async def test_another_api_process_sees_the_change_at_once(client, api):
    """A second process shares Redis and the database but has caches of its own."""
    await _library(client, api)
    owner, ent = await api.owner("cache-elsewhere")
    rt: Runtime = client.app[RUNTIME]
    other = Runtime(settings=rt.settings, redis=rt.redis, keys=rt.keys, cipher=rt.cipher, gateway=rt.gateway)
    viewer = Principal(user_id=0, role=Role.ENTERPRISE_OWNER, enterprise_id=ent["id"])

    async def elsewhere() -> list[str]:
        page = orjson.loads(orjson.dumps(await policies.recommended(other, viewer=viewer, page=1, page_size=20)))
        return sorted(p["title"] for p in page["items"])

    assert await elsewhere() == ["十人以下企业社保补贴", "深圳小微企业贴息"]
    assert await elsewhere() == ["十人以下企业社保补贴", "深圳小微企业贴息"]  # cached there now
    resp = await client.put(f"/api/v1/enterprises/{ent['id']}/tags", json={"tags": ["high_tech"]},
                            headers=auth(owner))
    assert resp.status == 200
    assert await elsewhere() == ["十人以下企业社保补贴", "深圳小微企业贴息", "高新技术企业奖励"]
    body = enterprise_body(credit_code=ent["credit_code"], employees=30, revenue=900)
    assert (await client.put(f"/api/v1/enterprises/{ent['id']}", json=body, headers=auth(owner))).status == 200
    assert await elsewhere() == ["深圳小微企业贴息", "高新技术企业奖励"]


async def test_a_cached_profile_costs_no_database_query_until_it_changes(client, api, monkeypatch):
    await _library(client, api)
    owner, ent = await api.owner("cache-counted")
    loads: list[int] = []
    real = policies.profile_of

    async def counted(enterprise_id: int):
        loads.append(enterprise_id)
        return await real(enterprise_id)

    monkeypatch.setattr(policies, "profile_of", counted)
    for _ in range(3):
        await _titles(client, owner)
    assert loads == [ent["id"]]
    body = enterprise_body(credit_code=ent["credit_code"], employees=7)
    assert (await client.put(f"/api/v1/enterprises/{ent['id']}", json=body, headers=auth(owner))).status == 200
    await _titles(client, owner)
    await _titles(client, owner)
    assert loads == [ent["id"], ent["id"]]


async def test_the_profile_version_comes_with_the_session_lookup(client, api, monkeypatch):
    """The feed's only Redis round trip is the session lookup: the enterprise's profile
    version rides in it, and a write between two feeds is still seen by the second."""
    await _library(client, api)
    owner, ent = await api.owner("cache-one-trip")
    rt: Runtime = client.app[RUNTIME]
    version_key = rt.keys.enterprise_profile_version(ent["id"]).encode()
    head, tail = rt.keys.enterprise_profile_version_affixes()
    assert f"{head}{ent['id']}{tail}".encode() == version_key
    asked: list[tuple] = []
    real = rt.redis.execute_command

    async def recorded(*args, **kwargs):
        asked.append(args)
        return await real(*args, **kwargs)

    monkeypatch.setattr(rt.redis, "execute_command", recorded)
    assert await _titles(client, owner) == ["十人以下企业社保补贴", "深圳小微企业贴息"]
    assert await _titles(client, owner) == ["十人以下企业社保补贴", "深圳小微企业贴息"]
    named = lambda a: version_key in [x.encode() if isinstance(x, str) else x for x in a]  # noqa: E731
    assert asked and not any(named(a) for a in asked)

    resp = await client.put(f"/api/v1/enterprises/{ent['id']}/tags", json={"tags": ["high_tech"]},
                            headers=auth(owner))
    assert resp.status == 200, await resp.text()
    assert await _titles(client, owner) == ["十人以下企业社保补贴", "深圳小微企业贴息", "高新技术企业奖励"]


async def test_a_remembered_feed_drops_a_policy_on_the_morning_after_its_last_day(client, api, monkeypatch):
    author = await api.staff_token("policy_officer", username="officer-wang")
    reviewer = await api.staff_token("policy_officer", username="officer-zhao")
    body = _body("今天截止的补贴", "深测〔2025〕9号", {})
    body["expires_on"] = TODAY.isoformat()
    resp = await client.post("/api/v1/policies", json=body, headers=auth(author))
    assert resp.status == 201, await resp.text()
    policy_id = (await resp.json())["id"]
    for who, action in ((author, "submit"), (reviewer, "approve")):
        assert (await client.post(f"/api/v1/policies/{policy_id}/{action}", headers=auth(who))).status == 200
    owner, _ent = await api.owner("cache-last-day")
    assert await _titles(client, owner) == ["今天截止的补贴"]
    assert await _titles(client, owner) == ["今天截止的补贴"]  # remembered for this profile now
    monkeypatch.setattr(policies, "today", lambda: TODAY + timedelta(days=1))
    assert await _titles(client, owner) == []


async def test_the_first_feed_of_a_profile_and_the_remembered_one_are_the_same_bytes(client, api):
    """The first request loads the profile from the database and ranks every policy; the
    next ones are served from what that worked out. A user cannot tell them apart, and a
    change of the profile makes the next request a first one again."""
    await _library(client, api)
    owner, ent = await api.owner("cache-same-bytes")
    cache = policies.profile_cache(client.app[RUNTIME])

    async def raw() -> bytes:
        resp = await client.get("/api/v1/policies/recommended", headers=auth(owner))
        assert resp.status == 200 and resp.content_type == "application/json"
        return await resp.read()

    first = await raw()
    assert cache._entries[ent["id"]].ranked is not None
    assert await raw() == first
    assert sorted(p["title"] for p in orjson.loads(first)["items"]) == ["十人以下企业社保补贴", "深圳小微企业贴息"]
    cache._entries.clear()  # as in a process that has not seen the enterprise yet
    assert await raw() == first

    body = enterprise_body(credit_code=ent["credit_code"], employees=30, revenue=900)
    assert (await client.put(f"/api/v1/enterprises/{ent['id']}", json=body, headers=auth(owner))).status == 200
    changed = await raw()
    assert [p["title"] for p in orjson.loads(changed)["items"]] == ["深圳小微企业贴息"]
    assert await raw() == changed


async def test_the_feed_lists_the_same_matches_as_the_policy_pages(client, api):
    await _library(client, api)
    owner, _ent = await api.owner("cache-detail", founded_on=None)
    resp = await client.get("/api/v1/policies/recommended", headers=auth(owner))
    page = await resp.json()
    assert page["page"] == 1 and page["page_size"] == 20 and page["total"] == 2
    for item in page["items"]:
        detail = await (await client.get(f"/api/v1/policies/{item['id']}", headers=auth(owner))).json()
        assert item["match"] == detail["match"] and item["match"]["eligible"] is True
        assert {k: v for k, v in item.items() if k != "match"} == {k: detail[k] for k in item if k != "match"}
    second = await (await client.get("/api/v1/policies/recommended?page=2&page_size=1", headers=auth(owner))).json()
    assert second["total"] == 2 and [i["id"] for i in second["items"]] == [page["items"][1]["id"]]


# ----------------------------------------------------------------- the remembered verdicts

TODAY = policies.today()
_DIVISIONS = sizing.list_divisions()[:12]
_FIELDS = {
    "division": st.sampled_from(_DIVISIONS),
    "size_class": st.sampled_from(R.SIZE_CLASSES),
    "region_code": st.sampled_from(["440305", "440106", "110105"]),
    "employees": st.sampled_from([None, 0, 9, 10, 300]),
    # The same revenue written two ways, too: the reasons must not depend on which.
    "revenue": st.sampled_from([None, Decimal("100"), Decimal("100.00"), Decimal("2000.5")]),
    "founded_on": st.sampled_from([None, date(2000, 1, 1), R.add_years(TODAY, -2), R.add_years(TODAY, -3), TODAY]),
    "tags": st.lists(st.sampled_from(["high_tech", "tech_sme", "specialized"]), max_size=2).map(frozenset),
}


def _profile(values: dict) -> R.Profile:
    d = values["division"]
    return R.Profile(industry_code=d.code, industry_group=d.group_code,
                     **{k: v for k, v in values.items() if k != "division"})


# A base profile and variants that differ from it in one field each: profiles that agree
# on everything a policy reads share its remembered verdict, the others must not.
alike_profiles = st.fixed_dictionaries(_FIELDS).flatmap(lambda base: st.lists(
    st.sampled_from(list(_FIELDS)).flatmap(lambda name: _FIELDS[name].map(lambda v: _profile({**base, name: v}))),
    min_size=1, max_size=20).map(lambda variants: [_profile(base), *variants]))


@settings(max_examples=300, deadline=None)
@given(raw=raw_rules, profiles=alike_profiles)
def test_a_remembered_verdict_is_the_one_the_rules_give(raw, profiles):
    try:
        normal = R.validate(raw, today=TODAY)
    except R.InvalidRules:
        return
    rules = R.compile_rules(normal)
    entry = policies._Entry(id=1, series_id=1, rules=rules, head=b"{", expires_on=None, sort_key=(0,),
                            key_of=policies._profile_key(rules))
    for profile in profiles * 2:  # the second round is served from memory
        expected = R.evaluate(rules, profile, today=TODAY)
        found = policies._match(entry, profile, TODAY) if policies._may_fit(rules, profile) else None
        if not expected.eligible:
            assert found is None
            continue
        assert found is not None
        score, data = found
        assert score == expected.score
        assert orjson.loads(data) == {"eligible": True, "score": expected.score, "reasons": list(expected.reasons),
                                      "missing": list(expected.missing)}


_ONE_OF_EACH = [
    {}, {"industries": ["industry", "65"]}, {"size_classes": ["small", "micro"]}, {"regions": ["4403"]},
    {"age_years": {"min": 2}}, {"age_years": {"max": 3}}, {"employees": {"max": 10}}, {"employees": {"min": 9}},
    {"revenue": {"max": 100}}, {"revenue": {"min": 100.5}}, {"tags": ["high_tech", "specialized"]},
    {"size_classes": ["medium", "small", "micro"], "regions": ["4403", "11"], "employees": {"max": 300},
     "revenue": {"max": 2000}, "age_years": {"min": 1}, "tags": ["tech_sme"], "industries": ["software_it"]},
]


@pytest.mark.parametrize("raw", _ONE_OF_EACH)
def test_every_condition_keeps_apart_the_enterprises_it_tells_apart(raw):
    """Every combination of a few values per profile field, through one memory per rule set."""
    rules = R.compile_rules(R.validate(raw, today=TODAY))
    entry = policies._Entry(id=1, series_id=1, rules=rules, head=b"{", expires_on=None, sort_key=(0,),
                            key_of=policies._profile_key(rules))
    divisions = [d for d in sizing.list_divisions() if d.code in ("65", "33", "52")]
    domains = [divisions, ["micro", "medium"], ["440305", "110105"], [None, 0, 10, 300],
               [None, Decimal("100"), Decimal("100.00"), Decimal("2000.5")],
               [None, date(2000, 1, 1), R.add_years(TODAY, -2), TODAY],
               [frozenset(), frozenset({"high_tech"}), frozenset({"tech_sme", "specialized"})]]
    for d, size, region, employees, revenue, founded, tags in itertools.product(*domains):
        profile = R.Profile(industry_code=d.code, industry_group=d.group_code, size_class=size, region_code=region,
                            employees=employees, revenue=revenue, founded_on=founded, tags=tags)
        expected = R.evaluate(rules, profile, today=TODAY)
        found = policies._match(entry, profile, TODAY) if policies._may_fit(rules, profile) else None
        if not expected.eligible:
            assert found is None, profile
            continue
        assert found is not None and found[0] == expected.score, profile
        assert orjson.loads(found[1]) == {"eligible": True, "score": expected.score,
                                          "reasons": list(expected.reasons), "missing": list(expected.missing)}
