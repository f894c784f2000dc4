"""企业划型 (enterprise size classification) per 《中小企业划型标准规定》.

A pure core: no I/O beyond reading its own two JSON files once at import, no
database, no framework. Eligibility for most small/micro-enterprise policies
hinges on this classification, so it must be explainable (every result carries
a Chinese ``basis`` sentence and the rule version) and auditable (thresholds
are versioned data in ``data/``, not literals scattered through code; when the
standard is revised, a new JSON file is added and ``STANDARD_VERSION`` changes
with it).

Two data files:

* ``size_standard_2011.json`` -- the 16 industry groups of 工信部联企业〔2011〕
  300号 with, per group, the indicators used and the lower bounds for large,
  medium and small. Units: employees in 人, revenue and assets in 万元.
* ``industry_divisions_2017.json`` -- every GB/T 4754-2017 大类 mapped to one of
  those groups as in 《统计上大中小微型企业划分办法（2017）》. Where a 大类
  spans groups (59 装卸搬运和仓储业: 591 装卸搬运 is 交通运输业, the rest
  仓储业; 70 房地产业: 701/702/other) the 大类 has no group and its 中类 are
  listed instead, so a bare "59" or "70" cannot be classified by accident.

The rule (the standard's own note): an enterprise is large if it meets *every*
large lower bound of its group, otherwise medium if it meets every medium lower
bound, otherwise small if it meets every small lower bound, otherwise micro --
i.e. micro as soon as one indicator is below its small bound.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, Mapping

__all__ = [
    "CLASSIFICATION_VERSION",
    "STANDARD_VERSION",
    "Division",
    "InvalidIndicator",
    "MissingIndicator",
    "SizeResult",
    "UnknownIndustry",
    "classify",
    "list_divisions",
    "lookup_industry",
    "required_indicators",
]

SizeClass = Literal["large", "medium", "small", "micro"]

_DATA_DIR: Final = Path(__file__).resolve().parent / "data"
_STANDARD_FILE: Final = _DATA_DIR / "size_standard_2011.json"
_DIVISIONS_FILE: Final = _DATA_DIR / "industry_divisions_2017.json"

_INDICATORS: Final = ("employees", "revenue", "assets")
#: Graded from the top down; "micro" is what is left when no level is met.
_LEVELS: Final = ("large", "medium", "small")
_SIZE_LABELS: Final[Mapping[str, str]] = {
    "large": "大型", "medium": "中型", "small": "小型", "micro": "微型",
}


# --------------------------------------------------------------------------
# Errors. ValueError subclasses so a pure caller needs nothing from us to
# catch them; each carries a user-facing Chinese ``message`` and, where one
# form field is at fault, that ``field`` so the UI can highlight it.
# --------------------------------------------------------------------------

class UnknownIndustry(ValueError):
    """The industry code does not resolve to a division we can classify."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class MissingIndicator(ValueError):
    """The industry group needs an indicator that was not supplied."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class InvalidIndicator(ValueError):
    """An indicator was supplied but is not a usable non-negative number."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Division:
    """A classifiable GB/T 4754-2017 大类 (or 中类 where the 大类 is split)."""

    code: str
    name: str
    section: str
    group_code: str
    group_label: str


@dataclass(frozen=True)
class SizeResult:
    """The outcome of a classification, self-describing enough to be stored.

    ``rule_version`` and ``inputs`` are kept with the class so that a result
    saved today can still be explained after the standard or the enterprise's
    figures change. ``inputs`` holds only the indicators the group uses, as
    JSON-ready ints/floats.
    """

    size_class: SizeClass
    size_label: str
    group_code: str
    group_label: str
    rule_version: str
    inputs: dict[str, int | float]
    basis: str


# --------------------------------------------------------------------------
# Data loading (once, at import) with integrity checks: a typo in the JSON
# must stop the process at start-up instead of misclassifying enterprises.
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Indicator:
    label: str
    unit: str


