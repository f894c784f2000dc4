"""XLSX export of a dashboard view — what is on screen, after disclosure control.

Every exported table is one ``disclosure.protect`` run: each row is a cell keyed by its
labels, with the *distinct* enterprises behind it counted from the raw rows (the fact
tables only hold per-day distinct counts, which do not add up), so that no row
describing 1–4 enterprises leaves the console, and no published total gives a hidden
row back by subtraction. A hidden row keeps its labels and loses every figure — rates
included, since a rate and a neighbour's count can reveal a count. Free text never
leaves: emerging-topic clusters (built from question text) are not exportable, and the
labels are catalogue names and codes only.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections

from services.insights import disclosure
from services.insights import views as V
from services.insights.rollup import TZ, bounds, dialect
from services.runtime import Runtime

VIEWS = {"trends": "咨询趋势", "rising": "上升主题", "friction": "事项摩擦指数", "departments": "部门绩效",
         "policy-reach": "政策触达", "bundles": "一口受理候选"}


@dataclass
class Table:
    title: str
    dims: tuple[str, ...]  # the key's parts, for disclosure margins
    columns: list[tuple[str, str]]  # (field, header)
    rows: list[dict] = field(default_factory=list)  # each with "_key" (tuple) and "_cases"
    cells: dict[tuple, set] = field(default_factory=dict)  # key → distinct enterprises (raw)


def _margins(cells: dict[tuple, set]) -> dict[tuple, int]:
    out: dict[tuple, set] = defaultdict(set)
    for key, ents in cells.items():
        for i, v in enumerate(key):
            out[(i, v)] |= ents
        out[(None, None)] |= ents
    return {k: len(v) for k, v in out.items()}


def protect(t: Table) -> tuple[list[dict], dict | None]:
    """Published rows (suppressed ones with figures blanked) and the grand total row,
    or None when it has to be withheld."""
    cells = {r["_key"]: (r["_cases"], len(t.cells.get(r["_key"], ()))) for r in t.rows}
    margins = _margins({k: v for k, v in t.cells.items() if k in cells})
    p = disclosure.protect(t.dims, cells, margins)
    labels = {f for f, _ in t.columns if f.startswith("label") or f in ("week", "key")}
    out = []
    for r in t.rows:
        c = p.cells[r["_key"]]
        row = {f: (r.get(f) if not c.suppressed or f in labels else None) for f, _ in t.columns}
        row["enterprises"] = None if c.suppressed else c.enterprises
        row["suppressed"] = c.suppressed
        out.append(row)
    grand = p.totals[(None, None)]
    total = None if grand.suppressed else {"cases": grand.cases, "enterprises": grand.enterprises}
    return out, total


async def _distinct(f: V.Filters, keys: Sequence[str], *, events: bool = True) -> list[tuple]:
    """(key…, enterprise) pairs of consultations in the period — by intake only, or
    (``events``) also answered or closed in it, since a row's figures count those."""
    d = dialect()
    lo, hi = bounds(f.since, f.until)
    cond = [d.in_range("c.accepted_at", lo, hi)]
    if events:
        cond += [d.in_range("c.first_answered_at", lo, hi), d.in_range("c.closed_at", lo, hi)]
    where, params = [f"({' OR '.join(cond)})"], []
    ph = (lambda: f"${len(params)}") if d.pg else (lambda: "?")
    for col, value in (("c.department_id", f.department_id), ("e.region_code", f.region_code),
                       ("e.industry_group", f.industry_group), ("e.size_class", f.size_class)):
        if value:
            params.append(value)
            where.append(f"{col} = {ph()}")
    sql = (f"SELECT DISTINCT {', '.join(f'{k} AS k{i}' for i, k in enumerate(keys))}, c.enterprise_id AS ent "
           f"FROM consultation c JOIN enterprise e ON e.id = c.enterprise_id WHERE {' AND '.join(where)}")
    _, rows = await connections.get("default").execute_query(sql, params)
    return [tuple(r[f"k{i}"] for i in range(len(keys))) + (r["ent"],) for r in rows]


def _collect(pairs: list[tuple], key: Callable[[tuple], tuple | None]) -> dict[tuple, set]:
    out: dict[tuple, set] = defaultdict(set)
    for p in pairs:
        k = key(p[:-1])
        if k is not None:
            out[k].add(p[-1])
    return dict(out)


def _week_sql() -> str:
    d = dialect()
    if d.pg:
        return "CAST(date_trunc('week', c.accepted_at AT TIME ZONE 'Asia/Shanghai') AS date)"
    return "date(c.accepted_at, '+8 hours', 'weekday 0', '-6 days')"


