"""Open data (公开数据): weekly demand counts by topic × department × industry group ×
size class × county, published without login, after disclosure control.

Why from the raw rows and not the fact tables: suppression needs the *distinct*
enterprises of every cell and of every margin and the grand total, and a distinct count
cannot be summed from daily cells (one enterprise asks on several days and in several
cells). A week is a few tens of thousands of cases at most, fetched as one row per
(cell, enterprise).

Only codes and counts leave: no case text, no enterprise, no person. A published week
is cached in Redis (one hour, so late re-classifications still reach it), but every
request is audited — for an anonymous caller, the IP only.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache

import orjson
from tortoise import connections

from services.errors import ValidationFailed
from services.insights import disclosure
from services.insights.rollup import TZ, bounds, dialect
from services.runtime import Runtime

DIMS = ("topic", "department", "industry_group", "size_class", "region_code")
NONE = "-"  # a dimension the case does not have (no topic, no department)
ALL = "*"  # in a total row: summed over this dimension
CACHE_SECONDS = 3600
SCHEMA_VERSION = 1

FIELDS = {
    "week": "ISO 周（YYYY-Www），周一 00:00 至下周一 00:00，北京时间",
    "row_type": "cell：五个维度的明细格；total：合计行（维度取值为 * 表示在该维度上合计）",
    "topic": "咨询主题编码（见 codes.topic）；- 表示未归类",
    "department": "承办部门编码（见 codes.department）；- 表示未分派",
    "industry_group": "行业组（GB/T 4754-2017 归并，见 codes.industry_group）",
    "size_class": "企业规模（见 codes.size_class）",
    "region_code": "企业注册地所在区县，6 位行政区划代码",
    "cases": "该周受理的咨询、建议、投诉件数（按受理时间）；被抑制时为空",
    "enterprises": "提出诉求的不同企业数；被抑制时为空",
    "suppressed": "是否被抑制：不足 5 家企业的格（首要抑制），以及为防止由合计相减反推而一并隐藏的格（补充抑制）",
    "generated_at": "生成时间（ISO 8601，北京时间）",
}


@lru_cache(maxsize=1)
def _industry_groups() -> dict[str, str]:
    from services.enterprises import sizing

    return {d.group_code: d.group_label for d in sizing.list_divisions()}


async def dictionary() -> dict:
    """The data dictionary: what every column means and what every code stands for."""
    from models import Department, Topic

    return {
        "title": "小微企业诉求周度统计（去标识化）",
        "schema_version": SCHEMA_VERSION,
        "disclosure": {"k": disclosure.K, "rule": "不足 k 家企业的格与合计不公布；任一公布的合计（行、列、总计）"
                                                 "中不会只隐藏一个成员，以免相减反推。不含任何文字内容。"},
        "fields": FIELDS,
        "codes": {
            "topic": {t.code: t.name for t in await Topic.all()},
            "department": {d.code: d.name for d in await Department.all()},
            "industry_group": _industry_groups(),
            "size_class": {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"},
        },
        "formats": {"json": "/api/v1/open-data/demand.json?week=YYYY-Www",
                    "csv": "/api/v1/open-data/demand.csv?week=YYYY-Www（UTF-8 带 BOM，Excel 可直接打开）"},
    }


def parse_week(value: str | None, *, now: datetime | None = None) -> date:
    """The Monday of ``YYYY-Www``; default the last complete week. Only complete weeks
    are published: a week still running would change under its cached copy."""
    this_monday = (now or datetime.now(TZ)).date()
    this_monday -= timedelta(days=this_monday.weekday())
    if not value:
        return this_monday - timedelta(days=7)
    try:
        year, week = value.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValidationFailed.field("week", "周次格式应为 YYYY-Www，例如 2025-W23", code="invalid_week") from None
    if monday >= this_monday:
        raise ValidationFailed.field("week", "只公布已结束的周", code="week_not_complete")
    if monday.year < 2000:
        raise ValidationFailed.field("week", "周次超出范围", code="invalid_week")
    return monday


def week_label(monday: date) -> str:
    y, w, _ = monday.isocalendar()
    return f"{y}-W{w:02d}"


async def _raw(monday: date) -> list[tuple[tuple[str, ...], int, int]]:
    """(cell key, enterprise id, cases) for every enterprise that asked that week."""
    d = dialect()
    lo, hi = bounds(monday, monday + timedelta(days=6))
    sql = (f"SELECT COALESCE(NULLIF(c.topic_code, ''), '{NONE}') AS topic, COALESCE(dp.code, '{NONE}') AS department, "
           "e.industry_group, e.size_class, e.region_code, c.enterprise_id, COUNT(*) AS n "
           "FROM consultation c JOIN enterprise e ON e.id = c.enterprise_id "
           "LEFT JOIN department dp ON dp.id = c.department_id "
           f"WHERE {d.in_range('c.accepted_at', lo, hi)} "
           "GROUP BY 1, 2, e.industry_group, e.size_class, e.region_code, c.enterprise_id")
    _, rows = await connections.get("default").execute_query(sql)
    return [((r["topic"], r["department"], r["industry_group"] or NONE, r["size_class"] or NONE,
              r["region_code"] or NONE), r["enterprise_id"], int(r["n"])) for r in rows]


def protect(raw: list[tuple[tuple[str, ...], int, int]]) -> disclosure.Protected:
    """Cells and totals with distinct enterprises counted from the raw rows."""
    cases: dict[tuple, int] = defaultdict(int)
    ents: dict[tuple, set] = defaultdict(set)
    margin: dict[tuple, set] = defaultdict(set)
    for key, ent, n in raw:
        cases[key] += n
        ents[key].add(ent)
        for i, v in enumerate(key):
            margin[(i, v)].add(ent)
        margin[(None, None)].add(ent)
    return disclosure.protect(DIMS, {k: (cases[k], len(ents[k])) for k in cases},
                              {k: len(v) for k, v in margin.items()})


def _total_rows(p: disclosure.Protected) -> list[dict]:
    out = []
    for (dim, value), t in sorted(p.totals.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or 0, kv[0][1] or "")):
        row = {name: (value if i == dim else ALL) for i, name in enumerate(DIMS)}
        row.update({"cases": None if t.suppressed else t.cases,
                    "enterprises": None if t.suppressed else t.enterprises, "suppressed": t.suppressed})
        out.append(row)
    return out


async def demand(rt: Runtime, monday: date) -> dict:
    """The published week (cached): cells, totals, dictionary, generation time."""
    key = f"{rt.keys.prefix}:open-data:demand:v{SCHEMA_VERSION}:{week_label(monday)}"
    cached = await rt.redis.get(key)
    if cached:
        return orjson.loads(cached)
    p = protect(await _raw(monday))
    doc = {"week": week_label(monday), "start": monday.isoformat(), "end": (monday + timedelta(days=6)).isoformat(),
           "generated_at": datetime.now(TZ).isoformat(timespec="seconds"), "k": disclosure.K,
           "rows": disclosure.rows(p), "totals": _total_rows(p), "dictionary": await dictionary()}
    await rt.redis.set(key, orjson.dumps(doc), ex=CACHE_SECONDS)
    return doc


CSV_COLUMNS = ("week", "row_type", *DIMS, "cases", "enterprises", "suppressed", "generated_at")


def to_csv(doc: dict) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Chinese headers correctly; suppressed
    figures are empty cells. The dictionary is at /api/v1/open-data/dictionary.json."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for kind, rows in (("cell", doc["rows"]), ("total", doc["totals"])):
        for r in rows:
            w.writerow([doc["week"], kind, *(r[d] for d in DIMS), "" if r["cases"] is None else r["cases"],
                        "" if r["enterprises"] is None else r["enterprises"], "true" if r["suppressed"] else "false",
                        doc["generated_at"]])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
