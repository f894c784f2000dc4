"""Reading the fact tables: days before today from the rolled-up facts, today from the
live rows (the rollup's own SELECT restricted to today), so a dashboard never waits for
the next scheduled run and never counts today twice. Whole weeks of cases come from the
weekly summary where the read allows it (see ``query``).

``enterprises`` is distinct per (day, cell): summing it over days or cells gives an
upper bound, not a distinct count — for that, count over raw rows (open data does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from tortoise import connections

from models.insights import (ALL, CASE_DIMENSIONS, CASE_MEASURES, ELEMENT_COMPLAINT_SQL, ELEMENT_COMPLAINTS,
                             ITEM_WEEK_DIMENSIONS, ITEM_WEEK_MEASURES, MIX_DIMENSIONS, MIX_MEASURES, POLICY_DIMENSIONS,
                             POLICY_MEASURES, WEEK_DIMENSIONS, WEEK_ENTERPRISE_DIMENSIONS, WEEK_MEASURES)
from services.insights import rollup as r

# Case measures also include the complaints naming each element (``ELEMENT_COMPLAINTS``):
# sums over fact rows (``ELEMENT_COMPLAINT_SQL``), stored as columns only in the mix tables.
TABLES = {"case": ("insight_case_fact", CASE_DIMENSIONS, CASE_MEASURES + ELEMENT_COMPLAINTS, r.case_select),
          "policy": ("insight_policy_fact", POLICY_DIMENSIONS, POLICY_MEASURES, r.policy_select)}


# Weekly tables of case facts, tried in order: (table, dimensions, measures, whether its
# rows are cells with cases only, its daily mirror, its running totals or None).
# ``insight_case_week`` and ``insight_case_mix_week`` also carry the enterprise mix. A daily
# mirror has the same rows by ``day`` instead of ``week``.
WEEKLY = (("insight_case_week", WEEK_DIMENSIONS, WEEK_MEASURES, True, "insight_case_day", None),
          ("insight_case_mix_week", MIX_DIMENSIONS, MIX_MEASURES, False, "insight_case_mix_day",
           "insight_case_mix_total"),
          ("insight_case_item_week", ITEM_WEEK_DIMENSIONS, ITEM_WEEK_MEASURES, False, "insight_case_item_day",
           "insight_case_item_total"))


def _month(d: r.Dialect) -> str:
    return "CAST(date_trunc('month', day) AS date)" if d.pg else "date(day, 'start of month')"


class Params:
    """Positional parameters in the connection's style ($1 on asyncpg, ? on SQLite)."""

    def __init__(self, d: r.Dialect) -> None:
        self.pg, self.values = d.pg, []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.pg else "?"


