"""惠企政策 in the staff console: drafting with the rule editor and its live match
count, cross review by a second officer, publishing, and the push figures.

As in test_console.py, the UI is driven like a person would and the API is asked
afterwards, so a screen that only *looks* right cannot pass.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.browser

SECOND_OFFICER = "policy2"
SECOND_PASSWORD = "Policy2@2026zone"


def table_rows(page, testid: str):
    return page.locator(f"[data-testid={testid}] .el-table__body-wrapper tr.el-table__row")


def menu_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=menu] .el-menu-item").all_inner_texts()]


@pytest.fixture(scope="module")
def second_officer(api) -> str:
    """A second policy officer: the author of a policy may not approve it, so the
    review needs someone else. Created the way it happens in production, by the
    system admin through the staff API."""
    token = api.login("sysadmin")
    status, body = api.call("POST", "/api/v1/staff", token=token, body={
        "username": SECOND_OFFICER, "password": SECOND_PASSWORD, "role": "policy_officer",
        "display_name": "政策专员小李"})
    assert status in (201, 409), body  # 409: another module already made it
    return SECOND_OFFICER


def make_policy(api, title: str, *, submit: bool = True, approve: bool = False, **extra) -> dict:
    """A policy written by ``policy`` through the API; reviewed by ``policy2`` if asked."""
    author = api.login("policy")
    body = {"title": title, "doc_number": "深人社规〔2026〕3号", "department": "RS", "policy_type": "subsidy",
            "summary": "成立不满 5 年的小微企业吸纳就业可领取补贴。", "effective_on": "2026-01-01",
            "rules": {"size_classes": ["small", "micro"], "age_years": {"max": 5}}, **extra}
    status, policy = api.call("POST", "/api/v1/policies", token=author, body=body)
    assert status == 201, policy
    if submit:
        status, policy = api.call("POST", f"/api/v1/policies/{policy['id']}/submit", token=author)
        assert status == 200, policy
    if approve:
        reviewer = api.login(SECOND_OFFICER, SECOND_PASSWORD)
        status, policy = api.call("POST", f"/api/v1/policies/{policy['id']}/approve", token=reviewer)
        assert status == 200, policy
    return policy


@pytest.fixture(scope="module")
def published_policy(api, second_officer) -> dict:
    """A published 免申即享 policy, for the tests that read rather than write."""
    return make_policy(api, f"创业带动就业补贴（只读测试 {uuid.uuid4().hex[:6]}）", approve=True,
                       no_application=True)


def open_policies(page) -> None:
    page.get_by_test_id("menu-policies").click()
    page.get_by_test_id("policies-page").wait_for()


def match_count(page) -> int:
    text = page.get_by_test_id("match-count").inner_text().strip()
    return int(text) if text.isdigit() else -1


def wait_for_count(page, predicate, what: str) -> int:
    """The preview is debounced and asynchronous: poll the number on screen."""
    for _ in range(100):
        n = match_count(page)
        if n >= 0 and predicate(n):
            return n
        page.wait_for_timeout(100)
    pytest.fail(f"match count never {what}; last shown: {page.get_by_test_id('match-preview').inner_text()!r}")


def pick(page, testid: str, option: str) -> None:
    page.get_by_test_id(testid).click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def expected_figures(figures: dict) -> dict:
    out = {k: figures[k] for k in ("matched", "recipients", "read")}
    for channel, counts in figures["channels"].items():
        for status, n in counts.items():
            out[f"{channel}-{status}"] = n
    return out


def shown_figures(page, figures: dict) -> dict:
    out = {k: int(page.get_by_test_id(f"campaign-{k}").inner_text()) for k in ("matched", "recipients", "read")}
    for channel, counts in figures["channels"].items():
        for status in counts:
            out[f"{channel}-{status}"] = int(page.get_by_test_id(f"campaign-{channel}-{status}").inner_text())
    return out


def login_with(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server}/console/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("home-page").wait_for()


@pytest.mark.browser
def test_officer_drafts_submits_and_a_second_officer_publishes(page, live_server, api, login_as, artifacts,
                                                               second_officer):
    title = f"小微企业稳岗补贴（控制台测试 {uuid.uuid4().hex[:6]}）"
    login_as("policy")
    open_policies(page)
    page.get_by_test_id("policy-create").click()
    dialog = page.get_by_test_id("policy-dialog")
    dialog.get_by_test_id("policy-title").fill(title)
    dialog.get_by_test_id("policy-doc-number").fill("深南府办〔2026〕12号")
    pick(page, "policy-department", "人力资源")
    dialog.locator(".el-form-item", has=page.get_by_test_id("policy-department")).filter(
        has_text="人力资源和社会保障局").wait_for()
    dialog.get_by_test_id("policy-summary").fill("小型、微型企业按参保人数领取稳岗补贴。")

    # The live count before any condition is every enterprise on record.
    dialog.get_by_test_id("policy-tab-rules").click()
    everyone = wait_for_count(page, lambda n: n > 0, "positive")

    # Narrowing the size classes to 微型 only narrows the count, without saving anything
    # (the demo enterprises are small and micro ones).
    with page.expect_response(lambda r: "match-preview" in r.url) as first:
        dialog.get_by_test_id("rule-size-micro").click()
    assert first.value.status == 200, first.value.text()
    narrowed = wait_for_count(page, lambda n: n < everyone, f"below {everyone}")
    assert 0 < narrowed < everyone
    # The number shown is the server's answer for exactly these rules.
    token = api.login("policy")
    status, preview = api.call("POST", "/api/v1/policies/match-preview", token=token,
                               body={"rules": {"size_classes": ["micro"]}})
    assert status == 200, preview
    assert preview["count"] == narrowed
    assert "企业规模：微型" in page.get_by_test_id("match-preview").inner_text()
    page.screenshot(path=str(artifacts / "console-policy-editor.png"))

    with page.expect_response(lambda r: r.url.endswith("/submit")) as submitted:
        with page.expect_response(lambda r: r.url.endswith("/api/v1/policies")
                                  and r.request.method == "POST") as created:
            page.get_by_test_id("policy-save-submit").click()
        assert created.value.status == 201, created.value.text()
    assert submitted.value.status == 200, submitted.value.text()
    policy = created.value.json()
    pid = policy["id"]
    # The read model spells absent conditions as null.
    assert {k: v for k, v in policy["rules"].items() if v is not None} == {"size_classes": ["micro"]}
    page.locator(".el-message--success", has_text="已提交审核").wait_for()

    # The author finds it in the review queue but may not approve it: the server says why.
    page.get_by_test_id("policy-view-review").click()
    row = table_rows(page, "policies-table").filter(has_text=title)
    row.wait_for()
    assert "待审核" in row.inner_text()
    row.get_by_test_id("policy-approve").click()
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/policies/{pid}/approve")) as refused:
        page.locator(".el-message-box__btns button", has_text="通过并发布").click()
    assert refused.value.status == 403, refused.value.text()
    message = refused.value.json()["error"]["message"]
    page.locator(".el-message--error", has_text=message).wait_for()
    _, still = api.call("GET", f"/api/v1/policies/{pid}", token=token)
    assert still["status"] == "in_review"

    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-page").wait_for()

    # A second officer approves: the policy is published and pushed.
    login_with(page, live_server, second_officer, SECOND_PASSWORD)
    open_policies(page)
    page.get_by_test_id("policy-view-review").click()
    row = table_rows(page, "policies-table").filter(has_text=title)
    row.wait_for()
    row.get_by_test_id("policy-approve").click()
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/policies/{pid}/approve")) as approved:
        page.locator(".el-message-box__btns button", has_text="通过并发布").click()
    assert approved.value.status == 200, approved.value.text()
    page.locator(".el-message--success", has_text="已发布").wait_for()
    _, published = api.call("GET", f"/api/v1/policies/{pid}", token=token)
    assert published["status"] == "published"

    # The publish result is the push it started: the console opens its figures at once.
    detail = page.get_by_test_id("policy-detail")
    detail.get_by_test_id("detail-status").filter(has_text="已发布").wait_for()
    assert detail.get_by_test_id("detail-title").inner_text() == title
    campaign = page.get_by_test_id("policy-campaign")
    campaign.locator("[data-testid=campaign-chart] canvas").first.wait_for()
    if page.get_by_test_id("campaign-live").count():
        # Deliveries still on their way: the console asks again by itself.
        with page.expect_response(lambda r: r.url.endswith(f"/api/v1/policies/{pid}/campaign"), timeout=8_000):
            pass
    # What is on screen is what the API reports (polled: the push may still be moving).
    for _ in range(60):
        _, figures = api.call("GET", f"/api/v1/policies/{pid}/campaign", token=token)
        if shown_figures(page, figures) == expected_figures(figures):
            break
        page.wait_for_timeout(500)
    assert shown_figures(page, figures) == expected_figures(figures)
    assert figures["matched"] > 0
    assert set(figures["channels"]) >= {"subscribe"}
    # The picture without the 已发布 toast over the title, after the chart's entry animation.
    page.locator(".el-message").first.wait_for(state="detached", timeout=10_000)
    page.wait_for_timeout(700)
    page.screenshot(path=str(artifacts / "console-policy-campaign.png"))


@pytest.mark.browser
def test_reviewer_returns_a_draft_and_the_author_revises_it(page, live_server, api, login_as, second_officer):
    policy = make_policy(api, f"退回测试政策 {uuid.uuid4().hex[:6]}")
    reason = "补贴标准未写明，请补充每人每月金额"
    login_with(page, live_server, second_officer, SECOND_PASSWORD)
    open_policies(page)
    page.get_by_test_id("policy-view-review").click()
    row = table_rows(page, "policies-table").filter(has_text=policy["title"])
    row.get_by_test_id("policy-reject").click()
    page.locator(".el-message-box textarea").fill(reason)
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/policies/{policy['id']}/reject")) as rejected:
        page.locator(".el-message-box__btns button", has_text="退回").click()
    assert rejected.value.status == 200, rejected.value.text()
    page.locator(".el-message--success", has_text="已退回").wait_for()
    row.wait_for(state="detached")  # gone from the queue
    page.get_by_test_id("logout").click()

    # The author finds the draft again, with the reviewer's words, and revises it.
    login_as("policy")
    open_policies(page)
    row = table_rows(page, "policies-table").filter(has_text=policy["title"])
    assert "草稿" in row.inner_text()
    row.get_by_test_id("policy-edit").click()
    dialog = page.get_by_test_id("policy-dialog")
    assert reason in dialog.get_by_test_id("policy-review-comment").inner_text()
    page.wait_for_function("() => document.querySelector('[data-testid=policy-title]').value.length > 0")
    dialog.locator(".el-tabs__item", has_text="政策内容").click()
    dialog.get_by_test_id("policy-body").fill("按参保人数每人每月补贴 300 元。")
    # Link a service item found by search (the picker asks the catalogue as one types).
    with page.expect_response(lambda r: "/api/v1/service-items?" in r.url and r.status == 200):
        dialog.get_by_test_id("policy-service-items").locator("input").fill("社保")
    option = page.locator(".el-select-dropdown__item:visible").first
    linked = option.inner_text()
    option.click()
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/policies/{policy['id']}")
                              and r.request.method == "PUT") as saved:
        page.get_by_test_id("policy-save").click()
    assert saved.value.status == 200, saved.value.text()
    after = saved.value.json()
    assert after["body"] == "按参保人数每人每月补贴 300 元。"
    assert after["status"] == "draft"
    assert [f"{i['name']}（{i['code']}）" for i in after["service_items"]] == [linked]
    # Untouched fields survive the round trip through the form.
    for key in ("title", "doc_number", "summary", "effective_on", "rules", "policy_type"):
        assert after[key] == policy[key], key


@pytest.mark.browser
def test_officer_makes_a_new_version_and_withdraws(page, api, login_as, second_officer):
    policy = make_policy(api, f"版本测试政策 {uuid.uuid4().hex[:6]}", approve=True)
    login_as("policy")
    open_policies(page)
    row = table_rows(page, "policies-table").filter(has_text=policy["title"])
    row.get_by_test_id("policy-new-version").click()
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/policies/{policy['id']}/versions")) as made:
        page.locator(".el-message-box__btns button", has_text="生成草稿").click()
    assert made.value.status == 201, made.value.text()
    draft = made.value.json()
    assert draft["version"] == 2 and draft["series_id"] == policy["series_id"]
    # The new draft opens in the editor straight away, under its version number.
    page.locator(".policy-dialog .el-dialog__title", has_text="第 2 版").wait_for()
    page.get_by_test_id("policy-dialog").get_by_test_id("policy-tab-rules").click()
    assert page.get_by_test_id("rule-size-small").locator("input").is_checked()
    page.keyboard.press("Escape")

    # Version 1 is still in force and can be withdrawn, with a reason.
    row = table_rows(page, "policies-table").filter(has_text=policy["title"]).filter(has_text="已发布")
    row.get_by_test_id("policy-view").click()
    detail = page.get_by_test_id("policy-detail")
    detail.locator(".el-tabs__item", has_text="审核与版本").click()
    versions = detail.get_by_test_id("detail-versions").inner_text()
    assert "第 1 版" in versions and "第 2 版" in versions
    detail.get_by_test_id("detail-withdraw").click()
    page.locator(".el-message-box textarea").fill("上级文件已废止")
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/policies/{policy['id']}/withdraw")) as done:
        page.locator(".el-message-box__btns button", has_text="确定撤回").click()
    assert done.value.status == 200, done.value.text()
    detail.get_by_test_id("detail-status").filter(has_text="已撤回").wait_for()
    assert "上级文件已废止" in detail.inner_text()


@pytest.mark.browser
def test_campaign_refreshes_itself_only_while_deliveries_are_pending(page, login_as, published_policy):
    """The sandbox worker settles a push within a second, too fast to watch; so the
    real figures are passed through with deliveries still "queued" on the first two
    answers, to see the console poll while they are and stop once they are not."""
    pid = published_policy["id"]
    answers: list[dict] = []

    def hold_back(route):
        response = route.fetch()
        figures = response.json()
        if len(answers) < 2:
            figures["channels"]["subscribe"]["queued"] += 3
        answers.append(figures)
        route.fulfill(response=response, json=figures)

    page.route(f"**/api/v1/policies/{pid}/campaign", hold_back)
    login_as("policy")
    open_policies(page)
    row = table_rows(page, "policies-table").filter(has_text=published_policy["title"])
    row.get_by_test_id("policy-campaign").click()
    live = page.get_by_test_id("campaign-live")
    live.wait_for()
    assert "还有 3 条待发送" in live.inner_text()
    # Two answers with pending deliveries, then the settled one ends the polling.
    page.get_by_test_id("campaign-done").wait_for(timeout=20_000)
    settled = len(answers)
    assert settled >= 3
    page.wait_for_timeout(4_000)  # longer than the refresh interval
    assert len(answers) == settled
    assert int(page.get_by_test_id("campaign-subscribe-queued").inner_text()) == \
        answers[-1]["channels"]["subscribe"]["queued"]


@pytest.mark.browser
def test_rules_nobody_can_meet_are_explained_before_saving(page, login_as):
    login_as("policy")
    open_policies(page)
    page.get_by_test_id("policy-create").click()
    dialog = page.get_by_test_id("policy-dialog")
    dialog.get_by_test_id("policy-tab-rules").click()
    wait_for_count(page, lambda n: n >= 0, "shown")
    # 从业人员 5 to 2: the server's validation message replaces the count.
    low = dialog.locator("[data-testid=rule-employees-min] input")
    high = dialog.locator("[data-testid=rule-employees-max] input")
    low.fill("5")
    low.press("Tab")
    with page.expect_response(lambda r: "match-preview" in r.url and r.status == 422):
        high.fill("2")
        high.press("Tab")
    problem = page.get_by_test_id("match-problem")
    problem.wait_for()
    assert "下限" in problem.inner_text() and "上限" in problem.inner_text()
    # And the same words sit under the input.
    field = dialog.locator(".el-form-item", has=page.get_by_test_id("rule-employees-min"))
    assert "大于上限" in field.locator(".el-form-item__error").inner_text()


@pytest.mark.browser
def test_consultant_reads_policies_without_actions(page, login_as, published_policy):
    login_as("consultant")
    assert "惠企政策" in menu_labels(page)
    open_policies(page)
    row = table_rows(page, "policies-table").filter(has_text=published_policy["title"])
    row.wait_for()
    assert "已发布" in row.inner_text()
    assert page.get_by_test_id("policy-create").count() == 0
    assert page.get_by_test_id("policy-view-review").count() == 0
    for action in ("policy-edit", "policy-submit", "policy-approve", "policy-withdraw", "policy-new-version"):
        assert page.get_by_test_id(action).count() == 0, action
    row.get_by_test_id("policy-view").click()
    detail = page.get_by_test_id("policy-detail")
    detail.get_by_test_id("detail-title").wait_for()
    assert detail.get_by_test_id("detail-title").inner_text() == published_policy["title"]
    assert detail.locator(".detail-actions").count() == 0
    # The push figures and the consent list are not a consultant's (the server agrees: 403).
    assert detail.get_by_test_id("detail-tab-campaign").count() == 0
    assert detail.get_by_test_id("detail-tab-consents").count() == 0
    detail.locator(".el-tabs__item", has_text="适用条件").click()
    rules = detail.get_by_test_id("detail-rules").inner_text()
    assert "企业规模：小型、微型" in rules and "不满5年" in rules


@pytest.mark.browser
@pytest.mark.parametrize("username", ["sysadmin", "secadmin", "auditor"])
def test_admin_roles_have_no_policy_page(page, live_server, login_as, username):
    # 三员分立: policies are business work; no administrator sees them, not even by URL.
    login_as(username)
    assert "惠企政策" not in menu_labels(page)
    page.goto(f"{live_server}/console/#/policies")
    page.locator(".el-message", has_text="无权访问").wait_for()
    page.get_by_test_id("home-page").wait_for()
    assert page.get_by_test_id("policies-page").count() == 0



@pytest.mark.browser
def test_the_list_shows_how_many_enterprises_fit_and_whether_it_was_pushed(page, api, login_as, published_policy):
    draft = make_policy(api, f"列表数字测试草稿 {uuid.uuid4().hex[:6]}", submit=False)
    token = api.login("policy")
    status, listed = api.call("GET", "/api/v1/policies?page_size=50", token=token)
    assert status == 200, listed
    by_id = {p["id"]: p for p in listed["items"]}
    assert by_id[published_policy["id"]]["campaign_id"] == published_policy["campaign_id"] is not None
    login_as("policy")
    open_policies(page)
    row = table_rows(page, "policies-table").filter(has_text=published_policy["title"])
    assert row.get_by_test_id("policy-row-match-count").inner_text().strip() == \
        f"{by_id[published_policy['id']]['match_count']} 家"
    assert row.get_by_test_id("policy-row-campaign").inner_text().strip() == "已推送"
    row = table_rows(page, "policies-table").filter(has_text=draft["title"])
    assert row.get_by_test_id("policy-row-match-count").inner_text().strip() == f"{draft['match_count']} 家"
    assert row.get_by_test_id("policy-row-campaign").inner_text().strip() == "—"
    # 已推送 opens the push figures.
    row = table_rows(page, "policies-table").filter(has_text=published_policy["title"])
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/policies/{published_policy['id']}/campaign")):
        row.get_by_test_id("policy-row-campaign").locator(".el-link").click()
    page.get_by_test_id("policy-detail").get_by_test_id("policy-campaign").wait_for()


@pytest.mark.browser
def test_the_code_tables_are_the_server_s_and_are_fetched_once(page, live_server, login_as, published_policy):
    """Types, statuses and qualifications are read from /api/v1/reference/policy-options:
    the answer is altered on its way to the browser and the altered words appear."""
    calls: list[str] = []

    def mark(route):
        response = route.fetch()
        options = response.json()
        for table, code in (("types", "subsidy"), ("statuses", "published"), ("enterprise_tags", "high_tech")):
            for option in options[table]:
                if option["code"] == code:
                    option["label"] += "（服务器）"
        calls.append(route.request.url)
        route.fulfill(response=response, json=options)

    page.route("**/api/v1/reference/policy-options", mark)
    login_as("policy")
    open_policies(page)
    row = table_rows(page, "policies-table").filter(has_text=published_policy["title"])
    row.get_by_test_id("policy-row-status").filter(has_text="已发布（服务器）").wait_for()
    page.get_by_test_id("policy-filter-type").click()
    page.locator(".el-select-dropdown__item:visible", has_text="奖补（服务器）").wait_for()
    page.keyboard.press("Escape")
    page.get_by_test_id("policy-create").click()
    dialog = page.get_by_test_id("policy-dialog")
    dialog.locator("[data-testid=policy-type]", has_text="奖补（服务器）").wait_for()
    dialog.get_by_test_id("policy-tab-rules").click()
    assert dialog.get_by_test_id("rule-size-micro").inner_text().strip() == "微型"
    dialog.get_by_test_id("rule-tags").click()
    page.locator(".el-select-dropdown__item:visible", has_text="高新技术企业（服务器）").wait_for()
    # Once for the whole session, however many pages use the tables.
    assert len(calls) == 1, calls
