"""The pure cores of policy matching: rule validation, evaluation, the SQL text and the
review workflow — no database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.enterprises import sizing
from services.policies import rules as R
from services.policies import sql
from services.policies.workflow import IllegalTransition, can_edit, next_status

TODAY = date(2026, 3, 15)
DIVISIONS = sizing.list_divisions()


def profile(**kw) -> R.Profile:
    values = dict(industry_code="65", industry_group="software_it", size_class="micro", region_code="440305",
                  employees=6, revenue=Decimal("180"), founded_on=date(2021, 4, 16), tags=frozenset())
    values.update(kw)
    return R.Profile(**values)


def check(rules: dict, p: R.Profile | None = None, today: date = TODAY) -> R.Match:
    return R.evaluate(R.validate(rules, today=today), p or profile(), today=today)


# ----------------------------------------------------------------- validation


def test_rules_are_normalised():
    normal = R.validate({"industries": ["65", "65", "industry"], "size_classes": ["micro", "small"],
                         "regions": ["440300", "440305", "440000"], "employees": {"min": 0, "max": 100},
                         "revenue": {"min": 0.0, "max": 2000.456}, "age_years": {"min": 0, "max": 3},
                         "tags": ["high_tech"]}, today=TODAY)
    assert normal == {"industries": ["65", "industry"], "size_classes": ["small", "micro"], "regions": ["44"],
                      "age_years": {"max": 3}, "employees": {"max": 100}, "revenue": {"max": 2000.46},
                      "tags": ["high_tech"]}


def test_no_rules_and_empty_ranges_mean_no_condition():
    assert R.validate({}, today=TODAY) == {}
    assert R.validate(None, today=TODAY) == {}
    assert R.validate({"employees": {"min": None, "max": None}, "revenue": {}}, today=TODAY) == {}
    assert R.describe({}) == ["不限条件，各类企业均可享受"]


@pytest.mark.parametrize("raw, field, words", [
    ({"employees": {"min": 10, "max": 5}}, "rules.employees", "下限（10人）大于上限（5人）"),
    ({"employees": {"min": 1.5}}, "rules.employees", "应为整数"),
    ({"revenue": {"min": 10, "max": 5}}, "rules.revenue", "下限（10万元）大于上限（5万元）"),
    ({"revenue": {"max": -1}}, "rules.revenue", "0–10000000000 万元之间"),
    ({"age_years": {"min": 3, "max": 3}}, "rules.age_years", "下限应小于上限"),
    ({"age_years": {"max": 0}}, "rules.age_years", "成立不满0年"),
    ({"age_years": {"min": 80}}, "rules.age_years", "不存在成立满80年的企业"),
    ({"industries": []}, "rules.industries", "可选范围为空"),
    ({"industries": ["651"]}, "rules.industries", "请填写 65（软件和信息技术服务业）"),
    ({"industries": ["705"]}, "rules.industries", "下没有中类 705"),
    ({"industries": ["00"]}, "rules.industries", "没有行业代码 00"),
    ({"industries": ["C13"]}, "rules.industries", "未知的行业"),
    ({"size_classes": ["tiny"]}, "rules.size_classes", "未知的企业规模"),
    ({"regions": ["4403001"]}, "rules.regions", "格式不正确"),
    ({"regions": ["990000"]}, "rules.regions", "不存在"),
    ({"tags": []}, "rules.tags", "可选范围为空"),
    ({"colour": "red"}, "rules.colour", "不支持的条件"),
    ({"size_classes": ["large"], "employees": {"max": 50}, "industries": ["industry"]}, "rules.size_classes",
     "不可能被划为“大型”"),
    ({"size_classes": ["micro"], "industries": ["software_it"], "employees": {"min": 10},
      "revenue": {"min": 50}}, "rules.size_classes", "不可能被划为“微型”"),
])
def test_rules_that_can_never_match_are_refused(raw, field, words):
    with pytest.raises(R.InvalidRules) as err:
        R.validate(raw, today=TODAY)
    messages = {p["field"]: p["message"] for p in err.value.problems}
    assert field in messages and words in messages[field], messages


def test_every_problem_is_reported_at_once():
    with pytest.raises(R.InvalidRules) as err:
        R.validate({"employees": {"min": 9, "max": 1}, "tags": ["nope"], "regions": []}, today=TODAY)
    assert {p["field"] for p in err.value.problems} == {"rules.employees", "rules.tags", "rules.regions"}


def test_a_size_class_is_refused_only_when_every_allowed_industry_excludes_it():
    # Large with at most 200 people: impossible in 工业 (≥ 1000), possible in 建筑业 (no head count).
    with pytest.raises(R.InvalidRules):
        R.validate({"size_classes": ["large"], "employees": {"max": 200}, "industries": ["13"]}, today=TODAY)
    assert R.validate({"size_classes": ["large"], "employees": {"max": 200}, "industries": ["13", "48"]},
                      today=TODAY)


# ----------------------------------------------------------------- evaluation


def test_reasons_say_which_requirement_the_enterprise_meets():
    m = check({"size_classes": ["small", "micro"], "regions": ["4403"], "industries": ["65"]})
    assert m.eligible and not m.missing
    assert m.reasons == ("所属行业为软件和信息技术服务业（65），符合“软件和信息技术服务业（65）”要求",
                         "企业规模为微型，符合“小型、微型”要求",
                         "注册地为南山区（440305），符合“深圳市（4403）”要求")


def test_the_brief_example_reason_for_a_small_enterprise():
    m = check({"size_classes": ["small", "micro"]}, profile(size_class="small"))
    assert m.reasons == ("企业规模为小型，符合“小型、微型”要求",)


def test_an_unfilled_field_is_missing_but_not_disqualifying_and_lowers_the_score():
    rules = {"size_classes": ["micro"], "revenue": {"max": 500}}
    filled = check(rules)
    blank = check(rules, profile(revenue=None))
    assert filled.eligible and blank.eligible
    assert blank.missing == ({"field": "revenue",
                              "message": "政策要求上年营业收入不超过500万元，请在企业资料中填写上年营业收入"},)
    assert blank.unfilled == 1 and blank.score < filled.score


def test_a_failed_condition_disqualifies_and_says_why():
    m = check({"employees": {"max": 5}})
    assert not m.eligible and m.score == 0
    assert m.missing == ({"field": "employees", "message": "政策要求从业人员不超过5人，企业为6人"},)


def test_a_qualification_not_declared_is_not_held():
    m = check({"tags": ["high_tech"]})
    assert not m.eligible and m.missing[0]["field"] == "tags"
    assert check({"tags": ["high_tech", "tech_sme"]}, profile(tags=frozenset({"tech_sme"}))).eligible


def test_industry_rules_match_divisions_by_prefix_and_groups_by_name():
    estate = profile(industry_code="702", industry_group="property_management")
    assert check({"industries": ["70"]}, estate).eligible
    assert check({"industries": ["702"]}, estate).eligible
    assert check({"industries": ["property_management"]}, estate).eligible
    assert not check({"industries": ["701"]}, estate).eligible


@pytest.mark.parametrize("founded, rule, eligible", [
    (date(2023, 3, 15), {"max": 3}, False),  # 3 years today: no longer "不满3年"
    (date(2023, 3, 16), {"max": 3}, True),
    (date(2024, 3, 15), {"min": 2}, True),  # exactly 2 years today: "满2年"
    (date(2024, 3, 16), {"min": 2}, False),
    (date(2020, 1, 1), {"min": 2, "max": 7}, True),
])
def test_age_counts_completed_years_from_the_founding_date(founded, rule, eligible):
    assert check({"age_years": rule}, profile(founded_on=founded)).eligible is eligible


def test_an_enterprise_founded_on_29_february_turns_one_on_1_march():
    leap = profile(founded_on=date(2024, 2, 29))
    assert not check({"age_years": {"min": 1}}, leap, today=date(2025, 2, 28)).eligible
    assert check({"age_years": {"min": 1}}, leap, today=date(2025, 3, 1)).eligible
    assert R.full_years(date(2024, 2, 29), date(2025, 2, 28)) == 0
    assert R.full_years(date(2024, 2, 29), date(2025, 3, 1)) == 1
    assert R.full_years(date(2024, 2, 29), date(2028, 2, 29)) == 4


def test_descriptions_are_plain_chinese():
    assert R.describe(R.validate({"age_years": {"min": 2, "max": 5}, "revenue": {"min": 100, "max": 100},
                                  "tags": ["specialized"]}, today=TODAY)) == [
        "企业成立满2年、不满5年", "上年营业收入：100万元", "企业资质：专精特新中小企业（具备其一即可）"]


# ----------------------------------------------------------------- properties

_CODES = sorted({d.code for d in DIVISIONS} | {d.code[:2] for d in DIVISIONS})
_RULE_INDUSTRIES = _CODES + list(R.industry_groups()) + ["651", "1311", "99", "x"]
_PREFIXES = ["44", "4403", "440305", "440306", "4401", "11", "31", "440300", "99", "4403x"]


def _range(lo: int, hi: int, floats: bool = False):
    value = st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, 2)) if floats else st.integers(lo, hi)
    return st.fixed_dictionaries({}, optional={"min": value, "max": value})


raw_rules = st.fixed_dictionaries({}, optional={
    "industries": st.lists(st.sampled_from(_RULE_INDUSTRIES), max_size=4),
    "size_classes": st.lists(st.sampled_from(R.SIZE_CLASSES), max_size=4),
    "regions": st.lists(st.sampled_from(_PREFIXES), max_size=3),
    "age_years": _range(0, 90),
    "employees": _range(0, 3000),
    "revenue": _range(0, 100000, floats=True),
    "tags": st.lists(st.sampled_from(list(R.ENTERPRISE_TAGS)), max_size=3),
})


def _accepted(raw: dict) -> dict | None:
    try:
        return R.validate(raw, today=TODAY)
    except R.InvalidRules:
        return None


profiles = st.builds(
    lambda d, size, region, employees, revenue, founded, tags: R.Profile(
        industry_code=d.code, industry_group=d.group_code, size_class=size, region_code=region,
        employees=employees, revenue=revenue, founded_on=founded, tags=frozenset(tags)),
    st.sampled_from(DIVISIONS), st.sampled_from(R.SIZE_CLASSES),
    st.sampled_from(["440305", "440306", "440106", "110105", "440300", "310115"]),
    st.none() | st.integers(0, 3000),
    st.none() | st.decimals(0, 100000, places=2, allow_nan=False, allow_infinity=False),
    st.none() | st.dates(date(1949, 1, 1), TODAY),
    st.lists(st.sampled_from(list(R.ENTERPRISE_TAGS)), max_size=3))


@settings(max_examples=400, deadline=None)
@given(raw_rules)
def test_every_accepted_rule_set_has_an_enterprise_that_fits_it(raw):
    """The constructive side of "a rule that can never match is refused"."""
    rules = _accepted(raw)
    if rules is None:
        return
    w = R.witness(rules, today=TODAY)
    assert w is not None
    m = R.evaluate(rules, w, today=TODAY)
    assert m.eligible and m.missing == (), (rules, w, m)
    # The witness is a real enterprise: its figures classify as the size it claims.
    graded = sizing.classify(industry_code=w.industry_code, employees=w.employees, revenue=w.revenue,
                             assets=R.witness_assets(w))
    assert graded.size_class == w.size_class and graded.group_code == w.industry_group


@settings(max_examples=400, deadline=None)
@given(raw_rules, profiles)
def test_evaluation_is_total_and_consistent(raw, p):
    rules = _accepted(raw)
    if rules is None:
        return
    m = R.evaluate(rules, p, today=TODAY)
    failed = len(m.missing) - m.unfilled
    assert m.eligible is (failed == 0)
    assert 0 <= m.score <= 100 and (m.eligible or m.score == 0)
    assert all(set(x) == {"field", "message"} and x["message"] for x in m.missing)


@settings(max_examples=300, deadline=None)
@given(raw_rules, profiles)
def test_filling_in_a_blank_field_with_a_fitting_value_never_lowers_the_score(raw, p):
    rules = _accepted(raw)
    if rules is None or p.revenue is not None:
        return
    w = R.witness(rules, today=TODAY)
    before = R.evaluate(rules, p, today=TODAY)
    after = R.evaluate(rules, R.Profile(**{**p.__dict__, "revenue": w.revenue}), today=TODAY)
    if before.eligible:
        assert after.eligible and after.score >= before.score


# ----------------------------------------------------------------- SQL text


def test_sql_uses_numbered_placeholders_of_each_dialect_and_typed_parameters():
    rules = R.validate({"industries": ["65", "software_it"], "size_classes": ["micro"], "regions": ["4403"],
                        "age_years": {"min": 1, "max": 3}, "employees": {"max": 10}, "revenue": {"max": 100.5},
                        "tags": ["high_tech"]}, today=TODAY)
    pg, pg_params = sql.enterprise_where(rules, "postgres", today=TODAY)
    lite, lite_params = sql.enterprise_where(rules, "sqlite", today=TODAY)
    assert "$1" in pg and "$9" in pg and "?" not in pg
    assert "?1" in lite and "?9" in lite and "$" not in lite
    assert pg_params[:3] == ["65%", "software_it", "micro"]
    assert date(2025, 3, 15) in pg_params and "2025-03-15" in lite_params  # 成立满1年
    assert Decimal("100.5") in pg_params and 100.5 in lite_params
    assert "CAST(e.revenue AS REAL)" in lite and "CAST" not in pg
    assert sql.enterprise_where({}, "postgres") == ("1=1", [])


def test_the_recipient_query_hands_the_outbox_dollar_placeholders_and_excludes_the_previous_audience():
    text, params = sql.recipients_sql({"size_classes": ["micro"]}, "sqlite", exclude={"size_classes": ["small"]})
    assert text.startswith("SELECT u.id AS user_id FROM app_user u JOIN enterprise e")
    assert "e.size_class IN ($1)" in text and "AND NOT (e.size_class IN ($2))" in text
    assert params == ["micro", "small"]


# ----------------------------------------------------------------- workflow


def test_the_review_workflow_allows_only_its_transitions():
    assert next_status("draft", "submit") == "in_review"
    assert next_status("in_review", "approve") == "published"
    assert next_status("in_review", "reject") == "draft"
    assert next_status("published", "withdraw") == "withdrawn"
    assert next_status("published", "expire") == "expired"
    assert next_status("published", "supersede") == "superseded"
    with pytest.raises(IllegalTransition, match="尚未提交审核，请先提交审核"):
        next_status("draft", "approve")
    with pytest.raises(IllegalTransition, match="已撤回，不能提交审核；如需重新发布请创建新版本"):
        next_status("withdrawn", "submit")
    with pytest.raises(IllegalTransition, match="已发布，不能直接修改，请创建新版本"):
        can_edit("published")
    can_edit("draft")


@settings(max_examples=300, deadline=None)
@given(st.dates(date(1949, 1, 1), date(2100, 1, 1)), st.dates(date(1949, 1, 1), date(2100, 1, 1)),
       st.integers(0, 80))
def test_completed_years_agree_with_the_rule_window(since, today, n):
    if since > today:
        return
    latest, _ = R.age_bounds({"min": n}, today)
    assert (R.full_years(since, today) >= n) is (since <= latest)


def test_dates_shift_by_whole_years():
    assert R.add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert R.add_years(date(2026, 3, 15), -3) == date(2023, 3, 15)
    assert R.full_years(date(2021, 4, 16), date(2026, 4, 15)) == 4
    assert R.full_years(date(2021, 4, 16), date(2026, 4, 16)) == 5
    assert R.age_bounds({"min": 2, "max": 5}, TODAY) == (date(2024, 3, 15), date(2021, 3, 15))
    assert TODAY - timedelta(days=1) < TODAY  # the fixed "today" keeps these tests date-proof