@dataclass(frozen=True)
class _Group:
    code: str
    label: str
    indicators: tuple[str, ...]
    bounds: Mapping[str, Mapping[str, Decimal]]  # level -> indicator -> lower bound


class _DataError(RuntimeError):
    pass


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def _parse_standard(doc: Any) -> tuple[str, dict[str, _Indicator], dict[str, _Group]]:
    version = doc.get("version")
    if not isinstance(version, str) or not version:
        raise _DataError(f"{_STANDARD_FILE.name}: missing version")
    indicators = {
        name: _Indicator(label=meta["label"], unit=meta["unit"])
        for name, meta in doc["indicators"].items()
    }
    if set(indicators) != set(_INDICATORS):
        raise _DataError(f"{_STANDARD_FILE.name}: indicators must be {_INDICATORS}")
    groups: dict[str, _Group] = {}
    for raw in doc["groups"]:
        code = raw["code"]
        used = tuple(raw["indicators"])
        if not used or not set(used) <= set(_INDICATORS) or len(set(used)) != len(used):
            raise _DataError(f"group {code}: bad indicator list {used}")
        bounds: dict[str, dict[str, Decimal]] = {}
        for level in _LEVELS:
            level_bounds = raw[level]
            if set(level_bounds) != set(used):
                raise _DataError(f"group {code}: {level} bounds must cover exactly {used}")
            bounds[level] = {}
            for name in used:
                value = level_bounds[name]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise _DataError(f"group {code}: {level}.{name} must be a non-negative number")
                bounds[level][name] = Decimal(str(value))
        for name in used:  # nesting is what makes the grading monotone
            if not bounds["large"][name] >= bounds["medium"][name] >= bounds["small"][name]:
                raise _DataError(f"group {code}: bounds for {name} are not nested")
        if code in groups:
            raise _DataError(f"duplicate group {code}")
        groups[code] = _Group(code=code, label=raw["label"], indicators=used, bounds=bounds)
    if len(groups) != 16:
        raise _DataError(f"{_STANDARD_FILE.name}: expected 16 groups, found {len(groups)}")
    return version, indicators, groups


def _parse_divisions(
    doc: Any, groups: Mapping[str, _Group],
) -> tuple[str, dict[str, str], dict[str, Division], dict[str, tuple[str, str]],
           dict[str, tuple[Division, ...]]]:
    """Split the division table into classifiable entries and split 大类.

    Returns (version, section names, classifiable code -> Division, 大类 code ->
    (name, section) for every 大类, split 大类 code -> its 中类 Divisions).
    """
    sections: dict[str, str] = dict(doc["sections"])
    resolvable: dict[str, Division] = {}
    majors: dict[str, tuple[str, str]] = {}
    split: dict[str, list[Division]] = {}
    for raw in doc["divisions"]:
        code, name, section, group_code = raw["code"], raw["name"], raw["section"], raw["group"]
        if not (code.isascii() and code.isdigit() and len(code) in (2, 3)):
            raise _DataError(f"division {code!r}: code must be 2 or 3 digits")
        if section not in sections:
            raise _DataError(f"division {code}: unknown section {section!r}")
        if len(code) == 2:
            if code in majors:
                raise _DataError(f"duplicate division {code}")
            majors[code] = (name, section)
            if group_code is None:
                split[code] = []
                continue
        else:
            parent = code[:2]
            if parent not in split:
                raise _DataError(f"中类 {code} listed but 大类 {parent} is not marked as split")
            if majors[parent][1] != section:
                raise _DataError(f"中类 {code}: section differs from its 大类")
        if group_code not in groups:
            raise _DataError(f"division {code}: unknown size group {group_code!r}")
        division = Division(code=code, name=name, section=section,
                            group_code=group_code, group_label=groups[group_code].label)
        resolvable[code] = division
        if len(code) == 3:
            split[code[:2]].append(division)
    expected = {f"{n:02d}" for n in range(1, 98)}
    if set(majors) != expected:
        raise _DataError(f"{_DIVISIONS_FILE.name}: 大类 01-97 must each appear once")
    for parent, children in split.items():
        if not children:
            raise _DataError(f"大类 {parent} is split but lists no 中类")
    return (doc["version"], sections, resolvable, majors,
            {k: tuple(v) for k, v in split.items()})