async def build(rt: Runtime, view: str, f: V.Filters, **opts: Any) -> list[Table]:
    if view == "trends":
        dim = opts.get("dimension", "topic")
        data = await V.trends(rt, f, dim)
        col = {"topic": "COALESCE(c.topic_code, '')", "department": "COALESCE(c.department_id, 0)",
               "item": "COALESCE(c.service_item_id, 0)"}[dim]
        shown = {s["key"] for s in data["series"]}
        t = Table("咨询趋势", ("week", "key"), [("week", "周（周一）"), ("label", "分组"), ("cases", "件数"),
                                             ("wow", "环比")])
        for s in data["series"]:
            for w, n, c in zip(data["weeks"], s["cases"], s["wow"]):
                t.rows.append({"_key": (w.isoformat(), s["key"]), "_cases": n, "week": w.isoformat(),
                               "label": s["label"], "cases": n, "wow": c})
        pairs = await _distinct(f, [_week_sql(), col], events=False)
        t.cells = _collect(pairs, lambda k: (str(k[0]), str(k[1]) if str(k[1]) in shown else "_other"))
        return [t]
    if view == "rising":
        data = await V.rising(rt, f)
        t = Table("上升主题", ("key",), [("key", "主题编码"), ("label", "主题"), ("this_week", "本周件数"),
                                      ("baseline_mean", "前8周周均"), ("ratio", "倍数"), ("p_value", "p 值"),
                                      ("rising", "显著上升")])
        for r in data["topics"]:
            t.rows.append({"_key": (r["topic_code"],), "_cases": r["this_week"], "key": r["topic_code"], **r})
        week = V.Filters(data["week_start"], data["week_end"], f.department_id, f.region_code, f.industry_group,
                         f.size_class)
        t.cells = _collect(await _distinct(week, ["COALESCE(c.topic_code, '')"], events=False), lambda k: (k[0],))
        return [t]
    if view == "friction":
        data = await V.friction(rt, f)
        t = Table("事项摩擦指数", ("key",), [("key", "事项编号"), ("label", "事项"), ("label_department", "部门"),
                                       ("score", "摩擦指数"), ("cases", "件数"), ("cases_per_1000", "每千户件数"),
                                       ("repeat_share", "重复咨询占比"), ("close_hours", "平均办结小时"),
                                       ("overdue_share", "超期占比"), ("poor_share", "差评占比"),
                                       ("element_complaints_per_100", "要素投诉/百件"), ("drivers_text", "主要因素")])
        for r in data["items"]:
            t.rows.append({"_key": (str(r["service_item_id"]),), "_cases": r["cases"], "key": r["service_item_id"],
                           "label_department": r["department"], "drivers_text": "、".join(r["drivers"]), **r})
        t.cells = _collect(await _distinct(f, ["COALESCE(c.service_item_id, 0)"]), lambda k: (str(k[0]),))
        return [t]
    if view == "departments":
        data = await V.departments(rt, f)
        t = Table("部门绩效", ("key",), [("key", "部门编码"), ("label", "部门"), ("cases", "件数"),
                                      ("on_time_rate", "按时答复率"), ("rating_mean", "平均评分"),
                                      ("satisfied_share", "满意（4–5分）占比"), ("rectifications_opened", "整改发起"),
                                      ("rectifications_closed", "整改办结"), ("callback_rate", "回访完成率")])
        for r in data["departments"]:
            t.rows.append({"_key": (str(r["department_id"]),), "_cases": r["cases"], **r, "key": r["code"]})
        t.cells = _collect(await _distinct(f, ["COALESCE(c.department_id, 0)"]), lambda k: (str(k[0]),))
        return [t]
    if view == "policy-reach":
        data = await V.policy_reach(rt, f)
        pairs = await _policy_pairs(f)
        tables = []
        for dim, title, rows in (("size_class", "政策触达（按规模）", data["by_size_class"]),
                                 ("industry_group", "政策触达（按行业）", data["by_industry_group"])):
            t = Table(title, ("key",), [("key", "编码"), ("label", "分组"), ("matched", "匹配"),
                                        ("delivered", "送达"), ("read", "阅读"), ("consented", "免申即享确认"),
                                        ("followups", "追问")])
            for r in rows:
                t.rows.append({"_key": (r["key"],), "_cases": r["matched"], **r})
            i = 0 if dim == "size_class" else 1
            t.cells = _collect([(p[i], p[2]) for p in pairs], lambda k: (str(k[0]),))
            tables.append(t)
        return tables
    if view == "bundles":
        data = await V.bundles(rt, f, min_enterprises=max(disclosure.K, int(opts.get("min_enterprises") or 0)))
        t = Table("一口受理候选", ("key",), [("key", "事项编号组合"), ("label", "事项"), ("label_departments", "部门"),
                                        ("enterprises_n", "企业数"), ("support", "支持度"), ("lift", "提升度")])
        for b in data["bundles"]:
            key = "+".join(map(str, b["items"]))
            t.rows.append({"_key": (key,), "_cases": b["enterprises"], "key": key, "label": " + ".join(b["labels"]),
                           "label_departments": " + ".join(b["department_names"]),
                           "enterprises_n": b["enterprises"], "support": b["support"], "lift": b["lift"]})
            # distinct enterprises of a set are the set's count by construction
            t.cells[(key,)] = {("bundle", key, n) for n in range(b["enterprises"])}
        return [t]
    raise KeyError(view)


