"""企业划型 per 工信部联企业〔2011〕300号 with the 2017 statistical mapping.

The thresholds below are typed in again from the standard on purpose: the
JSON is data that someone will edit one day, and this golden table is what
catches a slipped digit. The property tests then check the grading rule
itself against an independent oracle built from the same table.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from services.enterprises import sizing
from services.enterprises.sizing import (
    CLASSIFICATION_VERSION,
    STANDARD_VERSION,
    Division,
    InvalidIndicator,
    MissingIndicator,
    SizeResult,
    UnknownIndustry,
    classify,
    list_divisions,
    lookup_industry,
    required_indicators,
)

DATA = Path(sizing.__file__).resolve().parent / "data"
STANDARD_JSON = json.loads((DATA / "size_standard_2011.json").read_text(encoding="utf-8"))
DIVISIONS_JSON = json.loads((DATA / "industry_divisions_2017.json").read_text(encoding="utf-8"))
CJK = re.compile(r"[\u4e00-\u9fff]")

E, Y, Z = "employees", "revenue", "assets"
LEVELS = ("large", "medium", "small")
RANK = {"micro": 0, "small": 1, "medium": 2, "large": 3}

# group code -> (label, indicators, large, medium, small), bounds as in the standard.
GOLDEN: dict[str, tuple[str, tuple[str, ...], dict, dict, dict]] = {
    "agriculture": ("农、林、牧、渔业", (Y,), {Y: 20000}, {Y: 500}, {Y: 50}),
    "industry": ("工业", (E, Y), {E: 1000, Y: 40000}, {E: 300, Y: 2000}, {E: 20, Y: 300}),
    "construction": ("建筑业", (Y, Z), {Y: 80000, Z: 80000}, {Y: 6000, Z: 5000}, {Y: 300, Z: 300}),
    "wholesale": ("批发业", (E, Y), {E: 200, Y: 40000}, {E: 20, Y: 5000}, {E: 5, Y: 1000}),
    "retail": ("零售业", (E, Y), {E: 300, Y: 20000}, {E: 50, Y: 500}, {E: 10, Y: 100}),
    "transport": ("交通运输业", (E, Y), {E: 1000, Y: 30000}, {E: 300, Y: 3000}, {E: 20, Y: 200}),
    "warehousing": ("仓储业", (E, Y), {E: 200, Y: 30000}, {E: 100, Y: 1000}, {E: 20, Y: 100}),
    "postal": ("邮政业", (E, Y), {E: 1000, Y: 30000}, {E: 300, Y: 2000}, {E: 20, Y: 100}),
    "accommodation": ("住宿业", (E, Y), {E: 300, Y: 10000}, {E: 100, Y: 2000}, {E: 10, Y: 100}),
    "catering": ("餐饮业", (E, Y), {E: 300, Y: 10000}, {E: 100, Y: 2000}, {E: 10, Y: 100}),
    "information_transmission": ("信息传输业", (E, Y),
                                 {E: 2000, Y: 100000}, {E: 100, Y: 1000}, {E: 10, Y: 100}),
    "software_it": ("软件和信息技术服务业", (E, Y),
                    {E: 300, Y: 10000}, {E: 100, Y: 1000}, {E: 10, Y: 50}),
    "real_estate_development": ("房地产开发经营", (Y, Z),
                                {Y: 200000, Z: 10000}, {Y: 1000, Z: 5000}, {Y: 100, Z: 2000}),
    "property_management": ("物业管理", (E, Y), {E: 1000, Y: 5000}, {E: 300, Y: 1000}, {E: 100, Y: 500}),
    "leasing_business": ("租赁和商务服务业", (E, Z),
                         {E: 300, Z: 120000}, {E: 100, Z: 8000}, {E: 10, Z: 100}),
    "other": ("其他未列明行业", (E,), {E: 300}, {E: 100}, {E: 10}),
}

# One industry code per group, used to drive classify() for that group.
REPRESENTATIVE = {
    "agriculture": "01", "industry": "13", "construction": "47", "wholesale": "51",
    "retail": "52", "transport": "54", "warehousing": "592", "postal": "60",
    "accommodation": "61", "catering": "62", "information_transmission": "64",
    "software_it": "65", "real_estate_development": "701", "property_management": "702",
    "leasing_business": "72", "other": "74",
}


def bounds(group: str, level: str) -> dict[str, int]:
    return GOLDEN[group][2 + LEVELS.index(level)]


def run(group: str, values: dict) -> SizeResult:
    return classify(industry_code=REPRESENTATIVE[group], employees=values.get(E),
                    revenue=values.get(Y), assets=values.get(Z))


def oracle(group: str, values: dict) -> str:
    for level in LEVELS:
        if all(Decimal(str(values[n])) >= bounds(group, level)[n] for n in GOLDEN[group][1]):
            return level
    return "micro"


# ---------------------------------------------------------------- the data

def test_standard_json_matches_the_published_thresholds() -> None:
    assert STANDARD_JSON["version"] == "工信部联企业〔2011〕300号" == STANDARD_VERSION
    groups = {g["code"]: g for g in STANDARD_JSON["groups"]}
    assert set(groups) == set(GOLDEN) and len(groups) == 16
    for code, (label, indicators, large, medium, small) in GOLDEN.items():
        g = groups[code]
        assert (g["label"], tuple(g["indicators"])) == (label, indicators), code
        assert (g["large"], g["medium"], g["small"]) == (large, medium, small), code


def test_every_division_resolves_to_a_group_of_the_standard() -> None:
    group_codes = {g["code"] for g in STANDARD_JSON["groups"]}
    majors = {d["code"] for d in DIVISIONS_JSON["divisions"] if len(d["code"]) == 2}
    assert majors == {f"{n:02d}" for n in range(1, 98)}, "all GB/T 4754-2017 大类 01-97"
    for d in DIVISIONS_JSON["divisions"]:
        if d["group"] is None:
            with pytest.raises(UnknownIndustry):
                lookup_industry(d["code"])
            assert any(c["code"].startswith(d["code"]) and len(c["code"]) == 3
                       for c in DIVISIONS_JSON["divisions"])
            continue
        assert d["group"] in group_codes, d
        division = lookup_industry(d["code"])
        assert division == Division(code=d["code"], name=d["name"], section=d["section"],
                                    group_code=d["group"], group_label=GOLDEN[d["group"]][0])
        assert d["section"] in DIVISIONS_JSON["sections"]


@pytest.mark.parametrize(("codes", "group"), [
    (["01", "05"], "agriculture"),
    (["06", "13", "39", "43", "44", "46"], "industry"),
    (["47", "50"], "construction"),
    (["51"], "wholesale"),
    (["52"], "retail"),
    (["54", "55", "56", "57", "58", "591"], "transport"),
    (["592", "599"], "warehousing"),
    (["60"], "postal"),
    (["61"], "accommodation"),
    (["62"], "catering"),
    (["63", "64"], "information_transmission"),
    (["65"], "software_it"),
    (["701"], "real_estate_development"),
    (["702"], "property_management"),
    (["71", "72"], "leasing_business"),
    (["53", "66", "703", "704", "709", "73", "79", "80", "83", "85", "90", "97"], "other"),
])
def test_division_to_group_mapping(codes: list[str], group: str) -> None:
    for code in codes:
        assert lookup_industry(code).group_code == group, code


def test_picker_lists_subdivisions_instead_of_split_divisions() -> None:
    divisions = list_divisions()
    codes = [d.code for d in divisions]
    assert codes == sorted(codes) and len(codes) == len(set(codes))
    assert "70" not in codes and "59" not in codes
    assert {"701", "702", "703", "704", "709", "591", "592"} <= set(codes)
    assert {d.group_code for d in divisions} == set(GOLDEN)
    divisions.clear()  # callers get a copy
    assert list_divisions()


def test_versions() -> None:
    assert CLASSIFICATION_VERSION == "GB/T 4754-2017"


# ---------------------------------------------------------------- industry lookup

@pytest.mark.parametrize(("raw", "code"), [
    ("13", "13"), (" 13 ", "13"), ("C13", "13"), ("c13", "13"), ("１３", "13"),
    ("1311", "13"), ("701", "701"), ("K701", "701"), ("7010", "701"), ("5920", "592"),
])
def test_lookup_accepts_common_spellings(raw: str, code: str) -> None:
    assert lookup_industry(raw).code == code


def test_bare_70_asks_for_a_subdivision() -> None:
    with pytest.raises(UnknownIndustry) as info:
        lookup_industry("70")
    msg = info.value.message
    assert "中类" in msg and "701 房地产开发经营" in msg and "702 物业管理" in msg
    assert info.value.code == "70"
    with pytest.raises(UnknownIndustry):
        classify(industry_code="70", employees=5, revenue=100, assets=100)


def test_bare_59_asks_for_a_subdivision() -> None:
    with pytest.raises(UnknownIndustry) as info:
        lookup_industry("59")
    assert "591 装卸搬运" in info.value.message and "592 通用仓储" in info.value.message


@pytest.mark.parametrize(("raw", "fragment"), [
    ("98", "没有行业大类 98"),
    ("00", "没有行业大类 00"),
    ("705", "没有中类 705"),
    ("B13", "属于门类 C"),
    ("abc", "格式不正确"),
    ("1", "格式不正确"),
    ("13111", "格式不正确"),
    ("", "请选择"),
])
def test_unknown_industry_messages(raw: str, fragment: str) -> None:
    with pytest.raises(UnknownIndustry) as info:
        lookup_industry(raw)
    assert fragment in info.value.message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("code", "needed"), [
    ("01", [Y]), ("13", [E, Y]), ("48", [Y, Z]), ("701", [Y, Z]), ("72", [E, Z]), ("88", [E]),
])
def test_required_indicators(code: str, needed: list[str]) -> None:
    assert required_indicators(code) == needed


# ---------------------------------------------------------------- boundaries

BOUNDARY_GROUPS = ("industry", "retail", "software_it", "construction")


def _boundary_cases():
    for group in BOUNDARY_GROUPS:
        for i, level in enumerate(LEVELS):
            below = LEVELS[i + 1] if i + 1 < len(LEVELS) else "micro"
            at = dict(bounds(group, level))
            yield pytest.param(group, at, level, id=f"{group}-{level}-exact")
            for name in GOLDEN[group][1]:
                minus_one = dict(at, **{name: at[name] - 1})
                yield pytest.param(group, minus_one, below, id=f"{group}-{level}-{name}-1")
                if name != E:
                    minus_cent = dict(at, **{name: Decimal(at[name]) - Decimal("0.01")})
                    yield pytest.param(group, minus_cent, below, id=f"{group}-{level}-{name}-0.01")


@pytest.mark.parametrize(("group", "values", "expected"), list(_boundary_cases()))
def test_boundaries(group: str, values: dict, expected: str) -> None:
    result = run(group, values)
    assert result.size_class == expected
    assert result.group_code == group


# Readable rows from the standard, around each bound of the four groups that
# the service zone sees most.
@pytest.mark.parametrize(("code", "e", "y", "z", "expected"), [
    # 工业: X 1000/300/20, Y 40000/2000/300
    ("13", 1000, 40000, None, "large"),
    ("13", 999, 40000, None, "medium"),
    ("13", 1000, 39999, None, "medium"),
    ("13", 300, 2000, None, "medium"),
    ("13", 299, 100000, None, "small"),
    ("13", 5000, 1999, None, "small"),
    ("13", 20, 300, None, "small"),
    ("13", 19, 100000, None, "micro"),
    ("13", 5000, 299, None, "micro"),
    # 零售业: X 300/50/10, Y 20000/500/100
    ("52", 300, 20000, None, "large"),
    ("52", 299, 20000, None, "medium"),
    ("52", 50, 500, None, "medium"),
    ("52", 49, 500, None, "small"),
    ("52", 10, 100, None, "small"),
    ("52", 9, 100, None, "micro"),
    ("52", 10, 99, None, "micro"),
    # 软件和信息技术服务业: X 300/100/10, Y 10000/1000/50
    ("65", 300, 10000, None, "large"),
    ("65", 100, 1000, None, "medium"),
    ("65", 99, 1000, None, "small"),
    ("65", 10, 50, None, "small"),
    ("65", 10, 49, None, "micro"),
    ("65", 9, 50, None, "micro"),
    # 建筑业: Y 80000/6000/300, Z 80000/5000/300
    ("47", None, 80000, 80000, "large"),
    ("47", None, 80000, 79999, "medium"),
    ("47", None, 6000, 5000, "medium"),
    ("47", None, 5999, 5000, "small"),
    ("47", None, 6000, 4999, "small"),
    ("47", None, 300, 300, "small"),
    ("47", None, 299, 300, "micro"),
    ("47", None, 300, 299, "micro"),
])
def test_example_rows(code: str, e, y, z, expected: str) -> None:
    assert classify(industry_code=code, employees=e, revenue=y, assets=z).size_class == expected


# At least one case per group, covering all four classes across the table.
@pytest.mark.parametrize(("group", "values", "expected"), [
    ("agriculture", {Y: 20000}, "large"),
    ("agriculture", {Y: 49.99}, "micro"),
    ("industry", {E: 15, Y: 5000}, "micro"),
    ("construction", {Y: 7000, Z: 4000}, "small"),
    ("wholesale", {E: 20, Y: 5000}, "medium"),
    ("wholesale", {E: 4, Y: 50000}, "micro"),
    ("retail", {E: 12, Y: 150}, "small"),
    ("transport", {E: 300, Y: 2999}, "small"),
    ("transport", {E: 1000, Y: 30000}, "large"),
    ("warehousing", {E: 150, Y: 1000}, "medium"),
    ("postal", {E: 20, Y: 100}, "small"),
    ("postal", {E: 300, Y: 2000}, "medium"),
    ("accommodation", {E: 9, Y: 500}, "micro"),
    ("accommodation", {E: 100, Y: 2000}, "medium"),
    ("catering", {E: 300, Y: 10000}, "large"),
    ("catering", {E: 30, Y: 99}, "micro"),
    ("information_transmission", {E: 1999, Y: 200000}, "medium"),
    ("information_transmission", {E: 2000, Y: 100000}, "large"),
    ("software_it", {E: 12, Y: 60}, "small"),
    ("real_estate_development", {Y: 200000, Z: 9999}, "medium"),
    ("real_estate_development", {Y: 500, Z: 1999}, "micro"),
    ("property_management", {E: 99, Y: 5000}, "micro"),
    ("property_management", {E: 100, Y: 500}, "small"),
    ("leasing_business", {E: 100, Z: 8000}, "medium"),
    ("leasing_business", {E: 300, Z: 120000}, "large"),
    ("other", {E: 9}, "micro"),
    ("other", {E: 10}, "small"),
    ("other", {E: 299}, "medium"),
    ("other", {E: 300}, "large"),
])
def test_every_group(group: str, values: dict, expected: str) -> None:
    result = run(group, values)
    assert result.size_class == expected == oracle(group, values)
    assert result.group_label == GOLDEN[group][0]


# ---------------------------------------------------------------- the result

def test_result_fields_and_basis_for_micro() -> None:
    result = classify(industry_code="13", employees=15, revenue=Decimal("5000"), assets=123)
    assert result == SizeResult(
        size_class="micro", size_label="微型", group_code="industry", group_label="工业",
        rule_version="工信部联企业〔2011〕300号", inputs={E: 15, Y: 5000},
        basis="工业：从业人员 15 人 < 20 人，属微型企业")


def test_basis_explains_missed_and_met_bounds() -> None:
    medium = classify(industry_code="13", employees=500, revenue=30000)
    assert medium.size_label == "中型"
    assert medium.basis == ("工业：从业人员 500 人 < 1000 人，营业收入 30000 万元 < 40000 万元，"
                            "未达大型企业标准；从业人员 500 人 ≥ 300 人，"
                            "营业收入 30000 万元 ≥ 2000 万元，属中型企业")
    large = classify(industry_code="47", employees=None, revenue=80000, assets=90000.5)
    assert large.basis == "建筑业：营业收入 80000 万元 ≥ 80000 万元，资产总额 90000.5 万元 ≥ 80000 万元，属大型企业"
    small = classify(industry_code="65", employees=50, revenue=Decimal("1E+3"))
    assert small.basis.endswith("未达中型企业标准；从业人员 50 人 ≥ 10 人，营业收入 1000 万元 ≥ 50 万元，属小型企业")


def test_inputs_are_plain_numbers_of_the_used_indicators_only() -> None:
    result = classify(industry_code="72", employees=12, revenue=999, assets=Decimal("150.25"))
    assert result.inputs == {E: 12, Z: 150.25}
    assert all(type(v) in (int, float) for v in result.inputs.values())


def test_floats_compare_exactly_at_the_bound() -> None:
    # 0.1 + 0.2 style binary noise must not push an exact bound below itself.
    assert classify(industry_code="52", employees=10, revenue=100.0).size_class == "small"
    assert classify(industry_code="52", employees=10, revenue=99.99).size_class == "micro"


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize(("group", "field"), [
    (group, name) for group, spec in GOLDEN.items() for name in spec[1]
])
def test_missing_indicator_names_the_field(group: str, field: str) -> None:
    values = {name: 10**6 for name in GOLDEN[group][1]}
    values.pop(field)
    with pytest.raises(MissingIndicator) as info:
        run(group, values)
    assert info.value.field == field
    label = {E: "从业人员（人）", Y: "营业收入（万元）", Z: "资产总额（万元）"}[field]
    assert info.value.message == f"{GOLDEN[group][0]}划型需要填写{label}"


def test_missing_assets_for_construction_message() -> None:
    with pytest.raises(MissingIndicator) as info:
        classify(industry_code="48", employees=30, revenue=5000)
    assert info.value.message == "建筑业划型需要填写资产总额（万元）"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("kwargs", "field", "fragment"), [
    ({E: -1, Y: 100}, E, "不能为负数"),
    ({E: 10, Y: -0.5}, Y, "不能为负数"),
    ({E: 10, Y: 100, Z: -3}, Z, "不能为负数"),  # even though 工业 does not use assets
    ({E: 10, Y: float("nan")}, Y, "有效数字"),
    ({E: 10, Y: Decimal("Infinity")}, Y, "有效数字"),
    ({E: 10.5, Y: 100}, E, "整数"),
    ({E: True, Y: 100}, E, "数字"),
    ({E: 10, Y: "100"}, Y, "数字"),
])
def test_invalid_indicator(kwargs: dict, field: str, fragment: str) -> None:
    with pytest.raises(InvalidIndicator) as info:
        classify(industry_code="13", employees=kwargs.get(E), revenue=kwargs.get(Y),
                 assets=kwargs.get(Z))
    assert info.value.field == field
    assert fragment in info.value.message and CJK.search(info.value.message)


def test_integral_float_employees_are_accepted() -> None:
    assert classify(industry_code="74", employees=15.0, revenue=None).inputs == {E: 15}


# ---------------------------------------------------------------- properties

employees_st = st.integers(min_value=0, max_value=5000)
money_st = st.decimals(min_value=0, max_value=300000, places=2,
                       allow_nan=False, allow_infinity=False)
STRATEGY = {E: employees_st, Y: money_st, Z: money_st}


@st.composite
def group_and_values(draw):
    group = draw(st.sampled_from(sorted(GOLDEN)))
    values = {name: draw(STRATEGY[name]) for name in GOLDEN[group][1]}
    return group, values


@given(group_and_values())
def test_matches_the_oracle(case) -> None:
    group, values = case
    assert run(group, values).size_class == oracle(group, values)


@given(group_and_values(), st.data())
def test_monotone_raising_any_indicator_never_lowers_the_class(case, data) -> None:
    group, values = case
    name = data.draw(st.sampled_from(GOLDEN[group][1]))
    raise_by = data.draw(employees_st if name == E else money_st)
    raised = dict(values, **{name: values[name] + raise_by})
    assert RANK[run(group, raised).size_class] >= RANK[run(group, values).size_class]


@given(group_and_values())
def test_micro_iff_some_indicator_below_its_small_bound(case) -> None:
    group, values = case
    small = bounds(group, "small")
    below = any(Decimal(values[n]) < small[n] for n in GOLDEN[group][1])
    result = run(group, values)
    assert (result.size_class == "micro") == below
    if below:
        assert result.basis.endswith("属微型企业")
