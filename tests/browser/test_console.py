"""The staff console as its users see it, driven in headless Chromium.

Each test logs in through the login form, acts through the UI, and asserts on what
is on screen; where the console claims to have saved something, the API is asked
too, so a UI that merely *looks* saved cannot pass.
"""

from __future__ import annotations

import re
import uuid

import pytest

pytestmark = pytest.mark.browser

WRITABLE = ("code", "name", "item_type", "department", "implementing_body", "legal_basis", "summary",
            "keywords", "materials", "steps", "statutory_days", "committed_days", "fees",
            "online_available", "online_url", "offline_location", "stage", "faq")


def write_payload(read: dict) -> dict:
    """ServiceItemRead -> ServiceItemWrite (department is an object in the read shape)."""
    body = {k: read[k] for k in WRITABLE if k != "department"}
    body["department"] = read["department"]["code"]
    return body


def menu_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=menu] .el-menu-item").all_inner_texts()]


def table_rows(page, testid: str):
    return page.locator(f"[data-testid={testid}] .el-table__body-wrapper tr.el-table__row")


def search_items(page, text: str) -> None:
    box = page.get_by_test_id("item-search")
    box.fill(text)
    with page.expect_response(lambda r: "/api/v1/service-items?" in r.url and r.status == 200):
        box.press("Enter")


@pytest.mark.browser
def test_sysadmin_edits_an_item_and_sees_the_change(page, live_server, api, login_as, artifacts):
    login_as("sysadmin")
    expect_header(page, "系统管理员")
    page.get_by_test_id("menu-items").click()
    page.get_by_test_id("items-page").wait_for()

    search_items(page, "营业执照")
    rows = table_rows(page, "items-table")
    target = rows.filter(has_text="企业设立登记").first
    target.wait_for()
    assert "行政许可" in target.inner_text()

    # Open 编辑 and learn the item's id and current values from what the dialog loads.
    with page.expect_response(lambda r: re.search(r"/api/v1/service-items/\d+$", r.url) is not None) as info:
        target.get_by_test_id("item-edit").click()
    before = info.value.json()
    item_id = before["id"]
    dialog = page.get_by_test_id("item-dialog")
    name_input = dialog.get_by_test_id("field-name")
    name_input.wait_for()
    page.wait_for_function("() => document.querySelector('[data-testid=field-name]').value.length > 0")
    assert name_input.input_value() == before["name"]

    new_name = before["name"] + "（控制台测试）"
    statutory = before["statutory_days"]
    new_committed = before["committed_days"] + 1 if before["committed_days"] < statutory else max(statutory - 1, 0)
    name_input.fill(new_name)
    committed = dialog.locator("[data-testid=field-committed_days] input")
    committed.fill(str(new_committed))
    committed.press("Tab")  # el-input-number commits its value on change (blur)

    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/service-items/{item_id}")
                              and r.request.method == "PUT") as saved:
        page.get_by_test_id("item-save").click()
    assert saved.value.status == 200, saved.value.text()
    page.locator(".el-message--success", has_text="事项已保存").wait_for()
    page.get_by_test_id("item-dialog").wait_for(state="hidden")

    # A new search shows the new name and the new committed time limit.
    search_items(page, "营业执照")
    changed = table_rows(page, "items-table").filter(has_text=new_name)
    changed.wait_for()
    days = changed.get_by_test_id("item-days").inner_text()
    expected_committed = "即办" if new_committed == 0 else f"{new_committed} 个工作日"
    assert days.startswith(expected_committed), days

    status, after = api.call("GET", f"/api/v1/service-items/{item_id}")
    assert status == 200
    assert after["name"] == new_name
    assert after["committed_days"] == new_committed
    # Fields the test did not touch survive the round trip through the form.
    for key in ("materials", "steps", "faq", "keywords", "statutory_days", "online_url", "stage"):
        assert after[key] == before[key], key

    page.screenshot(path=str(artifacts / "console-edit.png"), full_page=True)


