"""Eligibility rules of a policy (惠企政策适用条件) — a pure core: plain values in,
plain values out, no I/O, no clock (``today`` is always passed in).

A rule set is data, stored as JSON with the policy version::

    {
      "industries":   ["65", "70", "industry"],   # GB/T 4754 大类/中类 (prefix match) or
                                                  # size-standard groups (工信部联企业〔2011〕300号)
      "size_classes": ["small", "micro"],
      "regions":      ["4403", "440305"],          # GB/T 2260 prefixes
      "age_years":    {"min": 2, "max": 5},        # 成立满 2 年、不满 5 年
      "employees":    {"min": 0, "max": 100},      # 人, both ends included
      "revenue":      {"max": 2000},               # 上年营业收入, 万元, both ends included
      "tags":         ["high_tech"]                # holds at least one of these qualifications
    }

Every key is optional; an absent key is no condition. All present conditions must hold.

Unknown values are not failures. An enterprise that has not filled in its employees,
revenue or founding date is still *eligible*; the gap is reported in ``missing`` and
lowers the score, because the owner can fix it in a minute and we would rather show a
policy that may fit than hide it. Qualification tags are the exception: a tag is a
certificate the enterprise either holds or not, and treating "not declared" as
"unknown" would push every 高新技术企业 policy to every enterprise that never opened
the tag list — the opposite of precise push.

The same semantics are written once more as SQL in :mod:`services.policies.sql`;
property tests check that the two agree on random rules and enterprises.

Validation refuses a rule set that can never match anyone, with a Chinese message
naming the field: an empty allowed list, min > max, an impossible age range, an
industry code enterprises are never registered under, or a size class that the
employee/revenue ranges exclude under the size standard (e.g. 工业大型企业 with at
most 100 employees). "Can never match" is decided constructively: validation looks for
a witness profile that satisfies every condition (:func:`witness`), and the unit tests
check that the witness really is eligible and really has the size class it claims.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Final

from services.enterprises import sizing

__all__ = [
    "ENTERPRISE_TAGS", "POLICY_TYPES", "SIZE_CLASSES", "SIZE_LABELS", "InvalidRules", "Match",
    "Profile", "Rules", "add_years", "age_bounds", "compile_rules", "describe", "evaluate",
    "full_years", "industry_groups", "region_label", "validate", "witness",
]

POLICY_TYPES: Final[dict[str, str]] = {
    "reduction": "减免", "subsidy": "奖补", "right": "权益", "qualification": "资质",
}
SIZE_CLASSES: Final[tuple[str, ...]] = ("large", "medium", "small", "micro")
SIZE_LABELS: Final[dict[str, str]] = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}

#: Qualifications an enterprise can hold. A managed list (not free text) so that a
#: policy's tag and an enterprise's tag are spelled the same way.
ENTERPRISE_TAGS: Final[dict[str, str]] = {
    "high_tech": "高新技术企业",
    "tech_sme": "科技型中小企业",
    "specialized": "专精特新中小企业",
    "innovative": "创新型中小企业",
    "foreign_trade": "外贸进出口企业",
    "veteran_founded": "退役军人创办企业",
    "graduate_founded": "高校毕业生创办企业",
    "disabled_employment": "安置残疾人就业单位",
    "cultural": "文化创意企业",
    "green": "节能环保企业",
}

#: Names for messages only; any other valid code is shown as its digits. The demo
#: and the first deployment are in 深圳, so its districts are spelled out.
_REGION_NAMES: Final[dict[str, str]] = {
    "11": "北京市", "31": "上海市", "44": "广东省", "4401": "广州市", "4403": "深圳市",
    "4404": "珠海市", "4406": "佛山市", "4419": "东莞市", "440303": "罗湖区", "440304": "福田区",
    "440305": "南山区", "440306": "宝安区", "440307": "龙岗区", "440308": "盐田区",
    "440309": "龙华区", "440310": "坪山区", "440311": "光明区",
}
_PROVINCES: Final = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82"})

#: Enterprise founding dates are accepted from 1949 on (see the enterprise form).
EARLIEST_FOUNDING: Final = date(1949, 1, 1)
MAX_EMPLOYEES: Final = 10_000_000
MAX_REVENUE: Final = Decimal("10000000000")
MAX_LIST: Final = 100
_KEYS: Final = ("industries", "size_classes", "regions", "age_years", "employees", "revenue", "tags")
_LABELS: Final = {"industries": "适用行业", "size_classes": "企业规模", "regions": "适用地区",
                  "age_years": "成立年限", "employees": "从业人员", "revenue": "上年营业收入",
                  "tags": "企业资质"}

# How much each satisfied condition says about fit: a policy aimed at the enterprise's
# industry or qualification is a better match than one open to every size class.
_WEIGHTS: Final = {"industries": 3, "tags": 3, "age_years": 2, "size_classes": 1, "regions": 1,
                   "employees": 1, "revenue": 1}
_MAX_WEIGHT: Final = sum(_WEIGHTS.values())


# --------------------------------------------------------------------------- errors


class InvalidRules(ValueError):
    """The rule set is malformed or can never match. ``problems`` are
    ``[{"field", "message"}]`` with Chinese messages, ready for a 422."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(problems[0]["message"])
        self.problems = problems
        self.message = problems[0]["message"]


