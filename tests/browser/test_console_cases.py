"""咨询办理 in the staff console: the consultant's workbench and case page, and the
supervisor's 督办 page. Cases are created through the API as an enterprise would
(WeChat sandbox login, registration, asking); the console is then driven like a
person would, and the enterprise's own API view is asked afterwards, so a screen that
only *looks* right cannot pass (the internal note in particular must never reach them).
"""

from __future__ import annotations

import random
import uuid

import pytest
from playwright.sync_api import expect

from services.enterprises.credit_code import check_character
from services.seed import DEMO_PASSWORD as STAFF_PASSWORD  # so login_as() works for new staff too

pytestmark = pytest.mark.browser

TAX_QUESTION = "我们是小规模纳税人，季度销售额不高，增值税免税怎么申报？需要准备什么材料？"


def table_rows(page, testid: str):
    return page.locator(f"[data-testid={testid}] .el-table__body-wrapper tr.el-table__row")


def menu_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=menu] .el-menu-item").all_inner_texts()]


def new_owner(api, name: str) -> tuple[str, dict]:
    """A business owner as the mini-program makes one: sandbox WeChat login, then 企业认证."""
    status, body = api.call("POST", "/api/v1/auth/wechat-login", body={"code": f"sandbox-case{uuid.uuid4().hex[:10]}"})
    assert status == 200, body
    token = body["token"]
    first17 = f"91440305MA5{random.randrange(10**6):06d}"
    status, enterprise = api.call("POST", "/api/v1/enterprises", token=token, body={
        "credit_code": first17 + check_character(first17), "name": f"深圳市{name}科技有限公司{uuid.uuid4().hex[:4]}",
        "industry_code": "65", "region_code": "440305", "employees": 6, "revenue": 180, "founded_on": "2021-04-16",
        "contact_phone": "13826540917"})
    assert status == 201, enterprise
    return token, enterprise


def ask(api, token: str, content: str, **extra) -> dict:
    status, case = api.call("POST", "/api/v1/consultations", token=token, body={"content": content, **extra})
    assert status == 201, case
    return case


def make_staff(api, username: str, role: str, name: str, department: str) -> None:
    """A staff account made the way production makes one: by the system admin."""
    status, body = api.call("POST", "/api/v1/staff", token=api.login("sysadmin"), body={
        "username": username, "password": STAFF_PASSWORD, "role": role, "display_name": name,
        "department_code": department})
    assert status == 201, body


def open_workbench(page) -> None:
    page.get_by_test_id("menu-cases").click()
    page.get_by_test_id("workbench-page").wait_for()


def case_row(page, case_id: int):
    return table_rows(page, "cases-table").filter(has_text=f"#{case_id}")