@pytest.mark.browser
def test_edit_shows_field_errors_from_the_server(page, api, login_as):
    login_as("sysadmin")
    page.get_by_test_id("menu-items").click()
    search_items(page, "个体工商户")
    row = table_rows(page, "items-table").filter(has_text="个体工商户").first
    with page.expect_response(lambda r: re.search(r"/api/v1/service-items/\d+$", r.url) is not None) as info:
        row.get_by_test_id("item-edit").click()
    before = info.value.json()
    dialog = page.get_by_test_id("item-dialog")
    page.wait_for_function("() => document.querySelector('[data-testid=field-name]').value.length > 0")
    dialog.get_by_test_id("field-name").fill("个")  # the API wants at least 2 characters
    dialog.get_by_test_id("field-online_url").fill("不是网址")
    with page.expect_response(lambda r: r.request.method == "PUT") as saved:
        page.get_by_test_id("item-save").click()
    assert saved.value.status == 422
    name_item = dialog.locator(".el-form-item", has=page.get_by_test_id("field-name"))
    assert "长度不能少于 2 个字符" in name_item.locator(".el-form-item__error").inner_text()
    url_item = dialog.locator(".el-form-item", has=page.get_by_test_id("field-online_url"))
    assert "格式不正确" in url_item.locator(".el-form-item__error").inner_text()
    assert dialog.is_visible()  # still open for correcting

    _, after = api.call("GET", f"/api/v1/service-items/{before['id']}")
    assert after["name"] == before["name"]


@pytest.mark.browser
def test_sysadmin_creates_then_retires_an_item(page, api, login_as):
    code = f"TEST-NEW-{uuid.uuid4().hex[:6].upper()}"
    name = f"控制台新增测试事项{code[-4:]}"
    login_as("sysadmin")
    page.get_by_test_id("menu-items").click()
    page.get_by_test_id("item-create").click()
    dialog = page.get_by_test_id("item-dialog")
    dialog.get_by_test_id("field-code").fill(code)
    dialog.get_by_test_id("field-name").fill(name)
    dialog.get_by_test_id("field-department").click()
    page.locator(".el-select-dropdown__item:visible", has_text="税务局").click()
    dialog.locator(".el-radio-button", has_text="经营").click()
    statutory = dialog.locator("[data-testid=field-statutory_days] input")
    statutory.fill("5")
    statutory.press("Tab")
    dialog.locator(".el-tabs__item", has_text="办理要件").click()
    dialog.get_by_test_id("material-add").click()
    dialog.get_by_test_id("material-name").last.fill("营业执照复印件")
    dialog.locator(".el-tabs__item", has_text="常见问题").click()
    dialog.get_by_test_id("faq-add").click()
    dialog.get_by_test_id("faq-q").last.fill("要多久？")
    dialog.locator("textarea[placeholder='回答']").last.fill("材料齐全的，5 个工作日内办结。")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/service-items") and r.request.method == "POST") as created:
        page.get_by_test_id("item-save").click()
    assert created.value.status == 201, created.value.text()
    item = created.value.json()
    assert item["department"]["code"] == "SW" and item["stage"] == "operate"
    assert item["materials"][0]["name"] == "营业执照复印件"
    assert item["faq"] == [{"q": "要多久？", "a": "材料齐全的，5 个工作日内办结。"}]

    search_items(page, name)
    row = table_rows(page, "items-table").filter(has_text=name).first
    assert "税务局" in row.inner_text() and "经营" in row.inner_text()

    row.get_by_test_id("item-retire").click()
    with page.expect_response(lambda r: r.request.method == "DELETE") as retired:
        page.locator(".el-message-box__btns button", has_text="确定下架").click()
    assert retired.value.status == 204
    page.locator(".el-message--success", has_text="事项已下架").wait_for()
    table_rows(page, "items-table").filter(has_text=name).first.wait_for(state="detached")
    status, _ = api.call("GET", f"/api/v1/service-items/{item['id']}")
    assert status == 404


@pytest.mark.browser
def test_auditor_sees_only_the_audit_log(page, live_server, api, login_as, artifacts):
    # Make sure the log holds a sysadmin's 修改事项 whatever order the tests run in.
    token = api.login("sysadmin")
    status, read = api.call("GET", "/api/v1/service-items/2")
    assert status == 200
    status, body = api.call("PUT", "/api/v1/service-items/2", token=token, body=write_payload(read))
    assert status == 200, body

    login_as("auditor")
    expect_header(page, "安全审计员")
    assert menu_labels(page) == ["首页", "审计日志"]
    assert page.get_by_test_id("menu-items").count() == 0
    assert page.get_by_test_id("menu-accounts").count() == 0

    page.get_by_test_id("menu-audit").click()
    page.get_by_test_id("audit-page").wait_for()
    rows = table_rows(page, "audit-table")
    edit = rows.filter(has_text="修改事项").filter(has_text="系统管理员").first
    edit.wait_for()
    assert "成功" in edit.inner_text()
    assert "事项 2" in edit.inner_text()

    # Filter by action: only 修改事项 rows remain.
    page.get_by_test_id("audit-filter-action").click()
    with page.expect_response(lambda r: "/api/v1/audit-log?" in r.url and "action=service_item_updated" in r.url):
        page.locator(".el-select-dropdown__item:visible", has_text="修改事项").click()
    page.wait_for_timeout(200)
    actions = page.locator("[data-testid=audit-table] [data-testid=audit-action]").all_inner_texts()
    assert actions and set(actions) == {"修改事项"}
    page.screenshot(path=str(artifacts / "console-audit.png"), full_page=True)

    # 三员分立 holds for typed addresses too: the catalogue page is refused.
    page.goto(f"{live_server}/console/#/items")
    page.locator(".el-message", has_text="无权访问").wait_for()
    page.get_by_test_id("home-page").wait_for()
    assert page.get_by_test_id("items-page").count() == 0