# --------------------------------------------------------------------------- industry catalogue
# The size standard's own tables are the one source of truth for industries, groups and
# thresholds; they are read here (not re-parsed from its files) so they cannot drift.
# They are module-private in ``sizing``, which offers no public accessor for the 大类
# names of split divisions or the bounds; read-only use, and the unit tests classify
# every witness with ``sizing.classify`` to catch a change of meaning.

_DIVISIONS: Final[dict[str, sizing.Division]] = {d.code: d for d in sizing.list_divisions()}
_MAJOR_NAMES: Final[dict[str, str]] = {code: name for code, (name, _s) in sizing._MAJORS.items()}
_SPLIT: Final[dict[str, tuple[str, ...]]] = {m: tuple(d.code for d in ds) for m, ds in sizing._SPLIT.items()}
_GROUPS: Final = sizing._GROUPS
_GROUP_LABELS: Final[dict[str, str]] = {code: g.label for code, g in _GROUPS.items()}


def _first_division_of_each_group() -> dict[str, str]:
    """A representative enterprise industry code per group, for witnesses."""
    out: dict[str, str] = {}
    for division in sorted(_DIVISIONS.values(), key=lambda d: d.code):
        out.setdefault(division.group_code, division.code)
    return out


_GROUP_DIVISION: Final[dict[str, str]] = _first_division_of_each_group()


def industry_groups() -> dict[str, str]:
    """Size-standard groups usable in ``industries`` (code -> Chinese label)."""
    return dict(_GROUP_LABELS)


@lru_cache(maxsize=512)
def _industry_name(code: str) -> str:
    division = _DIVISIONS.get(code)
    if division is not None:
        return division.name
    if code in _MAJOR_NAMES:
        return _MAJOR_NAMES[code]
    try:
        return sizing.lookup_industry(code).name
    except sizing.UnknownIndustry:
        return code


def _industry_item_label(item: str) -> str:
    if item in _GROUP_LABELS:
        return _GROUP_LABELS[item]
    return f"{_industry_name(item)}（{item}）"


def region_label(prefix: str) -> str:
    name = _REGION_NAMES.get(prefix)
    return f"{name}（{prefix}）" if name else f"行政区划 {prefix}"


# --------------------------------------------------------------------------- dates


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (earlier if negative); 29 February becomes
    the 28th in a common year. Both the Python check and the SQL parameters use this
    one function, so they agree on leap days."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def full_years(since: date, today: date) -> int:
    """Completed years between two dates (an enterprise founded 2021-04-16 is 3 on 2024-04-16).

    Counted by shifting *today* back, exactly as the rule window and the SQL do (the SQL
    can only shift the one ``today``, not every founding date): an enterprise founded
    on 29 February completes a year on 1 March of a common year."""
    years = today.year - since.year
    return years - 1 if since > add_years(today, -years) else years


def age_bounds(age: Mapping[str, int], today: date) -> tuple[date | None, date | None]:
    """Founding-date window for "成立满 min 年、不满 max 年":
    ``founded_on <= latest`` and ``founded_on > earliest_excluded``."""
    latest = add_years(today, -age["min"]) if age.get("min") is not None else None
    excluded = add_years(today, -age["max"]) if age.get("max") is not None else None
    return latest, excluded