def test_consultant_answers_a_case_end_to_end(page, api, login_as, artifacts):
    token, enterprise = new_owner(api, "答复")
    case = ask(api, token, TAX_QUESTION)
    assert case["status"] == "assigned" and case["department"]["code"] == "SW"

    login_as("taxconsultant")
    assert "工作台" in menu_labels(page) and "督办" not in menu_labels(page)
    open_workbench(page)
    # 我的待办 is the first tab: the new case is there, with the time it has left.
    row = case_row(page, case["id"])
    row.wait_for()
    assert enterprise["name"] in row.inner_text()
    assert row.get_by_test_id("case-row-status").inner_text() == "办理中"
    assert row.get_by_test_id("case-row-time").inner_text().startswith("剩余")
    page.screenshot(path=str(artifacts / "console-workbench.png"), full_page=True)

    row.get_by_test_id("case-open").click()
    page.get_by_test_id("case-page").wait_for()
    assert page.url.endswith(f"#/cases/{case['id']}")
    assert page.get_by_test_id("case-content").inner_text() == TAX_QUESTION
    assert page.get_by_test_id("case-enterprise").inner_text() == enterprise["name"]
    assert page.get_by_test_id("case-department").inner_text() == case["department"]["name"]

    # The picker offers the tax department's canned answers; picking one fills the box.
    page.get_by_test_id("reply-pick").click()
    item = page.get_by_test_id("picker-item").filter(has_text="小规模纳税人增值税免税").first
    item.wait_for()
    item.click()
    text = page.get_by_test_id("reply-body").input_value()
    assert text.startswith("您好，增值税小规模纳税人月销售额不超过10万元")
    with page.expect_response(lambda r: r.url.endswith(f"/consultations/{case['id']}/messages")
                              and r.request.method == "POST") as sent:
        page.get_by_test_id("reply-send").click()
    assert sent.value.status == 200, sent.value.text()
    page.get_by_test_id("case-status").filter(has_text="已答复").wait_for()
    page.get_by_test_id("history-action").filter(has_text="答复").first.wait_for()
    page.screenshot(path=str(artifacts / "console-case-answered.png"), full_page=True)

    # The enterprise sees the answer (from 咨询服务人员, not a named consultant).
    status, seen = api.call("GET", f"/api/v1/consultations/{case['id']}", token=token)
    assert status == 200, seen
    assert seen["status"] == "answered"
    assert [m["body"] for m in seen["messages"]] == [text]
    assert seen["messages"][0]["author_name"] == "咨询服务人员"

    # Back on the workbench the answered case has left the ticking deadline behind.
    page.get_by_test_id("case-back").click()
    row = case_row(page, case["id"])
    row.wait_for()
    # the list reloads on return; wait for the fresh row rather than read the old one
    expect(row.get_by_test_id("case-row-status")).to_have_text("已答复")
    assert row.get_by_test_id("case-row-time").inner_text() == "期限内已处理"


def test_internal_note_is_marked_and_never_reaches_the_enterprise(page, api, login_as, live_server, artifacts):
    token, _ = new_owner(api, "备注")
    case = ask(api, token, "新办的公司，发票怎么申领？需要去税务局窗口吗？")
    note = f"企业为新办纳税人，先核实税务信息确认情况 {uuid.uuid4().hex[:6]}"

    login_as("taxconsultant")
    # Staff notices link straight to the case page.
    page.goto(f"{live_server}/console/#/cases/{case['id']}")
    page.get_by_test_id("case-page").wait_for()
    page.get_by_test_id("reply-internal").click()
    assert page.get_by_test_id("reply-send").inner_text() == "保存内部备注"
    page.get_by_test_id("reply-body").fill(note)
    page.get_by_test_id("reply-send").click()
    message = page.get_by_test_id("case-message").filter(has_text=note)
    message.wait_for()
    assert message.get_by_test_id("msg-internal").inner_text() == "内部备注"
    assert "仅工作人员可见" in message.inner_text()
    # A note answers nothing: the case is still being handled.
    assert page.get_by_test_id("case-status").inner_text() == "办理中"
    assert page.get_by_test_id("reply-send").inner_text() == "发送答复"
    page.screenshot(path=str(artifacts / "console-case-note.png"), full_page=True)

    status, seen = api.call("GET", f"/api/v1/consultations/{case['id']}", token=token)
    assert status == 200 and seen["status"] == "assigned"
    assert seen["messages"] == []
    assert note not in str(seen)
    # Staff see it, flagged internal.
    staff = api.login("taxconsultant")
    _, full = api.call("GET", f"/api/v1/consultations/{case['id']}", token=staff)
    assert [(m["body"], m["internal"]) for m in full["messages"]] == [(note, True)]