STANDARD_VERSION: str
CLASSIFICATION_VERSION: str
STANDARD_VERSION, _INDICATOR_META, _GROUPS = _parse_standard(_read_json(_STANDARD_FILE))
(CLASSIFICATION_VERSION, _SECTIONS, _RESOLVABLE, _MAJORS,
 _SPLIT) = _parse_divisions(_read_json(_DIVISIONS_FILE), _GROUPS)
_PICKER: Final[tuple[Division, ...]] = tuple(sorted(_RESOLVABLE.values(), key=lambda d: d.code))


# --------------------------------------------------------------------------
# Industry lookup
# --------------------------------------------------------------------------

def _choices(children: tuple[Division, ...]) -> str:
    return "、".join(f"{d.code} {d.name}" for d in children)


def lookup_industry(code: str) -> Division:
    """Resolve a GB/T 4754-2017 code to the division that decides its group.

    Accepts a 大类 ("13"), a 中类 ("701") or a 小类 ("1311"), optionally
    prefixed by its 门类 letter ("C13"), full-width digits included. Below a
    split 大类 the 中类 decides; elsewhere only the 大类 matters, and the
    extra digits are not checked against the full catalogue (we hold the
    大类 list, not all ~1400 小类).
    """
    if not isinstance(code, str):
        raise UnknownIndustry("请选择国民经济行业分类代码", code=repr(code))
    text = unicodedata.normalize("NFKC", code).strip().upper()
    if not text:
        raise UnknownIndustry("请选择国民经济行业分类代码", code=code)
    letter = ""
    if text[0].isascii() and text[0].isalpha():
        letter, text = text[0], text[1:]
    if not (text.isascii() and text.isdigit() and 2 <= len(text) <= 4):
        raise UnknownIndustry(
            f"行业代码 \"{code.strip()}\" 格式不正确，应为《国民经济行业分类》"
            f"（GB/T 4754-2017）的2–4位数字代码，如 13 或 701", code=code)
    major = text[:2]
    if major not in _MAJORS:
        raise UnknownIndustry(
            f"《国民经济行业分类》（GB/T 4754-2017）中没有行业大类 {major}", code=code)
    major_name = _MAJORS[major][0]
    if major in _SPLIT:
        children = _SPLIT[major]
        if len(text) == 2:
            raise UnknownIndustry(
                f"“{major} {major_name}”包含适用不同划型标准的行业，"
                f"请选择具体中类：{_choices(children)}", code=code)
        division = _RESOLVABLE.get(text[:3])
        if division is None:
            raise UnknownIndustry(
                f"行业大类 {major} {major_name} 下没有中类 {text[:3]}，"
                f"请选择：{_choices(children)}", code=code)
    else:
        division = _RESOLVABLE[major]
    if letter and letter != division.section:
        raise UnknownIndustry(
            f"行业代码 {text} 属于门类 {division.section}"
            f"（{_SECTIONS[division.section]}），不是门类 {letter}", code=code)
    return division


def list_divisions() -> list[Division]:
    """All classifiable divisions in code order, for an industry picker.

    Split 大类 (59, 70) are replaced by their 中类 so that whatever the user
    picks can be classified without a second question.
    """
    return list(_PICKER)


def required_indicators(industry_code: str) -> list[str]:
    """Which of employees/revenue/assets the form must ask for this industry."""
    return list(_GROUPS[lookup_industry(industry_code).group_code].indicators)


# --------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------