# --------------------------------------------------------------------------- formatting


def _fmt(value: Decimal | int) -> str:
    if isinstance(value, int):
        return str(value)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _range_text(lo: Any, hi: Any, unit: str) -> str:
    if lo is not None and hi is not None:
        return f"{_fmt(lo)}{unit}" if lo == hi else f"{_fmt(lo)}–{_fmt(hi)}{unit}"
    if lo is not None:
        return f"不少于{_fmt(lo)}{unit}"
    return f"不超过{_fmt(hi)}{unit}"


def _age_text(lo: int | None, hi: int | None) -> str:
    if lo and hi is not None:
        return f"成立满{lo}年、不满{hi}年"
    if hi is not None:
        return f"成立不满{hi}年"
    return f"成立满{lo}年"


# --------------------------------------------------------------------------- compiled form


@dataclass(frozen=True)
class Rules:
    """A validated rule set in the form :func:`evaluate` reads fast (compiled once per
    policy, not once per enterprise)."""

    industry_codes: tuple[str, ...] | None = None
    industry_groups: frozenset[str] = frozenset()
    size_classes: frozenset[str] | None = None
    regions: tuple[str, ...] | None = None
    age_min: int | None = None
    age_max: int | None = None
    employees_min: int | None = None
    employees_max: int | None = None
    revenue_min: Decimal | None = None
    revenue_max: Decimal | None = None
    tags: frozenset[str] | None = None
    texts: dict[str, str] = field(default_factory=dict)  # condition -> requirement in Chinese

    @property
    def has_industry(self) -> bool:
        return self.industry_codes is not None