def test_supervisor_releases_held_content_and_dispatches_an_unassigned_case(page, api, login_as, artifacts):
    # 住房公积金 has no consultant yet: its cases wait in the department queue.
    token, _ = new_owner(api, "督办")
    held = ask(api, token, "公积金缴存基数调整太慢了，我要投诉举报窗口人员", kind="complaint")
    assert held["moderation"] == "held" and held["status"] == "new"
    waiting = ask(api, token, "新公司第一次给员工缴存住房公积金，缴存比例怎么定？")
    assert waiting["status"] == "new" and waiting["department"]["code"] == "GJJ" and waiting["assignee"] is None
    # Then the department gets its staff, as the system admin creates them.
    make_staff(api, "gjjconsultant", "consultant", "公积金咨询员小吴", "GJJ")
    make_staff(api, "gjjsupervisor", "supervisor", "公积金主管", "GJJ")

    login_as("gjjsupervisor")
    assert menu_labels(page)[:3] == ["首页", "工作台", "督办"]
    page.get_by_test_id("menu-supervision").click()
    page.get_by_test_id("supervision-page").wait_for()
    page.get_by_test_id("chart-workload").locator("canvas").first.wait_for()
    assert int(page.get_by_test_id("stat-held").locator(".stat-num").inner_text()) >= 1
    page.screenshot(path=str(artifacts / "console-supervision.png"), full_page=True)

    # 内容审核: release the held complaint; it is dispatched at once.
    page.get_by_test_id("tab-moderation").click()
    row = table_rows(page, "moderation-table").filter(has_text=f"#{held['id']}")
    row.wait_for()
    with page.expect_response(lambda r: r.url.endswith(f"/moderation/consultations/{held['id']}/release")) as rel:
        row.get_by_test_id("moderation-release").click()
    assert rel.value.status == 200, rel.value.text()
    row.wait_for(state="detached")
    boss = api.login("gjjsupervisor", STAFF_PASSWORD)
    status, seen = api.call("GET", f"/api/v1/consultations/{held['id']}", token=boss)
    assert status == 200 and seen["moderation"] == "released" and seen["status"] == "assigned", seen
    assert seen["assignee"]["name"] == "公积金咨询员小吴"

    # 待派单: the waiting case, assigned in the dialog that shows each consultant's load.
    page.get_by_test_id("tab-dispatch").click()
    row = table_rows(page, "dispatch-table").filter(has_text=f"#{waiting['id']}")
    row.wait_for()
    row.get_by_test_id("dispatch-assign").click()
    dialog = page.get_by_test_id("assign-dialog")
    choice = table_rows(page, "assign-consultants").filter(has_text="公积金咨询员小吴")
    choice.wait_for()
    # The released complaint is already theirs.
    assert choice.get_by_test_id("assign-open-count").inner_text() == "1"
    choice.click()
    page.screenshot(path=str(artifacts / "console-assign.png"), full_page=True)
    with page.expect_response(lambda r: r.url.endswith(f"/consultations/{waiting['id']}/assign")) as assigned:
        page.get_by_test_id("assign-submit").click()
    assert assigned.value.status == 200, assigned.value.text()
    dialog.wait_for(state="hidden")
    row.wait_for(state="detached")
    status, seen = api.call("GET", f"/api/v1/consultations/{waiting['id']}", token=boss)
    assert status == 200 and seen["status"] == "assigned" and seen["assignee"]["name"] == "公积金咨询员小吴", seen
    assert seen["events"][-1]["action"] == "assign"


def test_consultant_claims_a_case_from_the_department_queue(page, api, login_as):
    # 医疗保险 has no consultant when the question arrives; the first one claims it.
    token, _ = new_owner(api, "认领")
    case = ask(api, token, "员工医保卡怎么办理？生育保险待遇怎么申请？")
    assert case["department"]["code"] == "YB" and case["status"] == "new"
    make_staff(api, "ybconsultant", "consultant", "医保咨询员小孙", "YB")

    login_as("ybconsultant")
    open_workbench(page)
    page.get_by_test_id("tab-unclaimed").click()
    row = case_row(page, case["id"])
    row.wait_for()
    assert row.get_by_test_id("case-row-status").inner_text() == "待派单"
    row.get_by_test_id("case-claim").click()
    page.locator(".el-message--success", has_text=f"已认领 #{case['id']}").wait_for()
    row.wait_for(state="detached")
    page.get_by_test_id("tab-mine").click()
    case_row(page, case["id"]).get_by_test_id("case-row-status").filter(has_text="办理中").wait_for()
    status, seen = api.call("GET", f"/api/v1/consultations/{case['id']}", token=api.login("ybconsultant", STAFF_PASSWORD))
    assert status == 200 and seen["status"] == "assigned" and seen["assignee"]["name"] == "医保咨询员小孙"


