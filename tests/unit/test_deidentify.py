"""De-identification before a case becomes a FAQ entry: numbers and names never survive,
and text without personal data passes through untouched.

The property tests embed generated mobile numbers, landlines, credit codes and ID
numbers in random Chinese text, in the ways people write them (spaces, hyphens, +86,
lower case), and check that not one digit or code character of them is left.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from services.consultations.deidentify import (CREDIT_CODE, ENTERPRISE, ID_CARD, LANDLINE, PHONE, deidentify,
                                               short_forms)
from services.enterprises.credit_code import ALPHABET, check_character

# Random Chinese text: CJK characters and punctuation, without the first characters of
# the forms of address (先生 女士 小姐 经理 老板) so no name pattern can appear by chance.
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5, exclude_characters="先女小经老")
FILLER = st.text(st.one_of(CJK, st.sampled_from("，。、；：？！（）“”")), max_size=24)
DIGIT = st.sampled_from("0123456789")


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(DIGIT, min_size=n, max_size=n)


MOBILE = st.builds(lambda p, a, b, c, style: style.format(p + a, b, c), st.sampled_from(["13", "15", "17", "18", "19"]),
                   _digits(1), _digits(4), _digits(4),
                   st.sampled_from(["{}{}{}", "{} {} {}", "{}-{}-{}", "+86 {}{}{}", "+86-{}-{}-{}", "86{}{}{}"]))
LANDLINE_NO = st.builds(lambda area, first, rest, style: style.format(area, first + rest),
                        st.sampled_from(["010", "020", "0755", "0769", "0571"]), st.sampled_from("2345678"),
                        _digits(7), st.sampled_from(["{}-{}", "{}{}", "({}){}", "（{}）{}", "{} {}"]))
CREDIT = st.builds(lambda head, region, body: head + region + body + check_character(head + region + body),
                   st.text(st.sampled_from(ALPHABET), min_size=2, max_size=2), _digits(6),
                   st.text(st.sampled_from(ALPHABET), min_size=9, max_size=9))
ID_NO = st.builds(lambda region, y, m, d, seq, check: f"{region}{y}{m:02d}{d:02d}{seq}{check}",
                  st.sampled_from(["110101", "440305", "310104", "510107"]), st.integers(1930, 2010).map(str),
                  st.integers(1, 12), st.integers(1, 28), _digits(3), st.sampled_from("0123456789X"))


@settings(max_examples=300)
@given(before=FILLER, number=MOBILE, after=FILLER)
def test_a_mobile_number_never_survives(before: str, number: str, after: str) -> None:
    out = deidentify(f"{before}请拨打{number}{after}")
    assert not re.search(r"\d", out), out
    assert PHONE in out
    assert out.startswith(before) and out.endswith(after)  # the surrounding text stays as it was


@settings(max_examples=200)
@given(before=FILLER, number=LANDLINE_NO, after=FILLER)
def test_a_landline_never_survives(before: str, number: str, after: str) -> None:
    out = deidentify(before + number + after)
    assert not re.search(r"\d", out), out
    assert LANDLINE in out


@settings(max_examples=300)
@given(before=FILLER, code=CREDIT, lower=st.booleans(), after=FILLER)
def test_a_credit_code_never_survives(before: str, code: str, lower: bool, after: str) -> None:
    out = deidentify(f"{before}信用代码{code.lower() if lower else code}{after}")
    assert not re.search(r"[0-9A-Za-z]", out), out
    assert CREDIT_CODE in out or ID_CARD in out  # an all-digit code can look like an ID number


@settings(max_examples=200)
@given(before=FILLER, number=ID_NO, after=FILLER)
def test_an_id_number_never_survives(before: str, number: str, after: str) -> None:
    out = deidentify(f"{before}身份证{number}{after}")
    assert not re.search(r"[0-9Xx]", out), out
    assert ID_CARD in out


CLEAN = st.lists(st.one_of(FILLER, st.integers(0, 999_999).map(lambda n: f"{n}个工作日"),
                           st.sampled_from(["12345热线", "12366", "2026年3月1日", "第3条", "10万元", "30%"])),
                 max_size=8).map("，".join)  # separated: two numbers side by side would be one long one


@settings(max_examples=300)
@given(text=CLEAN)
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert deidentify(text) == text


@settings(max_examples=200)
@given(parts=st.lists(st.one_of(FILLER, MOBILE, CREDIT, LANDLINE_NO, ID_NO), max_size=6))
def test_running_twice_changes_nothing_more(parts: list[str]) -> None:
    once = deidentify("，".join(parts), names=["深圳市南山区云帆信息技术有限公司"])
    assert deidentify(once, names=["深圳市南山区云帆信息技术有限公司"]) == once


@pytest.mark.parametrize("raw, expected", [
    ("我是王女士，想咨询注销", "我是某女士，想咨询注销"),
    ("请联系财务张经理或欧阳小明先生", "请联系财务某经理或某先生"),
    ("关于陈小姐提出的问题", "关于某小姐提出的问题"),
    ("项目经理、客户经理和公司老板都已确认", "项目经理、客户经理和公司老板都已确认"),
    ("邮箱 wang.li@yunfan.com.cn 或银行卡 6222 0212 3456 7890 123", "邮箱 【邮箱】 或银行卡 【银行卡号】"),
    ("电话26543210，工作时间拨打12345", "电话【电话】，工作时间拨打12345"),
])
def test_examples(raw: str, expected: str) -> None:
    assert deidentify(raw) == expected


def test_the_enterprise_name_goes_in_every_short_form() -> None:
    name = "深圳市南山区云帆信息技术有限公司"
    assert short_forms(name)[:3] == [name, "南山区云帆信息技术有限公司", "云帆信息技术有限公司"]
    assert {"云帆信息技术", "云帆公司", "云帆"} <= set(short_forms(name))
    text = "深圳市南山区云帆信息技术有限公司（简称云帆公司）是小规模纳税人，云帆信息技术的法人说……"
    out = deidentify(text, names=[name])
    assert "云帆" not in out and out.count(ENTERPRISE) == 3
    assert "小规模纳税人" in out
    # a contact person known from the case goes too
    assert deidentify("联系人林小雨已确认", people=["林小雨"]) == "联系人【联系人】已确认"
