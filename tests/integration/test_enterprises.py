from models import Enterprise
from services.enterprises.credit_code import check_character
from tests.conftest import auth, enterprise_body


def valid_code(prefix17: str) -> str:
    return prefix17 + check_character(prefix17)


async def test_owner_registers_and_sees_the_size_class_with_its_basis(client, api):
    token = await api.wechat_token("lin")
    body = enterprise_body(credit_code=valid_code("91440305MA5HK7R28"), employees=6, revenue=180)
    resp = await client.post("/api/v1/enterprises", json=body, headers=auth(token))
    ent = await resp.json()
    assert resp.status == 201, ent
    assert ent["size_class"] == "micro"
    assert ent["size"]["label"] == "微型"
    assert ent["size"]["group_label"] == "软件和信息技术服务业"
    assert ent["size"]["rule_version"] == "工信部联企业〔2011〕300号"
    assert ent["size"]["inputs"] == {"employees": 6.0, "revenue": 180.0}
    assert "微型" in ent["size"]["basis"]
    assert ent["contact_phone"] == "13826540917"  # the owner sees their own number
    me = await (await client.get("/api/v1/me", headers=auth(token))).json()
    assert me["role"] == "enterprise_owner" and me["enterprise_id"] == ent["id"]


async def test_industry_example_rows_classify_as_the_standard_says(client, api):
    cases = [("33", 300, 2000, None, "medium"), ("33", 20, 300, None, "small"), ("33", 19, 5000, None, "micro"),
             ("52", 50, 500, None, "medium"), ("52", 10, 100, None, "small"), ("65", 100, 1000, None, "medium"),
             ("48", None, 6000, 5000, "medium"), ("33", 1000, 40000, None, "large")]
    for n, (industry, employees, revenue, assets, expected) in enumerate(cases):
        token = await api.wechat_token(f"case{n}")
        ent = await api.register(token, industry_code=industry, employees=employees, revenue=revenue,
                                 assets=assets)
        assert ent["size_class"] == expected, (industry, employees, revenue, assets, ent["size"])


async def test_wrong_check_character_is_422_invalid_credit_code_in_chinese(client, api):
    token = await api.wechat_token("wu")
    good = valid_code("91440305MA5HK7R28")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    resp = await client.post("/api/v1/enterprises", json=enterprise_body(credit_code=bad), headers=auth(token))
    body = await resp.json()
    assert resp.status == 422
    assert body["error"]["code"] == "invalid_credit_code"
    assert "校验位错误" in body["error"]["message"]
    assert body["error"]["details"][0]["field"] == "credit_code"
    assert not await Enterprise.exists()


async def test_the_same_credit_code_cannot_be_registered_twice(client, api):
    code = valid_code("91440305MA5HK7R28")
    await api.owner("first", credit_code=code)
    token = await api.wechat_token("second")
    resp = await client.post("/api/v1/enterprises", json=enterprise_body(credit_code=code), headers=auth(token))
    assert resp.status == 409
    assert "已被认证" in (await resp.json())["error"]["message"]


async def test_construction_without_assets_is_422_naming_assets(client, api):
    token = await api.wechat_token("builder")
    body = enterprise_body(credit_code=valid_code("91440307MA5HK7R28"), industry_code="48",
                           employees=30, revenue=2600)
    resp = await client.post("/api/v1/enterprises", json=body, headers=auth(token))
    err = (await resp.json())["error"]
    assert resp.status == 422
    assert err["details"][0]["field"] == "assets"
    assert "资产总额" in err["message"]


async def test_bad_fields_are_reported_per_field_in_chinese(client, api):
    token = await api.wechat_token("sloppy")
    body = enterprise_body(contact_phone="12345", region_code="99x", employees=-1)
    resp = await client.post("/api/v1/enterprises", json=body, headers=auth(token))
    details = {d["field"]: d["message"] for d in (await resp.json())["error"]["details"]}
    assert resp.status == 422
    assert set(details) == {"contact_phone", "region_code", "employees"}
    assert details["employees"] == "不能小于 0"


async def test_phone_is_encrypted_at_rest(client, api):
    _, ent = await api.owner("secret")
    row = await Enterprise.get(id=ent["id"])
    assert "13826540917" not in row.contact_phone_enc
    assert row.contact_phone_enc.startswith("v1:")


async def test_another_enterprise_cannot_read_or_change_your_profile(client, api):
    _, mine = await api.owner("alice")
    other_token, _ = await api.owner("bob")
    resp = await client.get(f"/api/v1/enterprises/{mine['id']}", headers=auth(other_token))
    assert resp.status == 404
    resp = await client.put(f"/api/v1/enterprises/{mine['id']}", headers=auth(other_token),
                            json=enterprise_body(credit_code=mine["credit_code"]))
    assert resp.status == 404


async def test_staff_see_the_profile_with_phone_masked_unless_they_call_back(client, api):
    _, ent = await api.owner("carol")
    policy = await api.staff_token("policy_officer")
    consultant = await api.staff_token("consultant")
    seen_by_policy = await (await client.get(f"/api/v1/enterprises/{ent['id']}", headers=auth(policy))).json()
    seen_by_consultant = await (await client.get(f"/api/v1/enterprises/{ent['id']}", headers=auth(consultant))).json()
    assert seen_by_policy["contact_phone"] == "138****0917"
    assert seen_by_consultant["contact_phone"] == "13826540917"
    admin = await api.staff_token("system_admin")
    assert (await client.get(f"/api/v1/enterprises/{ent['id']}", headers=auth(admin))).status == 403


async def test_owner_updates_the_profile_and_the_size_is_recomputed(client, api):
    token, ent = await api.owner("dave")
    body = enterprise_body(credit_code=ent["credit_code"], employees=150, revenue=3000)
    resp = await client.put(f"/api/v1/enterprises/{ent['id']}", json=body, headers=auth(token))
    assert resp.status == 200
    assert (await resp.json())["size_class"] == "medium"


async def test_owner_invites_a_member_with_a_one_time_code(client, api):
    owner, ent = await api.owner("erin")
    resp = await client.post(f"/api/v1/enterprises/{ent['id']}/invitations", headers=auth(owner))
    code = (await resp.json())["code"]
    member = await api.wechat_token("frank")
    resp = await client.post("/api/v1/enterprises/join", json={"code": code}, headers=auth(member))
    assert resp.status == 200
    joined = await resp.json()
    assert joined["id"] == ent["id"]
    me = await (await client.get("/api/v1/me", headers=auth(member))).json()
    assert me["role"] == "enterprise_member"
    # A member reads but does not edit, and cannot invite.
    assert (await client.get(f"/api/v1/enterprises/{ent['id']}", headers=auth(member))).status == 200
    resp = await client.put(f"/api/v1/enterprises/{ent['id']}", headers=auth(member),
                            json=enterprise_body(credit_code=ent["credit_code"]))
    assert resp.status == 403
    # The code works once.
    third = await api.wechat_token("grace")
    resp = await client.post("/api/v1/enterprises/join", json={"code": code}, headers=auth(third))
    assert resp.status == 410
    assert "已使用或已过期" in (await resp.json())["error"]["message"]


async def test_industry_picker_lists_divisions_with_the_indicators_they_need(client):
    items = (await (await client.get("/api/v1/reference/industries")).json())["items"]
    by_code = {i["code"]: i for i in items}
    assert by_code["48"]["indicators"] == ["revenue", "assets"]
    assert by_code["65"]["group_label"] == "软件和信息技术服务业"
    assert "70" not in by_code and "701" in by_code
