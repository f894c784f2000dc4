"""Reading the fact tables: days before today from the rolled-up facts, today from the
live rows (the rollup's own SELECT restricted to today), so a dashboard never waits for
the next scheduled run and never counts today twice.

``enterprises`` is distinct per (day, cell): summing it over days or cells gives an
upper bound, not a distinct count — for that, count over raw rows (open data does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from tortoise import connections

from models.insights import CASE_DIMENSIONS, CASE_MEASURES, POLICY_DIMENSIONS, POLICY_MEASURES
from services.insights import rollup as r

TABLES = {"case": ("insight_case_fact", CASE_DIMENSIONS, CASE_MEASURES, r.case_select),
          "policy": ("insight_policy_fact", POLICY_DIMENSIONS, POLICY_MEASURES, r.policy_select)}


def _week(d: r.Dialect) -> str:
    """Monday of the fact's ISO week, as a date."""
    return "CAST(date_trunc('week', day) AS date)" if d.pg else "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')"


def _month(d: r.Dialect) -> str:
    return "CAST(date_trunc('month', day) AS date)" if d.pg else "date(day, 'start of month')"


class _Params:
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
    ordered by the grouping columns."""
    name, dims, all_measures, select = TABLES[table]
    measures = tuple(measures or all_measures)
    for m in measures:
        if m not in all_measures:
            raise ValueError(f"unknown measure {m}")
    d = r.dialect()
    derived = {"week": _week(d), "month": _month(d)}
    for g in (*group_by, *(where or {})):
        if g not in dims and g not in derived:
            raise ValueError(f"unknown dimension {g}")
    today = today or r.today()
    cols = ", ".join(dims + all_measures)
    parts = []
    past_until = min(until, today - timedelta(days=1))
    if since <= past_until:
        parts.append(f"SELECT {cols} FROM {name} WHERE day >= {d.date(since)} AND day <= {d.date(past_until)}")
    if since <= today <= until:
        lo, hi = r.bounds(today, today)
        parts.append(f"SELECT {cols} FROM ({select(d, lo, hi)}) live")
    if not parts:
        return []
    p = _Params(d)
    conds = []
    for dim, value in (where or {}).items():
        expr = derived.get(dim, dim)
        if isinstance(value, (list, tuple, set, frozenset)):
            if not value:
                return []
            conds.append(f"{expr} IN ({', '.join(p(v) for v in value)})")
        else:
            conds.append(f"{expr} = {p(value)}")
    keys = [f"{derived.get(g, g)} AS {g}" for g in group_by]
    sql = (f"SELECT {', '.join(keys + [f'SUM({m}) AS {m}' for m in measures])} "
           f"FROM ({' UNION ALL '.join(parts)}) f"
           + (f" WHERE {' AND '.join(conds)}" if conds else "")
           + (f" GROUP BY {', '.join(derived.get(g, g) for g in group_by)} ORDER BY {', '.join(derived.get(g, g) for g in group_by)}"
              if group_by else ""))
    _, rows = await connections.get("default").execute_query(sql, p.values)
    out = []
    for row in rows:
        item = dict(row)
        for m in measures:
            item[m] = int(item[m] or 0)
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