@pytest.mark.browser
def test_wrong_password_shows_the_chinese_error(page, submit_login):
    # Not sysadmin: failed attempts count towards a lock-out the other tests must not hit.
    submit_login("consultant", "not-the-password")
    error = page.get_by_test_id("login-error")
    error.wait_for()
    assert "用户名或密码错误" in error.inner_text()
    assert page.get_by_test_id("login-page").is_visible()
    assert page.get_by_test_id("menu").count() == 0


@pytest.mark.browser
def test_home_renders_the_charts(page, login_as, artifacts):
    login_as("policy")
    for chart in ("chart-department", "chart-stage", "chart-online"):
        page.locator(f"[data-testid={chart}] canvas").first.wait_for()
    total = page.get_by_test_id("stat-total").inner_text()
    assert int(total.split()[0]) > 0, total
    page.wait_for_timeout(700)  # let the ECharts entry animation finish before the picture
    page.screenshot(path=str(artifacts / "console-home.png"), full_page=True)


@pytest.mark.browser
def test_import_reports_created_and_rejected_rows(page, live_server, login_as, tmp_path):
    code = f"TEST-IMP-{uuid.uuid4().hex[:8].upper()}"
    name = f"控制台导入测试事项{code[-4:]}"
    csv_file = tmp_path / "导入测试.csv"
    csv_file.write_text(
        "事项编码,事项名称,事项类型,部门编码,法定时限,承诺时限,可网办,生命周期,简介\n"
        f"{code},{name},公共服务,SCJG,5,2,是,经营,浏览器测试导入的事项\n"
        f"{code}-BAD,部门写错的事项,公共服务,NO_SUCH_DEPT,5,2,否,经营,部门编码不存在\n",
        encoding="utf-8")

    login_as("sysadmin")
    page.get_by_test_id("menu-items").click()
    page.get_by_test_id("items-page").wait_for()
    page.get_by_test_id("items-import").click()
    dialog = page.get_by_test_id("import-dialog")
    dialog.wait_for()
    dialog.locator("input[type=file]").set_input_files(str(csv_file))
    page.get_by_test_id("import-submit").click()

    result = page.get_by_test_id("import-result")
    result.wait_for()
    assert page.get_by_test_id("import-created").inner_text() == "1"
    assert page.get_by_test_id("import-updated").inner_text() == "0"
    assert page.get_by_test_id("import-rejected-count").inner_text() == "1"
    rejected = table_rows(page, "import-rejected-table")
    assert rejected.count() == 1
    text = rejected.first.inner_text()
    assert "3" in text.split()[0]  # sheet row number (the header is row 1)
    assert f"{code}-BAD" in text
    assert "部门编码 NO_SUCH_DEPT 不存在" in text

    # The created item is in the catalogue the table shows.
    page.keyboard.press("Escape")
    search_items(page, name)
    table_rows(page, "items-table").filter(has_text=name).first.wait_for()