def _dec(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def compile_rules(rules: Mapping[str, Any]) -> Rules:
    """Compile a *validated* (normalised) rule dict."""
    texts: dict[str, str] = {}
    kw: dict[str, Any] = {}
    if (items := rules.get("industries")) is not None:
        kw["industry_codes"] = tuple(i for i in items if i.isdigit())
        kw["industry_groups"] = frozenset(i for i in items if not i.isdigit())
        texts["industries"] = "、".join(_industry_item_label(i) for i in items)
    if (sizes := rules.get("size_classes")) is not None:
        kw["size_classes"] = frozenset(sizes)
        texts["size_classes"] = "、".join(SIZE_LABELS[s] for s in SIZE_CLASSES if s in sizes)
    if (regions := rules.get("regions")) is not None:
        kw["regions"] = tuple(regions)
        texts["regions"] = "、".join(region_label(r) for r in regions)
    if (age := rules.get("age_years")) is not None:
        kw["age_min"], kw["age_max"] = age.get("min"), age.get("max")
        texts["age_years"] = _age_text(kw["age_min"], kw["age_max"])
    if (emp := rules.get("employees")) is not None:
        kw["employees_min"], kw["employees_max"] = emp.get("min"), emp.get("max")
        texts["employees"] = _range_text(kw["employees_min"], kw["employees_max"], "人")
    if (rev := rules.get("revenue")) is not None:
        lo, hi = rev.get("min"), rev.get("max")
        kw["revenue_min"] = None if lo is None else _dec(lo)
        kw["revenue_max"] = None if hi is None else _dec(hi)
        texts["revenue"] = _range_text(kw["revenue_min"], kw["revenue_max"], "万元")
    if (tags := rules.get("tags")) is not None:
        kw["tags"] = frozenset(tags)
        texts["tags"] = "、".join(ENTERPRISE_TAGS[t] for t in tags)
    return Rules(texts=texts, **kw)


def describe(rules: Mapping[str, Any] | Rules) -> list[str]:
    """The conditions as short Chinese lines for people (console, policy page)."""
    compiled = rules if isinstance(rules, Rules) else compile_rules(rules)
    if not compiled.texts:
        return ["不限条件，各类企业均可享受"]
    lines = []
    for key in _KEYS:
        if key in compiled.texts:
            text = compiled.texts[key]
            if key == "tags":
                text += "（具备其一即可）"
            lines.append(f"企业{text}" if key == "age_years" else f"{_LABELS[key]}：{text}")
    return lines


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Profile:
    """What matching needs to know about an enterprise. ``None`` means not filled in."""

    industry_code: str
    industry_group: str
    size_class: str
    region_code: str
    employees: int | None = None
    revenue: Decimal | None = None
    founded_on: date | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    eligible: bool
    score: int  # 0–100, higher is a better fit; only meaningful when eligible
    reasons: tuple[str, ...]
    missing: tuple[dict[str, str], ...]  # [{"field", "message"}]: unmet or not filled in
    unfilled: int = 0  # how many of ``missing`` are profile fields not filled in


def evaluate(rules: Mapping[str, Any] | Rules, profile: Profile, *, today: date) -> Match:
    """Does ``profile`` fit ``rules``, why, and what is missing.

    ``eligible`` is False as soon as one condition is not met by a filled-in value;
    a condition over a field the enterprise has not filled in is listed in
    ``missing`` but does not make it ineligible.
    """
    r = rules if isinstance(rules, Rules) else compile_rules(rules)
    reasons: list[str] = []
    missing: list[dict[str, str]] = []
    eligible = True
    earned = 0
    met = 0
    unfilled = 0

    if r.industry_codes is not None:
        code = profile.industry_code
        own = f"{_industry_name(code)}（{code}）"
        if profile.industry_group in r.industry_groups or any(code.startswith(c) for c in r.industry_codes):
            reasons.append(f"所属行业为{own}，符合“{r.texts['industries']}”要求")
            earned += _WEIGHTS["industries"]
            met += 1
        else:
            eligible = False
            missing.append({"field": "industry_code",
                            "message": f"政策适用行业为“{r.texts['industries']}”，企业所属行业为{own}"})

    if r.size_classes is not None:
        label = SIZE_LABELS.get(profile.size_class, profile.size_class)
        if profile.size_class in r.size_classes:
            reasons.append(f"企业规模为{label}，符合“{r.texts['size_classes']}”要求")
            earned += _WEIGHTS["size_classes"]
            met += 1
        else:
            eligible = False
            missing.append({"field": "size_class",
                            "message": f"政策面向“{r.texts['size_classes']}”企业，企业规模为{label}"})

    if r.regions is not None:
        own = region_label(profile.region_code)
        if any(profile.region_code.startswith(p) for p in r.regions):
            reasons.append(f"注册地为{own}，符合“{r.texts['regions']}”要求")
            earned += _WEIGHTS["regions"]
            met += 1
        else:
            eligible = False
            missing.append({"field": "region_code",
                            "message": f"政策适用地区为“{r.texts['regions']}”，企业注册地为{own}"})

    if r.age_min is not None or r.age_max is not None:
        need = r.texts["age_years"]
        if profile.founded_on is None:
            unfilled += 1
            missing.append({"field": "founded_on",
                            "message": f"政策要求企业{need}，请在企业资料中填写成立日期"})
        else:
            latest, excluded = age_bounds({"min": r.age_min, "max": r.age_max}, today)
            years = full_years(profile.founded_on, today)
            if (latest is None or profile.founded_on <= latest) and (excluded is None or profile.founded_on > excluded):
                reasons.append(f"企业成立{years}年，符合“{need}”要求")
                earned += _WEIGHTS["age_years"]
                met += 1
            else:
                eligible = False
                missing.append({"field": "founded_on",
                                "message": f"政策要求企业{need}，企业成立{years}年"})

    # Employees and revenue are the same kind of condition: an inclusive range on a
    # profile figure that may be blank (blank lowers the score, it does not disqualify).
    for name, label, lo, hi, value, shown in (
        ("employees", "从业人员", r.employees_min, r.employees_max, profile.employees,
         lambda v: f"{v}人"),
        ("revenue", "上年营业收入", r.revenue_min, r.revenue_max, profile.revenue,
         lambda v: f"{_fmt(v)}万元"),
    ):
        if lo is None and hi is None:
            continue
        need = r.texts[name]
        if value is None:
            unfilled += 1
            missing.append({"field": name, "message": f"政策要求{label}{need}，请在企业资料中填写{label}"
                            + ("数" if name == "employees" else "")})
        elif (lo is None or value >= lo) and (hi is None or value <= hi):
            reasons.append(f"{label}{shown(value)}，符合“{need}”要求")
            earned += _WEIGHTS[name]
            met += 1
        else:
            eligible = False
            missing.append({"field": name, "message": f"政策要求{label}{need}，企业为{shown(value)}"})

    if r.tags is not None:
        held = sorted(profile.tags & r.tags)
        if held:
            names = "、".join(ENTERPRISE_TAGS[t] for t in held)
            reasons.append(f"企业具有“{names}”资质，符合要求")
            earned += _WEIGHTS["tags"]
            met += 1
        else:
            eligible = False
            missing.append({"field": "tags",
                            "message": f"政策要求企业具有“{r.texts['tags']}”资质之一；"
                                       f"如已取得，请在企业资料中补充资质标签"})

    # Half certainty (the share of conditions known to hold, so a blank field lowers the
    # score), half specificity (how targeted the satisfied conditions are, so a policy
    # written for this industry or qualification ranks above one open to everybody).
    considered = met + unfilled
    certainty = 1.0 if considered == 0 else met / considered
    score = round(50 * certainty + 50 * earned / _MAX_WEIGHT)
    return Match(eligible=eligible, score=score if eligible else 0, reasons=tuple(reasons),
                 missing=tuple(missing), unfilled=unfilled)


# --------------------------------------------------------------------------- validation


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, key: str, message: str) -> None:
        self.items.append({"field": f"rules.{key}", "message": message})


