import io

import pytest
from openpyxl import load_workbook

from models import AuditEntry, ServiceItem
from tests.conftest import auth

pytestmark = pytest.mark.usefixtures("catalogue")


async def search(client, **params):
    resp = await client.get("/api/v1/service-items", params=params)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_plain_chinese_finds_the_business_licence_first(client):
    page = await search(client, q="营业执照")
    assert page["total"] >= 2
    assert "设立登记" in page["items"][0]["name"] or "营业执照" in page["items"][0]["name"]


@pytest.mark.parametrize("words, expected", [
    ("办执照", "设立登记"), ("社保", "社会保险"), ("公积金", "公积金"), ("开发票", "发票"),
    ("注销公司", "注销"), ("食品许可", "食品"), ("消防", "消防"),
])
async def test_everyday_words_and_synonyms_find_the_right_item(client, words, expected):
    page = await search(client, q=words)
    names = [i["name"] for i in page["items"][:3]]
    assert any(expected in n for n in names), (words, names)


async def test_synonyms_are_reported_as_query_terms(client):
    page = await search(client, q="执照")
    assert "营业执照" in page["query_terms"]


async def test_department_and_stage_filters_narrow_the_results(client):
    page = await search(client, department="SW", page_size=50)
    assert page["total"] > 0
    assert {i["department"]["code"] for i in page["items"]} == {"SW"}
    closing = await search(client, stage="close", page_size=50)
    assert closing["total"] > 0 and {i["stage"] for i in closing["items"]} == {"close"}
    assert {i["stage_label"] for i in closing["items"]} == {"注销"}


async def test_pages_are_capped_and_bad_parameters_are_422(client):
    resp = await client.get("/api/v1/service-items", params={"page_size": "51"})
    assert resp.status == 422
    assert (await resp.json())["error"]["details"][0] == {"field": "page_size", "message": "不能大于 50"}
    resp = await client.get("/api/v1/service-items", params={"stage": "someday"})
    assert resp.status == 422


async def test_detail_shows_materials_steps_and_time_limits(client):
    first = (await search(client, q="营业执照"))["items"][0]
    item = await (await client.get(f"/api/v1/service-items/{first['id']}")).json()
    assert item["materials"] and {"name", "required", "form", "count", "notes"} <= set(item["materials"][0])
    assert item["steps"] and item["statutory_days"] >= item["committed_days"]
    assert (await client.get("/api/v1/service-items/999999")).status == 404
    assert (await client.get("/api/v1/service-items/99999999999999")).status == 404


def new_item(**overrides):
    body = {"code": "TEST-0001", "name": "测试事项：小微企业开办一件事", "item_type": "公共服务",
            "department": "SCJG", "summary": "一次办完开办企业的全部手续", "keywords": ["开办一件事"],
            "materials": [{"name": "身份证", "required": True, "form": "original", "count": 1, "notes": ""}],
            "steps": [{"name": "申请", "description": "网上提交"}], "statutory_days": 5,
            "committed_days": 1, "stage": "start"}
    body.update(overrides)
    return body


async def test_system_admin_edits_an_item_and_search_sees_it_at_once(client, api):
    token = await api.staff_token("system_admin")
    resp = await client.post("/api/v1/service-items", json=new_item(), headers=auth(token))
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert (await search(client, q="开办一件事"))["items"][0]["id"] == created["id"]
    resp = await client.put(f"/api/v1/service-items/{created['id']}", headers=auth(token),
                            json=new_item(name="测试事项：企业开办全流程一网通办", committed_days=0))
    assert resp.status == 200
    hit = (await search(client, q="一网通办"))["items"][0]
    assert hit["name"] == "测试事项：企业开办全流程一网通办" and hit["committed_days"] == 0
    assert (await client.delete(f"/api/v1/service-items/{created['id']}", headers=auth(token))).status == 204
    assert (await client.get(f"/api/v1/service-items/{created['id']}")).status == 404
    actions = {e.action for e in await AuditEntry.all()}
    assert {"service_item_created", "service_item_updated", "service_item_retired"} <= actions


async def test_committed_time_cannot_exceed_the_statutory_time(client, api):
    token = await api.staff_token("system_admin")
    resp = await client.post("/api/v1/service-items", json=new_item(statutory_days=3, committed_days=5),
                             headers=auth(token))
    assert resp.status == 422
    assert (await resp.json())["error"]["details"][0] == {"field": "committed_days",
                                                           "message": "承诺时限不能超过法定时限"}


async def test_only_the_system_admin_edits_the_catalogue(client, api):
    resp = await client.post("/api/v1/service-items", json=new_item())
    assert resp.status == 401
    for role in ("consultant", "policy_officer", "security_admin", "audit_admin"):
        token = await api.staff_token(role)
        resp = await client.post("/api/v1/service-items", json=new_item(), headers=auth(token))
        assert resp.status == 403, role
    owner = await api.wechat_token("owner")
    assert (await client.post("/api/v1/service-items", json=new_item(), headers=auth(owner))).status == 403


