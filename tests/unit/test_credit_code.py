"""统一社会信用代码 (GB 32100-2015) validation.

The check character is the only thing standing between a one-character typo
and a wrong enterprise being certified, so beyond examples we prove with
hypothesis that *every* single-character substitution is caught.
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, strategies as st

from services.enterprises.credit_code import (
    ALPHABET,
    FORBIDDEN_LETTERS,
    WEIGHTS,
    InvalidCreditCode,
    check_character,
    generate_credit_code,
    validate_credit_code,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def _reason(raw: str) -> InvalidCreditCode:
    with pytest.raises(InvalidCreditCode) as info:
        validate_credit_code(raw)
    assert CJK.search(info.value.message), "messages are shown to applicants in Chinese"
    assert str(info.value) == info.value.message
    return info.value


# ---------------------------------------------------------------- the algorithm

def test_alphabet_and_weights_are_the_standard_ones() -> None:
    assert len(ALPHABET) == 31
    assert not set(ALPHABET) & set(FORBIDDEN_LETTERS)
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# Hand computation, value(c) = ALPHABET.index(c), W = WEIGHTS:
#
# (a) 91440300000000000?
#     9*1 + 1*3 + 4*9 + 4*27 + 0*19 + 3*26 + 0*16 + 0*17 + 0*(...) = 9+3+36+108+78 = 234
#     234 mod 31 = 17;  31 - 17 = 14 -> ALPHABET[14] = "E"
#
# (b) 92110105MA0000001?   (M = 21, A = 10)
#     9*1 + 2*3 + 1*9 + 1*27 + 0*19 + 1*26 + 0*16 + 5*17 + 21*20 + 10*29 + 0*(...) + 1*28
#     = 9+6+9+27+26+85+420+290+28 = 900
#     900 mod 31 = 1 (31*29 = 899);  31 - 1 = 30 -> ALPHABET[30] = "Y"
#
# (c) 9144030000000000G?   (G = 16) -- chosen so the sum is a multiple of 31
#     234 + 16*28 = 682 = 31*22 -> remainder 0;  31 - 0 = 31 -> wraps to 0 -> "0"
@pytest.mark.parametrize(("first17", "expected"), [
    ("91440300000000000", "E"),
    ("92110105MA0000001", "Y"),
    ("9144030000000000G", "0"),
])
def test_check_character_hand_computed(first17: str, expected: str) -> None:
    assert check_character(first17) == expected
    assert validate_credit_code(first17 + expected) == first17 + expected


@pytest.mark.parametrize("code", [
    "914403001922038216",  # published code of 华为技术有限公司 (深圳)
    "91440300708461136T",  # published code of 深圳市腾讯计算机系统有限公司
])
def test_real_world_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code


@pytest.mark.parametrize("bad", ["", "9144030000000000", "9144030000000000G0", "91440300000000000I"])
def test_check_character_rejects_malformed_input(bad: str) -> None:
    with pytest.raises(InvalidCreditCode):
        check_character(bad)


# ---------------------------------------------------------------- normalisation

def test_lowercase_and_surrounding_whitespace_are_normalised() -> None:
    assert validate_credit_code("  91440300708461136t\n") == "91440300708461136T"
    assert validate_credit_code("92110105ma0000001y") == "92110105MA0000001Y"


def test_full_width_input_from_an_ime_is_normalised() -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "91440300708461136T")
    assert validate_credit_code(full_width) == "91440300708461136T"


def test_non_string_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        validate_credit_code(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- rejections

@pytest.mark.parametrize("raw", ["", "   "])
def test_empty(raw: str) -> None:
    err = _reason(raw)
    assert err.reason == "empty"
    assert "请填写统一社会信用代码" in err.message


@pytest.mark.parametrize("raw", ["9144030070846113", "91440300708461136", "91440300708461136TT"])
def test_wrong_length(raw: str) -> None:
    err = _reason(raw)
    assert err.reason == "length"
    assert "长度不是18位" in err.message
    assert f"当前为{len(raw)}位" in err.message


@pytest.mark.parametrize("letter", list(FORBIDDEN_LETTERS))
def test_forbidden_letters(letter: str) -> None:
    raw = "91440300" + letter + "00000000" + "0"
    err = _reason(raw)
    assert err.reason == "character"
    assert f"第9位含有不允许的字符 \"{letter}\"" in err.message
    assert "统一社会信用代码不使用 I、O、Z、S、V" in err.message


@pytest.mark.parametrize("letter", list(FORBIDDEN_LETTERS.lower()))
def test_forbidden_letters_in_lowercase_are_reported_upper_cased(letter: str) -> None:
    err = _reason("91440300" + letter + "000000000")
    assert f"\"{letter.upper()}\"" in err.message


@pytest.mark.parametrize(("raw", "shown"), [
    ("914403007084611#6T", "第16位含有不允许的字符 \"#\""),
    ("91440300708461\u200b36T", "U+200B"),
    ("91440300708 61136T", "空格"),
])
def test_other_bad_characters(raw: str, shown: str) -> None:
    err = _reason(raw)
    assert err.reason == "character"
    assert shown in err.message


def test_region_code_must_be_six_digits() -> None:
    first17 = "91A40300708461136"  # alphabet-valid, but position 3 is a letter
    err = _reason(first17 + check_character(first17))
    assert err.reason == "region"
    assert "第3–8位" in err.message and "行政区划" in err.message


def test_wrong_check_character_names_the_expected_one_and_warns() -> None:
    err = _reason("91440300708461136X")
    assert err.reason == "check"
    assert err.message.startswith("校验位错误，应为 T")
    assert "不要只修改最后一位" in err.message


# ---------------------------------------------------------------- generation

def test_generated_codes_are_valid_and_reproducible() -> None:
    first = [generate_credit_code(random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1, "same seed, same code"
    rng = random.Random(2024)
    for _ in range(500):
        code = generate_credit_code(rng)
        assert validate_credit_code(code) == code
        assert code.startswith("91440300")


def test_generated_code_uses_the_region() -> None:
    code = generate_credit_code(random.Random(1), region_code="110105")
    assert code[2:8] == "110105"
    validate_credit_code(code)


@pytest.mark.parametrize("region", ["44030", "4403000", "44030A", "４４０３００"])
def test_generator_rejects_bad_region(region: str) -> None:
    with pytest.raises(ValueError):
        generate_credit_code(random.Random(1), region_code=region)


# ---------------------------------------------------------------- properties

valid_first17 = st.builds(
    lambda head, region, body: head + region + body,
    st.text(alphabet=ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
)
valid_codes = valid_first17.map(lambda f: f + check_character(f))

# Replacement candidates: every code character, the forbidden letters, and some
# characters that must never be accepted.
replacements = st.sampled_from(ALPHABET + FORBIDDEN_LETTERS + "abcxyz#-_. /\u00a0中")


@given(valid_codes)
def test_every_constructed_code_validates(code: str) -> None:
    assert validate_credit_code(code) == code


@given(valid_codes, st.integers(min_value=0, max_value=17), replacements)
def test_every_single_character_mutation_is_rejected(code: str, pos: int, new: str) -> None:
    original = code[pos]
    # A change that normalisation undoes (e.g. "A" -> "a") is not a mutation.
    if new.upper() == original:
        new = ALPHABET[(ALPHABET.index(original) + 1) % len(ALPHABET)]
    mutated = code[:pos] + new + code[pos + 1:]
    with pytest.raises(InvalidCreditCode):
        validate_credit_code(mutated)


@given(valid_codes, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=30))
def test_every_in_alphabet_substitution_changes_the_check(code: str, pos: int, shift: int) -> None:
    """Exhaustive over alphabet values: any other code character at any position fails."""
    new = ALPHABET[(ALPHABET.index(code[pos]) + shift) % 31]
    mutated = code[:pos] + new + code[pos + 1:]
    with pytest.raises(InvalidCreditCode) as info:
        validate_credit_code(mutated)
    assert info.value.reason in {"check", "region"}