def _str_list(raw: Any, key: str, problems: _Problems) -> list[str] | None:
    if not isinstance(raw, (list, tuple)):
        problems.add(key, f"{_LABELS[key]}应为列表")
        return None
    if not raw:
        problems.add(key, f"{_LABELS[key]}的可选范围为空，任何企业都不可能符合；不限{_LABELS[key]}请删除该条件")
        return None
    if len(raw) > MAX_LIST:
        problems.add(key, f"{_LABELS[key]}最多 {MAX_LIST} 项")
        return None
    out: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            problems.add(key, f"{_LABELS[key]}的每一项都应为文本")
            return None
        text = unicodedata.normalize("NFKC", item).strip()
        if text not in out:
            out.append(text)
    return out


def _industries(raw: Any, problems: _Problems) -> list[str] | None:
    items = _str_list(raw, "industries", problems)
    if items is None:
        return None
    out: list[str] = []
    ok = True
    for item in items:
        if item.isascii() and item.isdigit():
            if len(item) == 2 and item in _MAJOR_NAMES:
                out.append(item)
                continue
            if len(item) == 3 and item in _DIVISIONS:
                out.append(item)
                continue
            ok = False
            major = item[:2]
            if len(item) < 2 or major not in _MAJOR_NAMES:
                problems.add("industries", f"《国民经济行业分类》（GB/T 4754-2017）中没有行业代码 {item}")
            elif major in _SPLIT and len(item) == 3:
                choices = "、".join(f"{c} {_industry_name(c)}" for c in _SPLIT[major])
                problems.add("industries", f"行业大类 {major} {_MAJOR_NAMES[major]} 下没有中类 {item}，请选择：{choices}")
            else:
                # Enterprises are registered (and classified) at 大类 level, or 中类 where
                # the 大类 is split: a finer code could never equal a stored one.
                hint = (f"可填写 {major}（{_MAJOR_NAMES[major]}）或其中类："
                        + "、".join(_SPLIT[major])) if major in _SPLIT else f"请填写 {major}（{_MAJOR_NAMES[major]}）"
                problems.add("industries", f"行业代码 {item} 过细：企业按行业大类登记，规则中的行业只能细到大类，"
                                           f"房地产业、装卸搬运和仓储业可细到中类；{hint}")
        elif item in _GROUP_LABELS:
            out.append(item)
        else:
            ok = False
            groups = "、".join(f"{c}（{label}）" for c, label in _GROUP_LABELS.items())
            problems.add("industries", f"未知的行业“{item}”：请填写 GB/T 4754-2017 行业代码，或划型行业类别之一：{groups}")
    return out if ok else None