CSV_HEADER = "事项编码,事项名称,事项类型,部门编码,简介,关键词,办理要件,办理流程,法定时限（工作日）,承诺时限（工作日）,可网办,生命周期\n"


async def upload(client, token, name, data: bytes):
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", data, filename=name)
    return await client.post("/api/v1/service-items/import", data=form, headers=auth(token))


async def test_import_reports_each_rejected_row_and_imports_the_valid_ones(client, api):
    token = await api.staff_token("system_admin")
    csv = CSV_HEADER + (
        'IMP-1,小微企业首次贷款贴息申请,行政给付,SW,首贷贴息,贴息、首贷,"营业执照|必需|复印件|1|\n贷款合同|必需|复印件|1|",申请：线上提交,10,5,是,经营\n'
        "IMP-2,缺部门的事项,公共服务,NOPE,,,,,3,1,否,某天\n"
        "IMP-3,时限不对的事项,公共服务,SW,,,,,3,9,否,经营\n"
        "IMP-1,重复编码的事项,公共服务,SW,,,,,3,1,否,经营\n")
    resp = await upload(client, token, "items.csv", csv.encode())
    report = await resp.json()
    assert resp.status == 200, report
    assert report["created"] == 1 and report["updated"] == 0 and report["total_rows"] == 4
    rejected = {r["row"]: r for r in report["rejected"]}
    assert set(rejected) == {3, 4, 5}
    # Every reason of a row is reported at once, not one per attempt.
    assert {e["field"] for e in rejected[3]["errors"]} == {"stage", "department"}
    assert {"field": "department", "message": "部门编码 NOPE 不存在"} in rejected[3]["errors"]
    assert rejected[4]["errors"][0]["message"] == "承诺时限不能超过法定时限"
    assert "重复" in rejected[5]["errors"][0]["message"]
    item = await ServiceItem.get(code="IMP-1")
    assert [m["name"] for m in item.materials] == ["营业执照", "贷款合同"]
    assert (await search(client, q="首贷贴息"))["items"][0]["name"] == "小微企业首次贷款贴息申请"


async def test_a_failed_import_leaves_nothing_half_written(client, api, monkeypatch):
    token = await api.staff_token("system_admin")
    before = await ServiceItem.all().count()
    calls = {"n": 0}
    real_create = ServiceItem.create

    async def failing_create(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("connection lost")
        return await real_create(**kwargs)

    monkeypatch.setattr(ServiceItem, "create", failing_create)
    csv = CSV_HEADER + "".join(f"ATOM-{n},原子性测试事项{n},公共服务,SW,,,,,3,1,否,经营\n" for n in range(3))
    resp = await upload(client, token, "items.csv", csv.encode())
    assert resp.status == 500
    assert await ServiceItem.all().count() == before
    assert not await ServiceItem.filter(code__startswith="ATOM-").exists()


async def test_unreadable_or_wrong_files_are_422_in_chinese(client, api):
    token = await api.staff_token("system_admin")
    resp = await upload(client, token, "items.pdf", b"%PDF")
    assert resp.status == 422 and (await resp.json())["error"]["message"] == "只支持 CSV 或 XLSX 文件"
    resp = await upload(client, token, "items.xlsx", b"not a zip")
    assert resp.status == 422 and "无法读取文件" in (await resp.json())["error"]["message"]
    resp = await upload(client, token, "items.csv", "名字,别的\n甲,乙\n".encode())
    assert resp.status == 422 and "缺少必需的列" in (await resp.json())["error"]["message"]
    resp = await client.post("/api/v1/service-items/import", json={}, headers=auth(token))
    assert resp.status == 422


async def test_export_is_an_xlsx_that_imports_back_unchanged(client, api):
    token = await api.staff_token("system_admin")
    resp = await client.get("/api/v1/service-items/export.xlsx", headers=auth(token))
    assert resp.status == 200
    data = await resp.read()
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.cell(1, 1).value == "事项编码"
    exported_rows = sheet.max_row - 1
    assert exported_rows == await ServiceItem.filter(is_active=True).count()
    before = {i.code: (i.name, i.materials, i.steps, i.faq, i.committed_days) for i in await ServiceItem.all()}
    report = await (await upload(client, token, "catalogue.xlsx", data)).json()
    assert report["rejected"] == [] and report["updated"] == exported_rows
    after = {i.code: (i.name, i.materials, i.steps, i.faq, i.committed_days) for i in await ServiceItem.all()}
    assert after == before
    assert await AuditEntry.filter(action="service_items_exported").exists()