def _fmt(value: Decimal) -> str:
    """Plain decimal notation without exponent or trailing zeros (1E+3 -> 1000)."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _coerce(field: str, raw: object) -> Decimal:
    """Turn a supplied indicator into an exact Decimal, or explain why not.

    Floats go through ``repr`` so 0.1 becomes Decimal("0.1"), not the binary
    expansion; otherwise a value typed as exactly a bound could compare below it.
    """
    meta = _INDICATOR_META[field]
    if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal)):
        raise InvalidIndicator(field, f"{meta.label}应为数字（{meta.unit}）")
    value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    if not value.is_finite():
        raise InvalidIndicator(field, f"{meta.label}应为有效数字（{meta.unit}）")
    if value < 0:
        raise InvalidIndicator(
            field, f"{meta.label}不能为负数（当前为 {_fmt(value)} {meta.unit}）")
    if field == "employees" and value != value.to_integral_value():
        raise InvalidIndicator(field, f"{meta.label}应为整数（{meta.unit}）")
    return value


def _grade(group: _Group, values: Mapping[str, Decimal]) -> SizeClass:
    for level in _LEVELS:
        bounds = group.bounds[level]
        if all(values[name] >= bounds[name] for name in group.indicators):
            return level  # type: ignore[return-value]
    return "micro"


def _clause(name: str, value: Decimal, op: str, bound: Decimal) -> str:
    meta = _INDICATOR_META[name]
    return f"{meta.label} {_fmt(value)} {meta.unit} {op} {_fmt(bound)} {meta.unit}"


def _explain(group: _Group, values: Mapping[str, Decimal], size_class: SizeClass) -> str:
    """Say why: which bounds of the next level up were missed, which were met.

    Example: "工业：从业人员 15 人 < 20 人，属微型企业".
    """
    conclusion = f"属{_SIZE_LABELS[size_class]}企业"
    names = group.indicators
    met = ""
    if size_class != "micro":
        own = group.bounds[size_class]
        met = "，".join(_clause(n, values[n], "≥", own[n]) for n in names)
    if size_class == "large":
        return f"{group.label}：{met}，{conclusion}"
    above = _LEVELS[_LEVELS.index(size_class) - 1] if size_class != "micro" else "small"
    upper = group.bounds[above]
    missed = "，".join(
        _clause(n, values[n], "<", upper[n]) for n in names if values[n] < upper[n])
    if size_class == "micro":
        return f"{group.label}：{missed}，{conclusion}"
    return (f"{group.label}：{missed}，未达{_SIZE_LABELS[above]}企业标准；"
            f"{met}，{conclusion}")


def classify(
    *,
    industry_code: str,
    employees: int | None,
    revenue: Decimal | float | int | None,
    assets: Decimal | float | int | None = None,
) -> SizeResult:
    """Classify an enterprise as large/medium/small/micro.

    Units follow the standard: employees in 人, revenue (营业收入) and assets
    (资产总额) in 万元. Every supplied value is validated, even one the group
    does not use, because a negative or non-numeric figure is a data-entry
    error worth reporting wherever it is. Only the indicators the group uses
    influence the result and appear in ``inputs``.
    """
    division = lookup_industry(industry_code)
    group = _GROUPS[division.group_code]
    supplied = {"employees": employees, "revenue": revenue, "assets": assets}
    values = {name: _coerce(name, raw) for name, raw in supplied.items() if raw is not None}
    for name in group.indicators:
        if name not in values:
            meta = _INDICATOR_META[name]
            raise MissingIndicator(name, f"{group.label}划型需要填写{meta.label}（{meta.unit}）")
    used = {name: values[name] for name in group.indicators}
    size_class = _grade(group, used)
    return SizeResult(
        size_class=size_class,
        size_label=_SIZE_LABELS[size_class],
        group_code=group.code,
        group_label=group.label,
        rule_version=STANDARD_VERSION,
        inputs={name: _plain(v) for name, v in used.items()},
        basis=_explain(group, used, size_class),
    )