def _size_classes(raw: Any, problems: _Problems) -> list[str] | None:
    items = _str_list(raw, "size_classes", problems)
    if items is None:
        return None
    unknown = [i for i in items if i not in SIZE_LABELS]
    if unknown:
        problems.add("size_classes", f"未知的企业规模“{'、'.join(unknown)}”，只能是 large（大型）、medium（中型）、"
                                     f"small（小型）、micro（微型）")
        return None
    return [s for s in SIZE_CLASSES if s in items]


def _regions(raw: Any, problems: _Problems) -> list[str] | None:
    items = _str_list(raw, "regions", problems)
    if items is None:
        return None
    prefixes: list[str] = []
    for item in items:
        if not (item.isascii() and item.isdigit() and len(item) in (2, 4, 6)):
            problems.add("regions", f"地区代码“{item}”格式不正确：应为 GB/T 2260 行政区划代码（2、4 或 6 位数字，如 44、4403、440305）")
            return None
        # 440300 is 深圳市 as a whole and 440000 广东省: in GB/T 2260 trailing 00 pairs
        # mean "every division below", so they are dropped to make a prefix.
        code = item
        while len(code) > 2 and code.endswith("00"):
            code = code[:-2]
        if code[:2] not in _PROVINCES:
            problems.add("regions", f"地区代码“{item}”不存在（前两位应为省级代码）")
            return None
        prefixes.append(code)
    # A prefix inside another listed one adds nothing.
    kept = [p for p in dict.fromkeys(prefixes) if not any(p != q and p.startswith(q) for q in prefixes)]
    return kept


def _int_or_none(value: Any, key: str, end: str, problems: _Problems) -> tuple[bool, int | None]:
    if value is None:
        return True, None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and (not math.isfinite(value) or value != int(value))):
        problems.add(key, f"{_LABELS[key]}的{end}应为整数")
        return False, None
    return True, int(value)


def _range(raw: Any, key: str, problems: _Problems) -> dict[str, Any] | None | bool:
    """Returns the normalised range, None for "no condition", or False when refused."""
    if not isinstance(raw, Mapping):
        problems.add(key, f"{_LABELS[key]}应为 {{\"min\": …, \"max\": …}}")
        return False
    extra = set(raw) - {"min", "max"}
    if extra:
        problems.add(key, f"{_LABELS[key]}只能包含 min 和 max")
        return False
    if raw.get("min") is None and raw.get("max") is None:
        return None
    return dict(raw)


def _age(raw: Any, problems: _Problems, today: date) -> dict[str, int] | None | bool:
    rng = _range(raw, "age_years", problems)
    if not rng:
        return rng
    ok_lo, lo = _int_or_none(rng.get("min"), "age_years", "下限（满几年）", problems)
    ok_hi, hi = _int_or_none(rng.get("max"), "age_years", "上限（不满几年）", problems)
    if not (ok_lo and ok_hi):
        return False
    oldest = full_years(EARLIEST_FOUNDING, today)
    if lo is not None and lo < 0 or hi is not None and hi < 0:
        problems.add("age_years", "成立年限不能为负数")
        return False
    if hi is not None and hi == 0:
        problems.add("age_years", "“成立不满0年”的企业不存在，请把上限设为至少 1 年")
        return False
    if lo is not None and hi is not None and lo >= hi:
        problems.add("age_years", f"成立年限范围不可能满足：不存在{_age_text(lo, hi)}的企业（下限应小于上限）")
        return False
    if lo is not None and lo > oldest:
        problems.add("age_years", f"不存在成立满{lo}年的企业（成立日期最早为1949年，至多满{oldest}年）")
        return False
    out: dict[str, int] = {}
    if lo:  # "满 0 年" is every enterprise: no lower bound
        out["min"] = lo
    if hi is not None:
        out["max"] = hi
    return out or None