def test_consultant_records_a_phone_call_and_sees_the_suggested_classification(page, api, login_as):
    token, enterprise = new_owner(api, "来电")
    login_as("taxconsultant")
    open_workbench(page)
    page.get_by_test_id("intake-open").click()
    dialog = page.get_by_test_id("intake-dialog")
    dialog.get_by_text("按统一社会信用代码").click()
    page.get_by_test_id("intake-credit-code").fill(enterprise["credit_code"])
    page.get_by_test_id("intake-contact").fill("王会计")
    page.get_by_test_id("intake-content").fill("来电咨询：小规模纳税人开具增值税发票后怎么申报？")
    with page.expect_response(lambda r: r.url.endswith("/consultations/offline")) as created:
        page.get_by_test_id("intake-submit").click()
    assert created.value.status == 201, created.value.text()
    assert created.value.request.headers["idempotency-key"].startswith("console-")
    case = created.value.json()
    page.get_by_test_id("case-page").wait_for()
    assert page.url.endswith(f"#/cases/{case['id']}")
    meta = page.get_by_test_id("case-meta").inner_text()
    assert "电话" in meta and "王会计" in meta and "税务咨询员小赵 登记" in meta

    page.get_by_test_id("act-correct").click()
    suggestion = page.get_by_test_id("classify-suggestion")
    suggestion.wait_for()
    assert "系统建议" in suggestion.inner_text() and "主题：税费缴纳" in suggestion.inner_text()
    # The enterprise finds the call in its own list, recorded as a phone case.
    status, mine = api.call("GET", "/api/v1/consultations", token=token)
    assert status == 200 and [(c["id"], c["channel"]) for c in mine["items"]] == [(case["id"], "phone")]


def test_supervisor_records_a_call_back_after_a_poor_rating(page, api, login_as):
    token, enterprise = new_owner(api, "回访")
    case = ask(api, token, "个体工商户营业执照经营范围想增加一项，网上怎么办理变更登记？")
    assert case["department"]["code"] == "SCJG"
    _, staff_view = api.call("GET", f"/api/v1/consultations/{case['id']}", token=api.login("supervisor"))
    holder = {"咨询员小李": "consultant", "咨询员小陈": "consultant2"}[staff_view["assignee"]["name"]]
    status, _ = api.call("POST", f"/api/v1/consultations/{case['id']}/messages", token=api.login(holder),
                         body={"body": "您好，请登录广东政务服务网办理变更登记。"})
    assert status == 200
    status, body = api.call("POST", f"/api/v1/consultations/{case['id']}/resolve", token=token, body={})
    assert status == 200, body
    status, body = api.call("PUT", f"/api/v1/consultations/{case['id']}/rating", token=token,
                            body={"score": 2, "comment": "答复太简单"})
    assert status == 200, body

    login_as("supervisor")
    page.get_by_test_id("menu-supervision").click()
    page.get_by_test_id("supervision-page").wait_for()
    page.get_by_test_id("tab-callbacks").click()
    row = table_rows(page, "callbacks-table").filter(has_text=f"#{case['id']}")
    row.wait_for()
    assert enterprise["name"] in row.inner_text() and "2 分" in row.inner_text()
    row.get_by_test_id("callback-record").click()
    page.get_by_test_id("callback-outcome").get_by_text("不满意").click()
    page.get_by_test_id("callback-notes").fill("企业希望答复写明具体操作步骤")
    with page.expect_response(lambda r: "/api/v1/callbacks/" in r.url and r.request.method == "POST") as saved:
        page.get_by_test_id("callback-submit").click()
    assert saved.value.status == 200, saved.value.text()
    row.wait_for(state="detached")  # it left 待回访
    done = saved.value.json()
    assert done["status"] == "done" and done["outcome"] == "dissatisfied"

    # The poor rating opened a rectification for the department.
    page.get_by_test_id("tab-rectifications").click()
    rect = table_rows(page, "rects-table").filter(has_text=f"#{case['id']}")
    rect.wait_for()
    assert "2 分" in rect.inner_text()
    assert rect.get_by_test_id("rect-evidence").count() == 1
