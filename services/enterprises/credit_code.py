"""统一社会信用代码 (unified social credit code) per GB 32100-2015.

A pure core: no I/O, no framework. It exists so that every entry point (staff
console, mini-program, bulk import) rejects a mistyped code with the same
precise Chinese message *before* anything is stored or looked up, and so that
demo data and benchmarks can mint codes that pass the same check.

Layout of the 18 characters (1-based positions)::

    1      登记管理部门代码   (registration authority, e.g. 9 = 市场监管/工商)
    2      机构类别代码       (entity kind within that authority, e.g. 1 = 企业)
    3-8    登记管理机关行政区划码 (6-digit administrative division code)
    9-17   主体标识码（组织机构代码）
    18     校验码

What is deliberately *not* checked, and why:

* Positions 1 and 2 are accepted if they are in the code alphabet. The table of
  registration authorities / entity kinds is maintained by the standards body
  and has grown since 2015 (e.g. 3 司法行政, 8 工会, A, N 农业); a whitelist
  frozen in code would reject genuine codes, while the check character already
  catches typos. In practice almost every enterprise in this service zone
  starts with 9 (91 企业, 92 个体工商户, 93 农民专业合作社).
* Positions 3-8 must be six digits, but are not checked against the current
  division catalogue: codes keep the division in force on the day they were
  issued, and divisions are renamed or merged over time.
* Positions 9-17 carry their own GB 11714 check digit for organisations that
  had an 组织机构代码. GB 32100 does not make that a validity criterion of the
  credit code, so neither do we.
"""

from __future__ import annotations

import random
import unicodedata
from typing import Final

__all__ = [
    "ALPHABET",
    "FORBIDDEN_LETTERS",
    "WEIGHTS",
    "InvalidCreditCode",
    "check_character",
    "generate_credit_code",
    "validate_credit_code",
]

#: The 31 code characters; a character's value is its index. I, O, Z, S, V
#: are left out because they are easily confused with 1, 0, 2, 5, U.
ALPHABET: Final[str] = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FORBIDDEN_LETTERS: Final[str] = "IOZSV"

#: Position weights W_i = 3^(i-1) mod 31 for positions 1..17. Because 31 is
#: prime and no weight is 0 mod 31, any single substituted character changes
#: the weighted sum mod 31 and therefore the expected check character.
WEIGHTS: Final[tuple[int, ...]] = (
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
)
assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))  # guards a typo in the table

_VALUE: Final[dict[str, int]] = {ch: i for i, ch in enumerate(ALPHABET)}
_LENGTH: Final = 18


class InvalidCreditCode(ValueError):
    """A code that is not a well-formed GB 32100 credit code.

    ``message`` is meant to be shown to the applicant as-is; ``reason`` is a
    stable machine token (``empty``/``length``/``character``/``region``/
    ``check``) so callers can branch or count without parsing Chinese text.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def _describe(ch: str) -> str:
    """Make an offending character visible in a message (a bare space is not)."""
    if ch.isspace():
        return "空格"
    return f"\"{ch}\"" if ch.isprintable() else f"U+{ord(ch):04X}"


def _first_bad_character(code: str) -> InvalidCreditCode | None:
    for pos, ch in enumerate(code, start=1):
        if ch in _VALUE:
            continue
        if ch in FORBIDDEN_LETTERS:
            msg = (f"第{pos}位含有不允许的字符 \"{ch}\""
                   f"（统一社会信用代码不使用 I、O、Z、S、V）")
        else:
            msg = (f"第{pos}位含有不允许的字符 {_describe(ch)}"
                   f"（只能使用数字 0-9 和除 I、O、Z、S、V 以外的大写英文字母）")
        return InvalidCreditCode(msg, reason="character")
    return None


def _check_value(first17: str) -> int:
    remainder = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS)) % 31
    return (31 - remainder) % 31  # a result of 31 wraps to 0


def check_character(first17: str) -> str:
    """Return the GB 32100 check character (position 18) for ``first17``.

    Used both by validation and by anyone constructing a code (demo data,
    tests). Input must already be normalised: exactly 17 characters from
    ``ALPHABET``; anything else raises ``InvalidCreditCode`` rather than
    silently computing a check over garbage.
    """
    if len(first17) != _LENGTH - 1:
        raise InvalidCreditCode(
            f"计算校验位需要前17位（当前为{len(first17)}位）", reason="length")
    bad = _first_bad_character(first17)
    if bad is not None:
        raise bad
    return ALPHABET[_check_value(first17)]


def validate_credit_code(raw: str) -> str:
    """Normalise ``raw`` and return it if it is a valid credit code.

    Normalisation: Unicode NFKC (so full-width ``９１４４…`` typed with a Chinese
    IME becomes ASCII), strip surrounding whitespace, upper-case. Nothing
    inside the code is removed: an inner space is reported, not guessed away.

    Checks run from the coarsest to the finest so the first message is the
    most useful one: empty, length, characters, positions 3-8, check char.
    """
    if not isinstance(raw, str):
        raise TypeError(f"credit code must be str, not {type(raw).__name__}")
    code = unicodedata.normalize("NFKC", raw).strip().upper()
    if not code:
        raise InvalidCreditCode("请填写统一社会信用代码", reason="empty")
    if len(code) != _LENGTH:
        raise InvalidCreditCode(
            f"统一社会信用代码长度不是18位（当前为{len(code)}位）", reason="length")
    bad = _first_bad_character(code)
    if bad is not None:
        raise bad
    region = code[2:8]
    if not region.isdigit():
        raise InvalidCreditCode(
            f"第3–8位应为6位数字的登记管理机关行政区划码（当前为 \"{region}\"）",
            reason="region")
    expected = ALPHABET[_check_value(code[:17])]
    if code[17] != expected:
        # Naming the expected character helps when only the last character was
        # mistyped, but if the typo is elsewhere, "fixing" the last character
        # would produce a valid-looking wrong code, hence the explicit warning.
        raise InvalidCreditCode(
            f"校验位错误，应为 {expected}（当前为 {code[17]}）。"
            f"请核对整个代码是否有输入错误，不要只修改最后一位",
            reason="check")
    return code


def generate_credit_code(rng: random.Random, region_code: str = "440300") -> str:
    """Return a random valid code for demo data and benchmarks.

    Takes an explicit ``rng`` so seeded fixtures are reproducible and no
    global random state is touched. The code is shaped like an enterprise
    registered with 市场监管 (prefix ``91``) in ``region_code`` (default
    440300, 深圳市); the 主体标识码 is random and will not belong to any real
    enterprise except by coincidence.
    """
    if len(region_code) != 6 or not region_code.isascii() or not region_code.isdigit():
        raise ValueError(f"region_code must be 6 ASCII digits, got {region_code!r}")
    body = "91" + region_code + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)