@pytest.mark.browser
def test_accounts_sysadmin_creates_secadmin_unlocks_and_changes_role(page, api, login_as):
    username = f"staff_{uuid.uuid4().hex[:6]}"
    password = "Console@2026test"
    login_as("sysadmin")
    page.get_by_test_id("menu-accounts").click()
    page.get_by_test_id("account-create").click()
    page.get_by_test_id("account-username").fill(username)
    page.get_by_test_id("account-display-name").fill("测试咨询员")
    page.get_by_test_id("account-password").fill(password)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/staff") and r.request.method == "POST") as created:
        page.get_by_test_id("account-submit").click()
    assert created.value.status == 201, created.value.text()
    row = table_rows(page, "accounts-table").filter(has_text=username)
    row.wait_for()
    assert "咨询员" in row.inner_text()
    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-page").wait_for()

    # Lock the new account the way it happens: too many wrong passwords.
    for _ in range(5):
        status, _ = api.call("POST", "/api/v1/auth/staff-login", body={"username": username, "password": "wrong-pass"})
    assert status == 423

    login_as("secadmin")
    page.get_by_test_id("menu-accounts").click()
    row = table_rows(page, "accounts-table").filter(has_text=username)
    row.wait_for()
    assert "已锁定" in row.inner_text()
    row.get_by_test_id("account-unlock").click()
    page.locator(".el-message-box__btns button", has_text="解除锁定").click()
    page.locator(".el-message--success", has_text="已解锁").wait_for()
    row.get_by_test_id("account-locked").wait_for(state="detached")
    assert "正常" in row.inner_text()

    row.get_by_test_id("account-role").click()
    page.get_by_test_id("role-select").click()
    page.locator(".el-select-dropdown__item:visible", has_text="部门主管").click()
    with page.expect_response(lambda r: r.url.endswith("/role") and r.request.method == "PUT") as changed:
        page.get_by_test_id("role-submit").click()
    assert changed.value.status == 200, changed.value.text()
    table_rows(page, "accounts-table").filter(has_text=username).filter(has_text="部门主管").wait_for()

    status, body = api.call("POST", "/api/v1/auth/staff-login", body={"username": username, "password": password})
    assert status == 200, body
    assert body["user"]["role"] == "supervisor"


ROLE_VIEWS = [
    # username, role label, menu, can edit items, can export
    ("sysadmin", "系统管理员", ["首页", "事项管理", "账号管理"], True, True),
    ("secadmin", "安全管理员", ["首页", "账号管理"], False, False),
    ("policy", "政策专员", ["首页", "事项管理", "惠企政策", "需求洞察", "流程再造"], False, True),
    ("consultant", "咨询员", ["首页", "工作台", "事项管理", "惠企政策"], False, False),
]


@pytest.mark.browser
@pytest.mark.parametrize(("username", "label", "menu", "edits", "exports"), ROLE_VIEWS,
                         ids=[r[0] for r in ROLE_VIEWS])
def test_menu_and_actions_follow_the_role(page, login_as, username, label, menu, edits, exports):
    login_as(username)
    expect_header(page, label)
    assert menu_labels(page) == menu
    if "事项管理" in menu:
        page.get_by_test_id("menu-items").click()
        table_rows(page, "items-table").first.wait_for()
        assert (page.get_by_test_id("item-edit").count() > 0) is edits
        assert (page.get_by_test_id("item-create").count() > 0) is edits
        assert (page.get_by_test_id("items-import").count() > 0) is edits
        assert (page.get_by_test_id("items-export").count() > 0) is exports
    if "账号管理" in menu:
        page.get_by_test_id("menu-accounts").click()
        table_rows(page, "accounts-table").first.wait_for()
        assert (page.get_by_test_id("account-create").count() > 0) is (username == "sysadmin")
        assert (page.get_by_test_id("account-role").count() > 0) is (username == "secadmin")
    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-page").wait_for()


@pytest.mark.browser
def test_policy_officer_exports_the_catalogue(page, login_as):
    login_as("policy")
    page.get_by_test_id("menu-items").click()
    page.get_by_test_id("items-page").wait_for()
    with page.expect_download() as info:
        page.get_by_test_id("items-export").click()
    download = info.value
    assert download.suggested_filename == "事项目录.xlsx"
    with open(download.path(), "rb") as fh:
        assert fh.read(2) == b"PK"  # an XLSX is a zip archive


@pytest.mark.browser
def test_expired_session_returns_to_login(page, live_server, api, login_as):
    login_as("consultant")
    # The home page's own requests finish first: one still out when the token goes would
    # take the console back to the login page before the click below, which then waits
    # for a menu that is gone (seen once in CI).
    page.wait_for_load_state("networkidle")
    # Revoke the console's token behind its back, as an idle timeout would.
    token = page.evaluate("() => sessionStorage.getItem('sz.console.token')")
    status, _ = api.call("POST", "/api/v1/auth/logout", token=token)
    assert status == 204
    page.get_by_test_id("menu-items").click()
    page.get_by_test_id("login-page").wait_for()
    assert "重新登录" in page.get_by_test_id("login-notice").inner_text()


def expect_header(page, role_label: str) -> None:
    assert page.get_by_test_id("header-role").inner_text().strip() == role_label
    assert page.get_by_test_id("header-user").inner_text().strip()