async def _policy_pairs(f: V.Filters) -> list[tuple]:
    """(size class, industry group, enterprise) of enterprises reached in the period:
    matched or read, consented, or asking a follow-up."""
    d = dialect()
    lo, hi = bounds(f.since, f.until)
    ent_where, params = [], []
    ph = (lambda: f"${len(params)}") if d.pg else (lambda: "?")
    for col in ("region_code", "industry_group", "size_class"):
        value = getattr(f, col)
        if value:
            params.append(value)
            ent_where.append(f"e.{col} = {ph()}")
    extra = "".join(f" AND {w}" for w in ent_where)
    sql = (
        "SELECT e.size_class AS s, e.industry_group AS g, e.id AS ent FROM inbox_message i "
        "JOIN notification_campaign k ON k.id = i.campaign_id AND k.kind = 'policy' "
        "JOIN app_user us ON us.id = i.user_id JOIN enterprise e ON e.id = us.enterprise_id "
        f"WHERE ({d.in_range('i.created_at', lo, hi)} OR {d.in_range('i.read_at', lo, hi)}){extra} "
        # recipients whose inbox has not picked the campaign up yet (see notifications.outbox)
        "UNION SELECT e.size_class, e.industry_group, e.id FROM notification_delivery i "
        "JOIN notification_campaign k ON k.id = i.campaign_id AND k.kind = 'policy' "
        "JOIN app_user us ON us.id = i.user_id JOIN enterprise e ON e.id = us.enterprise_id "
        f"WHERE {d.in_range('i.created_at', lo, hi)}{extra} "
        "UNION SELECT e.size_class, e.industry_group, e.id FROM policy_consent pc JOIN enterprise e ON e.id = pc.enterprise_id "
        f"WHERE {d.in_range('pc.consented_at', lo, hi)}{extra} "
        "UNION SELECT e.size_class, e.industry_group, e.id FROM consultation c JOIN enterprise e ON e.id = c.enterprise_id "
        f"WHERE c.policy_series_id IS NOT NULL AND {d.in_range('c.accepted_at', lo, hi)}{extra}")
    if d.pg:  # each branch reuses the same positional parameters
        _, rows = await connections.get("default").execute_query(sql, params)
    else:
        _, rows = await connections.get("default").execute_query(sql, params * 4)
    return [(r["s"], r["g"], r["ent"]) for r in rows]


def workbook(view: str, tables: list[Table], f: V.Filters) -> tuple[bytes, int, int]:
    """The XLSX bytes, the rows written and the rows suppressed."""
    from openpyxl import Workbook  # on use: it pulls numpy into every process
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    wb.remove(wb.active)
    written = hidden = 0
    for t in tables:
        rows, total = protect(t)
        ws = wb.create_sheet(t.title[:31])
        headers = [h for _, h in t.columns] + ["企业数", "已抑制"]
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="1F6FB2")
        for r in rows:
            ws.append([_xl(r.get(fld)) for fld, _ in t.columns] + [r["enterprises"], "是" if r["suppressed"] else ""])
            written += 1
            hidden += r["suppressed"]
        if total:
            ws.append(["合计"] + [None] * (len(t.columns) - 1) + [total["enterprises"], ""])
        ws.freeze_panes = "A2"
    notes = wb.create_sheet("说明")
    for line in (("视图", VIEWS[view]), ("统计区间", f"{f.since} 至 {f.until}"),
                 ("筛选", ", ".join(f"{k}={v}" for k, v in f.describe().items() if v and k not in ("since", "until"))
                  or "无"),
                 ("披露控制", f"不足 {disclosure.K} 家企业的行及可由合计反推的行已抑制（数值留空）；不含任何文字内容"),
                 ("生成时间", datetime.now(TZ).isoformat(timespec="seconds"))):
        notes.append(list(line))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), written, hidden


def _xl(v: Any) -> Any:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (list, dict)):
        return None
    return v