async def query(since: date, until: date, *, group_by: Sequence[str] = (), measures: Sequence[str] | None = None,
                where: Mapping[str, Any] | None = None, table: str = "case", today: date | None = None) -> list[dict]:
    """Sum ``measures`` over ``since`` … ``until`` (local days, inclusive) grouped by
    ``group_by`` — dimension names of the table plus ``week`` (its Monday) and ``month``.
    ``where``: dimension → value, or a list/tuple/set of values. Rows come back as dicts,
    ordered by the grouping columns.

    Each part reads only the columns the query names. A read whose dimensions and
    measures a weekly table holds takes the whole weeks of the period from that table
    and only the partial weeks at its ends from the daily facts: a cases-only read by
    topic or enterprise mix (the trends) from ``insight_case_week`` — such reads leave
    out cells with no cases, whichever table they come from —, a read by item or
    department, with or without the enterprise mix (friction, departments), from
    ``insight_case_mix_week``, one by element or kind (proposal evaluation) from
    ``insight_case_item_week`` — both as the difference of two weeks of their running
    totals (``insight_case_mix_total``, ``insight_case_item_total``). Such a
    read takes the days at the ends (or, grouped by day or month, every day) from the
    weekly table's daily mirror, not from the daily facts — or, where an end's week has
    more days in the period than out, that whole week less the days out. Groups whose
    measures are all zero are left out, whichever tables a read took."""
    name, dims, all_measures, _ = TABLES[table]
    measures = tuple(measures or all_measures)
    for m in measures:
        if m not in all_measures:
            raise ValueError(f"unknown measure {m}")
    d = r.dialect()
    derived = {"week": d.week("day"), "month": _month(d)}
    where = dict(where or {})
    needed = list(dict.fromkeys((*group_by, *where)))
    for g in needed:
        if g not in dims and g not in derived:
            raise ValueError(f"unknown dimension {g}")
    if any(isinstance(v, (list, tuple, set, frozenset)) and not v for v in where.values()):
        return []
    today = today or r.today()
    weekly = next((w for w in WEEKLY if table == "case" and set(measures) <= set(w[2])
                   and set(needed) <= {*w[1], "day", "month"}), None)
    by_day = bool(weekly) and bool({"day", "month"} & set(needed))  # no whole weeks: all from the mirror
    p = Params(d)

    def part(source: str, conds: list[str], exprs: Mapping[str, str], *, minus: bool = False,
             computed: Mapping[str, str] = {}) -> str:
        for dim, value in where.items():
            expr = exprs.get(dim, dim)
            if isinstance(value, (list, tuple, set, frozenset)):
                conds.append(f"{expr} IN ({', '.join(p(v) for v in value)})")
            else:
                conds.append(f"{expr} = {p(value)}")
        cols = [f"{exprs.get(c, c)} AS {c}" for c in needed] + [
            f"-({computed.get(m, m)}) AS {m}" if minus else f"{computed.get(m, m)} AS {m}" for m in measures]
        return f"SELECT {', '.join(cols)} FROM {source} WHERE {' AND '.join(conds)}"

    nonzero = ["cases > 0"] if weekly and weekly[3] else []
    parts, days = [], []
    past_until = min(until, today - timedelta(days=1))
    if since <= past_until:
        days = [(since, past_until)]
        first, last = r.monday(since + timedelta(days=6)), r.monday(past_until + timedelta(days=1)) - timedelta(days=7)
        mix = []
        if weekly and set(WEEK_ENTERPRISE_DIMENSIONS) <= set(weekly[1]):
            mix = [f"region_code <> '{ALL}'" if set(needed) & set(WEEK_ENTERPRISE_DIMENSIONS)
                   else " AND ".join(f"{c} = '{ALL}'" for c in WEEK_ENTERPRISE_DIMENSIONS)]
        outside = []  # days of the weeks read whole that are not in the period: subtracted
        if weekly and not by_day:
            # a partial week at an end with more days in the period than out: the whole week,
            # less the days out (from the mirror, which the week was summed from)
            if (first - since).days > 3:
                first -= timedelta(days=7)
                outside.append((first, since - timedelta(days=1)))
            if (past_until - last).days - 6 > 3:
                last += timedelta(days=7)
                outside.append((past_until + timedelta(days=1), last + timedelta(days=6)))
        if weekly and not by_day and first <= last:  # whole weeks first … last + 6 from the summary
            for a, b in outside:
                parts.append(part(weekly[4], [f"day >= {d.date(a)}", f"day <= {d.date(b)}", *mix], derived,
                                  minus=True))
            rest = first
            # its running totals: two rows per cell (not for a read by week, which needs each)
            totals = weekly[5]
            if totals and "week" not in needed:
                _, top = await connections.get("default").execute_query(f"SELECT MAX(week) AS top FROM {totals}")
                top = r._as_date(top[0]["top"])
                if top and top >= first:
                    upto = min(last, top)
                    parts.append(part(totals, [f"week = {d.date(upto)}", *mix], {}))
                    parts.append(part(totals, [f"week = {d.date(first - timedelta(days=7))}", *mix], {},
                                      minus=True))
                    rest = upto + timedelta(days=7)
            if rest <= last:
                parts.append(part(weekly[0], [f"week >= {d.date(rest)}", f"week <= {d.date(last)}", *mix], {}))
            days = [(a, b) for a, b in ((since, first - timedelta(days=1)), (last + timedelta(days=7), past_until))
                    if a <= b]
    for a, b in days:
        span = [f"day >= {d.date(a)}", f"day <= {d.date(b)}"]
        if weekly:  # the remaining days from the summary's daily mirror
            parts.append(part(weekly[4], [*span, *mix], derived))
        else:
            parts.append(part(name, [*span, *nonzero], derived, computed=ELEMENT_COMPLAINT_SQL))
    if since <= today <= until:
        lo, hi = r.bounds(today, today)
        live = r.case_select(d, lo, hi, measures, mix=bool(set(needed) & set(WEEK_ENTERPRISE_DIMENSIONS))) if table == "case" else r.policy_select(d, lo, hi)
        parts.append(part(f"({live}) live", ["1 = 1"], derived))
    if not parts:
        return []
    sql = (f"SELECT {', '.join([*group_by, *(f'SUM({m}) AS {m}' for m in measures)])} "
           f"FROM ({' UNION ALL '.join(parts)}) f"
           + (f" GROUP BY {', '.join(group_by)} ORDER BY {', '.join(group_by)}" if group_by else ""))
    _, rows = await connections.get("default").execute_query(sql, p.values)
    out = []
    for row in rows:
        item = dict(row)
        for m in measures:
            item[m] = int(item[m] or 0)
        if group_by and not any(item[m] for m in measures):
            # nothing to count in the period: running totals and subtracted days leave such
            # groups (a cell active only outside the period), the daily facts would not
            continue
        for g in group_by:
            if g in ("day", "week", "month") and isinstance(item[g], str):
                item[g] = date.fromisoformat(item[g])
        out.append(item)
    return out


def totals(rows: Iterable[Mapping[str, Any]], measures: Sequence[str]) -> dict[str, int]:
    """Column sums of ``query`` rows (convenience for KPIs)."""
    acc = dict.fromkeys(measures, 0)
    for row in rows:
        for m in measures:
            acc[m] += row[m]
    return acc