def _employees(raw: Any, problems: _Problems) -> dict[str, int] | None | bool:
    rng = _range(raw, "employees", problems)
    if not rng:
        return rng
    ok_lo, lo = _int_or_none(rng.get("min"), "employees", "下限", problems)
    ok_hi, hi = _int_or_none(rng.get("max"), "employees", "上限", problems)
    if not (ok_lo and ok_hi):
        return False
    for v in (lo, hi):
        if v is not None and not 0 <= v <= MAX_EMPLOYEES:
            problems.add("employees", f"从业人员应在 0–{MAX_EMPLOYEES} 人之间")
            return False
    if lo is not None and hi is not None and lo > hi:
        problems.add("employees", f"从业人员下限（{lo}人）大于上限（{hi}人），任何企业都不可能符合")
        return False
    # Figures are never negative, so a lower bound of 0 says nothing.
    return {k: v for k, v in (("min", lo or None), ("max", hi)) if v is not None} or None


def _amount(value: Any, key: str, end: str, problems: _Problems) -> tuple[bool, Decimal | None]:
    if value is None:
        return True, None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        problems.add(key, f"{_LABELS[key]}的{end}应为数字（万元）")
        return False, None
    try:
        number = _dec(value)
    except (InvalidOperation, ValueError):
        problems.add(key, f"{_LABELS[key]}的{end}应为数字（万元）")
        return False, None
    if not number.is_finite() or not 0 <= number <= MAX_REVENUE:
        problems.add(key, f"{_LABELS[key]}应在 0–{_fmt(MAX_REVENUE)} 万元之间")
        return False, None
    # Enterprise figures are kept to 0.01 万元; a finer bound would only mislead.
    return True, number.quantize(Decimal("0.01"))


def _revenue(raw: Any, problems: _Problems) -> dict[str, Any] | None | bool:
    rng = _range(raw, "revenue", problems)
    if not rng:
        return rng
    ok_lo, lo = _amount(rng.get("min"), "revenue", "下限", problems)
    ok_hi, hi = _amount(rng.get("max"), "revenue", "上限", problems)
    if not (ok_lo and ok_hi):
        return False
    if lo is not None and hi is not None and lo > hi:
        problems.add("revenue", f"上年营业收入下限（{_fmt(lo)}万元）大于上限（{_fmt(hi)}万元），任何企业都不可能符合")
        return False

    def plain(v: Decimal) -> int | float:
        return int(v) if v == v.to_integral_value() else float(v)

    return {k: plain(v) for k, v in (("min", lo or None), ("max", hi)) if v is not None} or None


def _tags(raw: Any, problems: _Problems) -> list[str] | None:
    items = _str_list(raw, "tags", problems)
    if items is None:
        return None
    unknown = [t for t in items if t not in ENTERPRISE_TAGS]
    if unknown:
        known = "、".join(f"{k}（{v}）" for k, v in ENTERPRISE_TAGS.items())
        problems.add("tags", f"未知的企业资质“{'、'.join(unknown)}”，可选：{known}")
        return None
    return items


def validate(raw: Mapping[str, Any] | None, *, today: date) -> dict[str, Any]:
    """Check and normalise a rule set; raise :class:`InvalidRules` listing every problem.

    Normal form: only keys that carry a condition; lists de-duplicated (sizes in
    canonical order, regions as prefixes); ranges with only the ends given.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidRules([{"field": "rules", "message": "适用条件应为 JSON 对象"}])
    problems = _Problems()
    unknown = [k for k in raw if k not in _KEYS]
    for key in unknown:
        problems.items.append({"field": f"rules.{key}",
                               "message": f"不支持的条件“{key}”，可用的条件：{'、'.join(_KEYS)}"})
    out: dict[str, Any] = {}
    checks = {"industries": _industries, "size_classes": _size_classes, "regions": _regions,
              "employees": _employees, "revenue": _revenue, "tags": _tags}
    for key in _KEYS:
        if key not in raw or raw[key] is None:
            continue
        value = _age(raw[key], problems, today) if key == "age_years" else checks[key](raw[key], problems)
        if value:
            out[key] = value
    if problems.items:
        raise InvalidRules(problems.items)
    if witness(out, today=today) is None:
        raise InvalidRules([{"field": "rules.size_classes", "message": _infeasible_message(out)}])
    return out


def _infeasible_message(rules: Mapping[str, Any]) -> str:
    r = compile_rules(rules)
    ranges = "、".join(f"{_LABELS[k]}“{r.texts[k]}”" for k in ("employees", "revenue") if k in r.texts)
    scope = f"在“{r.texts['industries']}”中，" if "industries" in r.texts else ""
    return (f"适用条件不可能同时满足：按《中小企业划型标准规定》，{scope}{ranges}的企业"
            f"不可能被划为“{r.texts.get('size_classes', '')}”。请调整企业规模或人数、营业收入范围")


# --------------------------------------------------------------------------- witness


_INF: Final = Decimal("Infinity")


def _size_point(group_code: str, size: str, ranges: Mapping[str, tuple[Decimal, Decimal]]) -> dict[str, Decimal] | None:
    """Indicator values inside ``ranges`` that the size standard grades as ``size``
    for ``group_code``, or None if there are none.

    Grading is monotone (a level needs *every* indicator at or above its bound), so the
    smallest admissible value of each indicator decides: with v_i = max(lo_i, bound_i)
    all at-or-above the level and at least one below the next level up, the class is
    exactly ``size``.
    """
    group = _GROUPS[group_code]
    names = group.indicators
    lo = {n: ranges.get(n, (Decimal(0), _INF))[0] for n in names}
    hi = {n: ranges.get(n, (Decimal(0), _INF))[1] for n in names}
    if size == "micro":
        below = [n for n in names if lo[n] < group.bounds["small"][n]]
        return {n: lo[n] for n in names} if below else None
    level = group.bounds[size]
    if any(hi[n] < level[n] for n in names):
        return None
    point = {n: max(lo[n], level[n]) for n in names}
    if size == "large":
        return point
    upper = group.bounds["large" if size == "medium" else "medium"]
    return point if any(point[n] < upper[n] for n in names) else None


def _candidates(industries: Iterable[str] | None) -> list[tuple[str, str]]:
    """(enterprise industry code, group) pairs an enterprise within ``industries`` can have."""
    if industries is None:
        return [(code, group) for group, code in _GROUP_DIVISION.items()]
    out: dict[str, str] = {}
    for item in industries:
        if not item.isdigit():
            out.setdefault(_GROUP_DIVISION[item], item)
        elif item in _SPLIT:
            for child in _SPLIT[item]:
                out.setdefault(child, _DIVISIONS[child].group_code)
        else:
            out.setdefault(item, _DIVISIONS[item].group_code)
    return list(out.items())


def witness(rules: Mapping[str, Any], *, today: date) -> Profile | None:
    """An enterprise profile that satisfies every condition with every field filled in,
    or None when no enterprise can. ``rules`` must be normalised (see :func:`validate`)."""
    r = compile_rules(rules)
    ranges: dict[str, tuple[Decimal, Decimal]] = {}
    if r.employees_min is not None or r.employees_max is not None:
        ranges["employees"] = (Decimal(r.employees_min or 0),
                               _INF if r.employees_max is None else Decimal(r.employees_max))
    if r.revenue_min is not None or r.revenue_max is not None:
        ranges["revenue"] = (r.revenue_min or Decimal(0), _INF if r.revenue_max is None else r.revenue_max)
    sizes = [s for s in SIZE_CLASSES if r.size_classes is None or s in r.size_classes]
    for code, group in _candidates(rules.get("industries")):
        for size in sizes:
            point = _size_point(group, size, ranges)
            if point is None:
                continue
            employees = point.get("employees", ranges.get("employees", (Decimal(0),))[0])
            revenue = point.get("revenue", ranges.get("revenue", (Decimal(0),))[0])
            founded = add_years(today, -(r.age_min or 0))
            region = (r.regions[0] if r.regions else "4403").ljust(6, "0")
            return Profile(industry_code=code, industry_group=group, size_class=size, region_code=region,
                           employees=int(employees), revenue=revenue.quantize(Decimal("0.01")),
                           founded_on=founded, tags=frozenset(sorted(r.tags)[:1]) if r.tags else frozenset())
    return None


def witness_assets(profile: Profile) -> Decimal | None:
    """Assets for classifying a witness: the standard's asset bounds never constrain it
    beyond the lowest level, so 0 (or the large bound, when needed) is enough."""
    group = _GROUPS[profile.industry_group]
    if "assets" not in group.indicators:
        return None
    level = profile.size_class if profile.size_class != "micro" else None
    return Decimal(0) if level is None else group.bounds[level]["assets"]
